// Transforms: timm's RandomResizedCrop / crop_pct / RandAugment / RandomErasing / Mixup-CutMix,
// and the detection / segmentation geometry keeping pixels, boxes and masks together.
import test from 'ava';
import sharp from 'sharp';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../core/rng.ts';
import { randomResizedCropParams, centerCropResize, pyRound } from '../datasets/transforms/crop.ts';
import {
  parseRandAugment, randAugment, posterize, solarize, autoContrast, equalize, rotate, affine, contrast, color, brightness, sharpness,
  RAND_INCREASING_TRANSFORMS,
} from '../datasets/transforms/randaugment.ts';
import { randomErasing } from '../datasets/transforms/erasing.ts';
import { Mixup, mixupTarget, sampleBeta } from '../datasets/transforms/mixup.ts';
import { hsvJitter, colorJitter, normalize, IMAGENET_MEAN, IMAGENET_STD } from '../datasets/transforms/color.ts';
import { buildPipeline, detectEval, detectTrain, segmentTrain } from '../datasets/pipeline/index.ts';
import { encodeIndexPng } from '../datasets/io/png.ts';
import type { Batch, Item, RgbImage, Sample } from '../datasets/types.ts';

const img = (w: number, h: number, f: (x: number, y: number) => [number, number, number]): RgbImage => {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { data, width: w, height: h };
};
const px = (im: RgbImage, x: number, y: number) => [...im.data.subarray((y * im.width + x) * 3, (y * im.width + x) * 3 + 3)];

test('RandomResizedCrop: area in scale, aspect in ratio, inside the image (timm get_params)', (t) => {
  const rng = new Rng(1);
  const W = 400, H = 400; // square, so the rejection of crops that do not fit favours no aspect
  let logRatioSum = 0;
  const N = 3000;
  let minA = 1, maxA = 0;
  for (let i = 0; i < N; i++) {
    const c = randomResizedCropParams(W, H, rng);
    t.true(c.left >= 0 && c.top >= 0 && c.left + c.width <= W && c.top + c.height <= H);
    const a = (c.width * c.height) / (W * H), r = c.width / c.height;
    minA = Math.min(minA, a);
    maxA = Math.max(maxA, a);
    // rounding w and h to integers moves area and ratio by a pixel at most
    t.true(a >= 0.08 * 0.97 && a <= 1, `area ${a}`);
    t.true(r >= (3 / 4) * 0.97 && r <= (4 / 3) * 1.03, `ratio ${r}`);
    logRatioSum += Math.log(r);
  }
  t.true(minA < 0.1 && maxA > 0.9, `areas span the range: ${minA}..${maxA}`);
  t.true(Math.abs(logRatioSum / N) < 0.03, 'log-uniform ratio is centred on 1');
  // no try fits a 1000x10 strip: centre crop clamped to the largest ratio (4/3): 13 x 10
  t.deepEqual(randomResizedCropParams(1000, 10, rng), { left: 493, top: 0, width: 13, height: 10 });
  t.deepEqual(randomResizedCropParams(10, 1000, rng), { left: 0, top: 493, width: 10, height: 13 }); // ratio clamped to 3/4
});

test('eval transform: shorter side to floor(224 / 0.875) = 256, centre crop with Python rounding', (t) => {
  t.deepEqual(centerCropResize(500, 375, 224, 0.875), { resize: { width: 341, height: 256 }, crop: { left: 58, top: 16, width: 224, height: 224 } });
  t.deepEqual(centerCropResize(375, 500, 224, 1.0), { resize: { width: 224, height: 298 }, crop: { left: 0, top: 37, width: 224, height: 224 } });
  t.is(pyRound(58.5), 58);
  t.is(pyRound(59.5), 60);
});

