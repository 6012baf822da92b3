// writeSynthetic: real datasets of rendered shapes, read back through the real loaders.
//   classify: <out>/train/<class>/*.jpg, <out>/val/<class>/*.jpg            -> 'imagefolder'
//   detect:   <out>/images/{train,val}/*.jpg + annotations/instances_{train,val}.json (COCO, boxes
//             and polygons, category ids from 1) + labels/{train,val}/*.txt + data.yaml -> 'coco', 'yolo'
//   segment:  <out>/images/{training,validation}/*.jpg + annotations/.../*.png (0 = background,
//             k + 1 = class k) + classes.txt                                   -> 'ade20k'
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Rng } from '../../core/rng.ts';
import { configureSharp, encodeJpeg } from '../io/decode.ts';
import { encodeIndexPng } from '../io/png.ts';
import { polygonArea } from '../io/polygon.ts';
import { background, paint, placeShape, scatterShapes, SHAPES, type PlacedShape } from './shapes.ts';
import type { Task } from '../types.ts';

export interface SynthOptions {
  task: Task;
  out: string;
  /** images in all (train + val) */
  n?: number;
  /** image side in pixels */
  size?: number;
  /** number of classes (shapes), at most 8 */
  classes?: number;
  seed?: number;
  /** fraction of images in the val split */
  valFraction?: number;
  /** JPEG quality */
  quality?: number;
}

