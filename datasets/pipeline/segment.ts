// Semantic segmentation pipelines after mmseg's ADE20K recipe: train = RandomResize (base scale x
// U(ratio range), keep ratio) -> RandomCrop (cat_max_ratio, 10 tries) -> RandomFlip ->
// PhotoMetricDistortion -> pad (image 0, mask ignore); eval = resize to fit, pad right/bottom.
// Image and mask share one map (source -> output): bilinear for pixels, nearest for labels.
import type { Rng } from '../../core/rng.ts';
import type { Affine, Item, Sample } from '../types.ts';
import { DataError, SampleError } from '../common.ts';
import { readMask, readRgb } from '../io/decode.ts';
import { compose, hflipMap, renderMask, renderTiles, tileRect, type Tile } from '../transforms/geometry.ts';
import { normalize, photometricDistortion } from '../transforms/color.ts';
import { randint } from '../transforms/crop.ts';
import type { RgbImage } from '../types.ts';
import type { SegmentEvalSpec, SegmentTrainSpec } from './spec.ts';

/** mmseg LoadAnnotations(reduce_zero_label): 0 -> ignore, v -> v - 1, and 255 stays ignore. */
export function reduceZeroLabel(mask: Uint8Array, ignore = 255): void {
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    mask[i] = v === 0 || v === ignore ? ignore : v - 1;
  }
}

async function loadPair(s: Sample): Promise<{ image: RgbImage; mask: Uint8Array; ignore: number }> {
  const t = s.target;
  if (t.kind !== 'mask') throw new DataError(s.file, 'target', `a segmentation pipeline needs a mask, got '${t.kind}' annotations`);
  const [image, m] = await Promise.all([readRgb(s.file), readMask(t.file)]);
  if (m.width !== image.width || m.height !== image.height) {
    throw new SampleError(t.file, `mask is ${m.width}x${m.height} but its image ${s.file} is ${image.width}x${image.height}`);
  }
  if (t.reduceZeroLabel) reduceZeroLabel(m.data, t.ignoreIndex);
  return { image, mask: m.data, ignore: t.ignoreIndex };
}

/**
 * Renders image and mask through `map`; PhotoMetricDistortion on the image; the padding (outside the
 * mapped image) is 0 after normalisation and ignore in the mask, as mmseg's SegDataPreProcessor pads.
 */
function finish(s: Sample, image: RgbImage, mask: Uint8Array, map: Affine, outW: number, outH: number, ignore: number, mean: number[], std: number[], rng: Rng | null): Item {
  const tile: Tile = { image, decodeScale: [1, 1], sourceSize: [image.width, image.height], map };
  const out = renderTiles([tile], outW, outH, [0, 0, 0]);
  if (rng) photometricDistortion(out, rng);
  const m = renderMask(mask, image.width, image.height, map, outW, outH, ignore);
  const x = normalize(out, mean, std);
  const r = tileRect(tile, outW, outH);
  const x0 = Math.round(r[0]), x1 = Math.round(r[2]), y0 = Math.round(r[1]), y1 = Math.round(r[3]);
  for (let y = 0; y < outH; y++) {
    if (y < y0 || y >= y1) x.fill(0, y * outW * 3, (y + 1) * outW * 3);
    else {
      x.fill(0, y * outW * 3, (y * outW + x0) * 3);
      x.fill(0, (y * outW + x1) * 3, (y + 1) * outW * 3);
    }
  }
  return { index: s.index, image: x, height: outH, width: outW, mask: m, sourceSize: [image.height, image.width], affine: map };
}

export function segmentTrainRunner(spec: SegmentTrainSpec) {
  const [ch, cw] = spec.size;
  return async ([s]: Sample[], rng: Rng): Promise<Item> => {
    const { image, mask, ignore } = await loadPair(s);
    const { width: w, height: h } = image;
    // RandomResize: target (long, short) x ratio, scale factor as mmcv rescale_size(keep_ratio)
    const r = rng.uniform(spec.ratioRange[0], spec.ratioRange[1]);
    const f = Math.min((spec.baseSize[0] * r) / Math.max(w, h), (spec.baseSize[1] * r) / Math.min(w, h));
    const nw = Math.max(1, Math.trunc(w * f + 0.5)), nh = Math.max(1, Math.trunc(h * f + 0.5));
    const scale: Affine = { sx: nw / w, sy: nh / h, tx: 0, ty: 0 };
    // RandomCrop with cat_max_ratio: redraw (up to 10 times) while one class covers >= the ratio
    const pick = () => [randint(rng, 0, Math.max(nh - ch, 0)), randint(rng, 0, Math.max(nw - cw, 0))];
    let [top, left] = pick();
    if (spec.catMaxRatio < 1) {
      for (let attempt = 0; attempt < 10; attempt++) {
        const crop: Affine = { sx: scale.sx, sy: scale.sy, tx: -left, ty: -top };
        const m = renderMask(mask, w, h, crop, Math.min(cw, nw), Math.min(ch, nh), ignore);
        const counts = new Map<number, number>();
        for (const v of m) if (v !== ignore) counts.set(v, (counts.get(v) ?? 0) + 1);
        let max = 0, total = 0;
        for (const c of counts.values()) {
          max = Math.max(max, c);
          total += c;
        }
        if (counts.size > 1 && max / total < spec.catMaxRatio) break;
        [top, left] = pick();
      }
    }
    let map: Affine = { sx: scale.sx, sy: scale.sy, tx: -left, ty: -top };
    // the crop is min(crop, resized) pixels; the rest of the output is padding
    if (spec.hflip > 0 && rng.random() < spec.hflip) map = compose(map, hflipMap(Math.min(cw, nw)));
    return finish(s, image, mask, map, cw, ch, ignore, spec.mean, spec.std, spec.photometric ? rng : null);
  };
}

export function segmentEvalRunner(spec: SegmentEvalSpec) {
  const [oh, ow] = spec.size;
  return async ([s]: Sample[]): Promise<Item> => {
    const { image, mask, ignore } = await loadPair(s);
    const f = Math.min(oh / image.height, ow / image.width);
    const nw = Math.max(1, Math.round(image.width * f)), nh = Math.max(1, Math.round(image.height * f));
    const map: Affine = { sx: nw / image.width, sy: nh / image.height, tx: 0, ty: 0 };
    return finish(s, image, mask, map, ow, oh, ignore, spec.mean, spec.std, null);
  };
}