test('RandAugment config rand-m9-mstd0.5-inc1: timm defaults and parsing errors', (t) => {
  const c = parseRandAugment('rand-m9-mstd0.5-inc1');
  t.is(c.magnitude, 9);
  t.is(c.magnitudeStd, 0.5);
  t.is(c.numLayers, 2);
  t.is(c.prob, 0.5);
  t.is(c.magnitudeMax, 10);
  t.deepEqual([...c.ops], [...RAND_INCREASING_TRANSFORMS]);
  t.is(parseRandAugment('rand-m7-n3-mstd101').magnitudeStd, Infinity);
  t.throws(() => parseRandAugment('rand-q5'), { message: /unknown section 'q'/ });
  t.throws(() => parseRandAugment('augmix-m5'), { message: /must start with 'rand'/ });
  // about one op per image: 2 layers, each kept with p 0.5
  const rng = new Rng(3);
  let applied = 0;
  const im = img(16, 16, (x, y) => [x * 16, y * 16, 128]);
  for (let i = 0; i < 400; i++) applied += randAugment({ ...im, data: new Uint8Array(im.data) }, c, rng).length;
  t.true(Math.abs(applied / 400 - 1) < 0.15, `mean ops applied ${applied / 400}`);
});

test('RandAugment ops follow PIL: posterize, solarize, autocontrast, equalize, enhance blends', (t) => {
  const ramp = () => img(4, 1, (x) => [50 + x * 10, 200 - x * 50, 7]);
  let a = ramp();
  posterize(a, 2);
  t.deepEqual(px(a, 1, 0), [0, 128, 0]); // 60 & 0xc0, 150 & 0xc0, 7 & 0xc0
  a = ramp();
  solarize(a, 100);
  t.deepEqual(px(a, 0, 0), [50, 55, 7]); // 200 >= 100 -> 55
  a = ramp();
  autoContrast(a);
  t.deepEqual([px(a, 0, 0)[0], px(a, 3, 0)[0], px(a, 0, 0)[1], px(a, 3, 0)[1]], [0, 255, 255, 0]);
  t.deepEqual(px(a, 0, 0)[2], 7); // one-valued channel stays
  // equalize, PIL's step rule: step = (600 - 300) // 255 = 1, lut[10] = 0, lut[20] = min(255, 300)
  a = img(600, 1, (x) => [x < 300 ? 10 : 20, 5, 5]);
  equalize(a);
  t.deepEqual([px(a, 0, 0)[0], px(a, 599, 0)[0], px(a, 0, 0)[1]], [0, 255, 5]);
  // too few pixels for a step: unchanged
  a = img(4, 1, (x) => [x < 2 ? 10 : 20, 5, 5]);
  equalize(a);
  t.deepEqual([px(a, 0, 0)[0], px(a, 3, 0)[0]], [10, 20]);
  a = ramp();
  brightness(a, 0);
  t.deepEqual(px(a, 2, 0), [0, 0, 0]);
  a = ramp();
  color(a, 0);
  const g = px(a, 0, 0);
  t.true(g[0] === g[1] && g[1] === g[2]);
  a = ramp();
  contrast(a, 1);
  t.deepEqual(px(a, 1, 0), [60, 150, 7]);
  const flat = img(5, 5, () => [90, 90, 90]);
  sharpness(flat, 1.9);
  t.deepEqual(px(flat, 2, 2), [90, 90, 90]);
});

test('RandAugment geometry: rotate 90 and translate move pixels as PIL, filling with the mean', (t) => {
  const fill: [number, number, number] = [124, 116, 104];
  const a = img(5, 5, (x, y) => (x === 4 && y === 2 ? [255, 0, 0] : [0, 0, 0]));
  rotate(a, 90, fill); // counter-clockwise: the right-middle pixel goes to the top-middle
  t.deepEqual(px(a, 2, 0), [255, 0, 0]);
  const b = img(5, 5, (x, y) => (x === 1 && y === 1 ? [0, 255, 0] : [10, 10, 10]));
  affine(b, [1, 0, 1, 0, 1, 0], fill); // TranslateX by +1 pixel: output x samples input x + 1
  t.deepEqual(px(b, 0, 1), [0, 255, 0]);
  t.deepEqual(px(b, 4, 1), fill);
});