export interface SynthResult {
  task: Task;
  out: string;
  classes: string[];
  train: number;
  val: number;
  /** how to open the splits: registered dataset name and its options */
  open: { train: { dataset: string; options: Record<string, unknown> }; val: { dataset: string; options: Record<string, unknown> } };
  /** detect only: the same data as an ultralytics YAML */
  yaml?: string;
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

export async function writeSynthetic(o: SynthOptions): Promise<SynthResult> {
  const n = o.n ?? 200, size = o.size ?? 64, nc = o.classes ?? 4, seed = o.seed ?? 0, quality = o.quality ?? 90;
  const valFraction = o.valFraction ?? 0.2;
  if (!Number.isInteger(n) || n < 2) throw new Error(`synth: n must be an integer >= 2, got ${n}`);
  if (!Number.isInteger(size) || size < 16) throw new Error(`synth: size must be an integer >= 16, got ${size}`);
  if (!Number.isInteger(nc) || nc < 1 || nc > SHAPES.length) throw new Error(`synth: classes must be 1..${SHAPES.length} (${SHAPES.join(', ')}), got ${nc}`);
  if (!(valFraction > 0 && valFraction < 1)) throw new Error(`synth: valFraction must be in (0, 1), got ${valFraction}`);
  configureSharp();
  const out = resolve(o.out);
  const names = SHAPES.slice(0, nc) as string[];
  const nVal = Math.max(1, Math.round(n * valFraction)), nTrain = n - nVal;
  // one generator per image, so an image does not depend on how many came before it
  const rngFor = (i: number) => new Rng([seed >>> 0, i, 0x5a17, 0x7e57]);
  const splitOf = (i: number) => (i < nTrain ? 0 : 1);

  if (o.task === 'classify') {
    const splits = ['train', 'val'];
    for (const s of splits) for (const c of names) await mkdir(join(out, s, c), { recursive: true });
    await pool(Array.from({ length: n }, (_, i) => i), 8, async (i) => {
      const rng = rngFor(i);
      const label = i % nc; // balanced classes
      const img = background(size, rng);
      const r = rng.uniform(0.22, 0.4) * size;
      paint(img, [placeShape(label, rng.uniform(r, size - r), rng.uniform(r, size - r), r, rng)]);
      const idx = splitOf(i) ? i - nTrain : i;
      await writeFile(join(out, splits[splitOf(i)], names[label], `${String(idx).padStart(5, '0')}.jpg`), await encodeJpeg(img, quality));
    });
    return {
      task: 'classify', out, classes: names, train: nTrain, val: nVal,
      open: { train: { dataset: 'imagefolder', options: { root: out, split: 'train' } }, val: { dataset: 'imagefolder', options: { root: out, split: 'val' } } },
    };
  }

  if (o.task === 'detect') {
    const splits = ['train', 'val'];
    for (const s of splits) {
      await mkdir(join(out, 'images', s), { recursive: true });
      await mkdir(join(out, 'labels', s), { recursive: true });
    }
    await mkdir(join(out, 'annotations'), { recursive: true });
    const perImage: PlacedShape[][] = new Array(n);
    await pool(Array.from({ length: n }, (_, i) => i), 8, async (i) => {
      const rng = rngFor(i);
      const img = background(size, rng);
      const shapes = scatterShapes(size, nc, 4, 0.1 * size, 0.22 * size, rng);
      paint(img, shapes);
      perImage[i] = shapes;
      const name = `${String(i).padStart(6, '0')}`;
      const split = splits[splitOf(i)];
      await writeFile(join(out, 'images', split, `${name}.jpg`), await encodeJpeg(img, quality));
      const lines = shapes.map((s) => {
        const [x1, y1, x2, y2] = s.box;
        return [s.label, (x1 + x2) / 2 / size, (y1 + y2) / 2 / size, (x2 - x1) / size, (y2 - y1) / size].map((v, k) => (k ? v.toFixed(6) : v)).join(' ');
      });
      await writeFile(join(out, 'labels', split, `${name}.txt`), lines.join('\n') + (lines.length ? '\n' : ''));
    });
    const categories = names.map((nm, k) => ({ id: k + 1, name: nm, supercategory: 'shape' }));
    for (const [si, split] of splits.entries()) {
      const images: object[] = [], annotations: object[] = [];
      for (let i = 0; i < n; i++) {
        if (splitOf(i) !== si) continue;
        images.push({ id: i + 1, file_name: `${String(i).padStart(6, '0')}.jpg`, width: size, height: size });
        for (const s of perImage[i]) {
          const [x1, y1, x2, y2] = s.box;
          annotations.push({
            id: annotations.length + 1 + si * 100000, image_id: i + 1, category_id: s.label + 1, iscrowd: 0,
            bbox: [x1, y1, x2 - x1, y2 - y1].map((v) => +v.toFixed(3)), area: +polygonArea([s.polygon]).toFixed(3),
            segmentation: [s.polygon.map((v) => +v.toFixed(3))],
          });
        }
      }
      await writeFile(join(out, 'annotations', `instances_${split}.json`), JSON.stringify({ info: { description: 'ssm-vision synthetic shapes' }, images, annotations, categories }));
    }
    const yaml = join(out, 'data.yaml');
    await writeFile(yaml, `# ssm-vision synthetic shapes (ultralytics dataset YAML)\npath: .\ntrain: images/train\nval: images/val\n\nnames:\n${names.map((nm, k) => `  ${k}: ${nm}`).join('\n')}\n`);
    const coco = (split: string) => ({ dataset: 'coco', options: { annFile: join(out, 'annotations', `instances_${split}.json`), imageDir: join(out, 'images', split) } });
    return { task: 'detect', out, classes: names, train: nTrain, val: nVal, open: { train: coco('train'), val: coco('val') }, yaml };
  }

  if (o.task === 'segment') {
    const splits = ['training', 'validation'];
    for (const s of splits) {
      await mkdir(join(out, 'images', s), { recursive: true });
      await mkdir(join(out, 'annotations', s), { recursive: true });
    }
    await pool(Array.from({ length: n }, (_, i) => i), 8, async (i) => {
      const rng = rngFor(i);
      const img = background(size, rng);
      const mask = new Uint8Array(size * size);
      paint(img, scatterShapes(size, nc, 4, 0.12 * size, 0.25 * size, rng), mask);
      const name = `${String(i).padStart(6, '0')}`;
      const split = splits[splitOf(i)];
      await writeFile(join(out, 'images', split, `${name}.jpg`), await encodeJpeg(img, quality));
      await writeFile(join(out, 'annotations', split, `${name}.png`), encodeIndexPng(mask, size, size));
    });
    await writeFile(join(out, 'classes.txt'), names.join('\n') + '\n');
    const ade = (split: string) => ({ dataset: 'ade20k', options: { root: out, split } });
    return { task: 'segment', out, classes: names, train: nTrain, val: nVal, open: { train: ade('training'), val: ade('validation') } };
  }
  throw new Error(`synth: task must be classify, detect or segment, got '${o.task as string}'`);
}