test('Random Erasing: boxes of 2%..33% of the image with normal noise; p = 0 leaves it', (t) => {
  const rng = new Rng(5);
  const H = 32, W = 32;
  for (let i = 0; i < 200; i++) {
    const x = new Float32Array(H * W * 3).fill(7);
    const done = randomErasing(x, H, W, { probability: 1, mode: 'pixel' }, rng);
    t.is(done.length, 1);
    const [top, left, h, w] = done[0];
    t.true(h * w >= 0.02 * H * W * 0.7 && h * w <= (H * W) / 3 * 1.15, `area ${h * w}`);
    t.true(top + h <= H && left + w <= W);
    let changed = 0;
    for (const v of x) if (v !== 7) changed++;
    t.is(changed, h * w * 3);
  }
  const y = new Float32Array(12).fill(1);
  t.deepEqual(randomErasing(y, 2, 2, { probability: 0 }, rng), []);
});

const batchOf = (B: number, H: number, W: number, labels: number[]): Batch => {
  const images = new Float32Array(B * H * W * 3);
  for (let b = 0; b < B; b++) images.fill(b + 1, b * H * W * 3, (b + 1) * H * W * 3);
  return { images, shape: [B, H, W, 3], labels: Int32Array.from(labels), info: [], skipped: [] };
};

test('Mixup: images blend with the flipped batch, targets mix with the same lambda and sum to 1', (t) => {
  const rng = new Rng(11);
  const b = batchOf(4, 2, 2, [0, 1, 2, 3]);
  const lam = new Mixup({ mixupAlpha: 0.8, numClasses: 5, labelSmoothing: 0.1 }).apply(b, rng);
  const l = lam[0];
  t.true(lam.every((v) => v === l));
  t.true(Math.abs(b.images[0] - (1 * l + 4 * (1 - l))) < 1e-5);
  const T = b.targets!;
  for (let i = 0; i < 4; i++) t.true(Math.abs(T.subarray(i * 5, i * 5 + 5).reduce((s, v) => s + v, 0) - 1) < 1e-6);
  const off = 0.1 / 5, on = 1 - 0.1 + off;
  t.true(Math.abs(T[0 * 5 + 0] - (off + (on - off) * l)) < 1e-6);
  t.true(Math.abs(T[0 * 5 + 3] - (off + (on - off) * (1 - l))) < 1e-6);
  t.true(Math.abs(T[0 * 5 + 4] - off) < 1e-7);
  // label smoothing without mixing
  const plain = mixupTarget(Int32Array.from([2]), 4, 1, 0.1);
  t.deepEqual([...plain].map((v) => +v.toFixed(6)), [0.025, 0.025, 0.925, 0.025]);
});

test('CutMix: a box from the flipped batch, lambda corrected to the pasted area', (t) => {
  const rng = new Rng(2);
  for (let k = 0; k < 20; k++) {
    const H = 8, W = 8;
    const b = batchOf(2, H, W, [0, 1]);
    const lam = new Mixup({ mixupAlpha: 0, cutmixAlpha: 1, numClasses: 2, labelSmoothing: 0 }).apply(b, rng);
    let pasted = 0;
    for (let p = 0; p < H * W; p++) if (b.images[p * 3] === 2) pasted++;
    t.true(Math.abs(lam[0] - (1 - pasted / (H * W))) < 1e-6, `lam ${lam[0]} vs pasted ${pasted}`);
    t.true(Math.abs(b.targets![0] - lam[0]) < 1e-6);
    t.true(Math.abs(b.targets![0] + b.targets![1] - 1) < 1e-6);
  }
  t.throws(() => new Mixup({ mixupAlpha: 1, numClasses: 3, mode: 'pair' }).apply(batchOf(3, 2, 2, [0, 1, 2]), rng), { message: /even batch size/ });
  // Beta(a, a) mean 1/2
  let s = 0;
  for (let i = 0; i < 2000; i++) s += sampleBeta(0.8, 0.8, rng);
  t.true(Math.abs(s / 2000 - 0.5) < 0.03);
});

test('colour: HSV / jitter with zero gains keep the image; normalisation uses ImageNet mean/std', (t) => {
  const rng = new Rng(0);
  const a = img(6, 6, (x, y) => [x * 40, y * 40, 100]);
  const before = new Uint8Array(a.data);
  hsvJitter(a, [0, 0, 0], rng);
  t.deepEqual(a.data, before);
  colorJitter(a, [0, 0, 0, 0], rng);
  t.deepEqual(a.data, before);
  const gray = img(3, 3, () => [77, 77, 77]);
  hsvJitter(gray, [0.5, 0, 0], rng); // hue alone cannot colour a gray pixel
  t.deepEqual(px(gray, 1, 1), [77, 77, 77]);
  const n = normalize(img(1, 1, () => [255, 0, 128]), IMAGENET_MEAN, IMAGENET_STD);
  t.true(Math.abs(n[0] - (1 - 0.485) / 0.229) < 1e-6);
  t.true(Math.abs(n[1] - (0 - 0.456) / 0.224) < 1e-6);
});

// ---- detection / segmentation geometry: pixels, boxes and masks stay together ----

const RED: [number, number, number] = [230, 20, 20];

async function redBoxFixture(): Promise<{ file: string; mask: string; box: [number, number, number, number] }> {
  const dir = await mkdtemp(join(tmpdir(), 'ssmv-geo-'));
  const W = 120, H = 80, box: [number, number, number, number] = [30, 20, 70, 50];
  const inside = (x: number, y: number) => x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
  const im = img(W, H, (x, y) => (inside(x, y) ? RED : [60, 60, 60]));
  const file = join(dir, 'img.png');
  await writeFile(file, await sharp(im.data, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
  const m = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[y * W + x] = inside(x, y) ? 4 : 1;
  const mask = join(dir, 'mask.png');
  await writeFile(mask, encodeIndexPng(m, W, H));
  return { file, mask, box };
}

/** Every pixel whose centre is at least 1 px inside each box is red; returns how many were checked. */
function checkBoxesRed(t: { true(v: boolean, m?: string): void }, item: Item): number {
  const { width: W, height: H } = item;
  let checked = 0;
  const b = item.boxes!;
  for (let i = 0; i < b.length; i += 4) {
    for (let y = Math.ceil(b[i + 1] + 0.5); y + 0.5 <= b[i + 3] - 1; y++) {
      for (let x = Math.ceil(b[i] + 0.5); x + 0.5 <= b[i + 2] - 1; x++) {
        const o = (y * W + x) * 3;
        const r = item.image[o] * 255, g = item.image[o + 1] * 255;
        if (!(r > 200 && g < 50)) t.true(false, `pixel (${x}, ${y}) inside box ${[...b.subarray(i, i + 4)].map((v) => v.toFixed(1))} is ${r.toFixed(0)},${g.toFixed(0)}`);
        checked++;
      }
    }
  }
  t.true(H > 0);
  return checked;
}

test('letterbox: the box moves with the pixels (scale, centred padding)', async (t) => {
  const { file, box } = await redBoxFixture();
  const s: Sample = { index: 0, file, id: 0, target: { kind: 'boxes', boxes: [...box], classes: [0], polygons: [[[30, 20, 70, 20, 70, 50, 30, 50]]] } };
  const item = await buildPipeline(detectEval({ size: 64 })).run([s], new Rng(0));
  // 120x80 -> 64x43 (r = 64/120), padding 21 = 10 top + 11 bottom
  t.deepEqual([item.affine!.tx, item.affine!.ty], [0, 10]);
  const b = [...item.boxes!];
  t.true(Math.abs(b[0] - 30 * (64 / 120)) < 1e-4 && Math.abs(b[1] - (20 * (43 / 80) + 10)) < 1e-4);
  t.true(checkBoxesRed(t, item) > 100);
  // the padding is ultralytics' 114 gray
  t.true(Math.abs(item.image[0] * 255 - 114) < 1e-3);
  t.deepEqual(item.polygons![0]![0].map((v) => +v.toFixed(3)), [b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3]].map((v) => +v.toFixed(3)));
});

test('detect train (scale, translate, flips, mosaic): inside every kept box the pixels are the object', async (t) => {
  const { file, box } = await redBoxFixture();
  const s: Sample = { index: 0, file, id: 0, target: { kind: 'boxes', boxes: [...box], classes: [0], polygons: [[[30, 20, 70, 20, 70, 50, 30, 50]]] } };
  let kept = 0, checked = 0, flippedSeen = false;
  for (const mosaic of [0, 1]) {
    const pipe = buildPipeline(detectTrain({ size: 96, mosaic, hsv: [0, 0, 0], fliplr: 0.5, flipud: 0.5, instanceMasks: true }));
    for (let seed = 0; seed < 12; seed++) {
      const rng = new Rng(seed);
      const n = pipe.partners(rng);
      t.is(n, mosaic ? 3 : 0);
      const item = await pipe.run(Array(1 + n).fill(s), rng);
      kept += item.classes!.length;
      checked += checkBoxesRed(t, item);
      flippedSeen ||= item.affine!.sx < 0;
      // instance masks: the mask of each instance lies on red pixels
      const m = item.instanceMasks!;
      const A = item.width * item.height;
      for (let k = 0; k < item.classes!.length; k++) {
        let on = 0, red = 0;
        for (let p = 0; p < A; p++) {
          if (!m[k * A + p]) continue;
          on++;
          if (item.image[p * 3] * 255 > 150) red++;
        }
        t.true(on === 0 || red / on > 0.9, `mask ${k}: ${red}/${on} red`);
      }
    }
  }
  t.true(kept >= 20, `boxes kept: ${kept}`);
  t.true(checked > 2000, `pixels checked: ${checked}`);
  t.true(flippedSeen);
});

test('segment train (random scale, crop, flip): mask labels sit on their pixels; padding is ignore', async (t) => {
  const { file, mask } = await redBoxFixture();
  const s: Sample = { index: 0, file, id: 0, target: { kind: 'mask', file: mask, reduceZeroLabel: true, ignoreIndex: 255 } };
  const pipe = buildPipeline(segmentTrain({ size: [64, 64], baseSize: [120, 80], ratioRange: [0.5, 1.5], photometric: false, mean: [0, 0, 0], std: [1, 1, 1] }));
  let redPixels = 0, padded = 0;
  for (let seed = 0; seed < 10; seed++) {
    const item = await pipe.run([s], new Rng(seed));
    for (let p = 0; p < 64 * 64; p++) {
      const label = item.mask![p], r = item.image[p * 3] * 255;
      const x = p % 64, y = (p / 64) | 0;
      // pixels on a label edge blend both colours (bilinear image, nearest mask): check interiors
      let edge = false;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = Math.min(63, Math.max(0, x + dx)), yy = Math.min(63, Math.max(0, y + dy));
        edge ||= item.mask![yy * 64 + xx] !== label;
      }
      if (edge) continue;
      if (label === 3) {
        redPixels++;
        t.true(r > 150, `label 3 on a non-red pixel (${r})`);
      } else if (label === 0) t.true(r < 150, 'label 0 on a red pixel');
      else {
        t.is(label, 255);
        padded++;
        t.is(r, 0); // padding is 0 after normalisation (here mean 0, std 1)
      }
    }
  }
  t.true(redPixels > 500 && padded > 0, `red ${redPixels}, padded ${padded}`);
  // with PhotoMetricDistortion and ImageNet normalisation the padding stays exactly 0 (mmseg pads after normalising)
  const pmd = buildPipeline(segmentTrain({ size: [64, 64], baseSize: [120, 80], ratioRange: [0.5, 0.6] }));
  const item = await pmd.run([s], new Rng(1));
  for (let p = 0; p < 64 * 64; p++) if (item.mask![p] === 255) t.deepEqual([...item.image.subarray(p * 3, p * 3 + 3)], [0, 0, 0]);
});
