// ADE20K-style semantic segmentation (ADEChallengeData2016, mmseg ADE20KDataset):
// images/<split>/*.jpg with annotations/<split>/<same name>.png holding class indices. Masks are
// read as indices (palette PNGs are not turned into colours, io/png.ts); 255 = ignore;
// reduce_zero_label (default on, as ADE20K) maps 0 ("other") to ignore and shifts the rest down.
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { DataError, isFile, isImageFile, pySorted, requireDir } from './common.ts';
import { datasets, boolOpt, listOpt, strOpt } from './registry.ts';
import type { Dataset, Sample } from './types.ts';

/** The 150 ADE20K SceneParsing classes, in label order (mmseg ADE20KDataset.METAINFO). */
export const ADE20K_CLASSES = [
  'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed', 'windowpane', 'grass', 'cabinet', 'sidewalk',
  'person', 'earth', 'door', 'table', 'mountain', 'plant', 'curtain', 'chair', 'car', 'water', 'painting', 'sofa', 'shelf',
  'house', 'sea', 'mirror', 'rug', 'field', 'armchair', 'seat', 'fence', 'desk', 'rock', 'wardrobe', 'lamp', 'bathtub',
  'railing', 'cushion', 'base', 'box', 'column', 'signboard', 'chest of drawers', 'counter', 'sand', 'sink', 'skyscraper',
  'fireplace', 'refrigerator', 'grandstand', 'path', 'stairs', 'runway', 'case', 'pool table', 'pillow', 'screen door',
  'stairway', 'river', 'bridge', 'bookcase', 'blind', 'coffee table', 'toilet', 'flower', 'book', 'hill', 'bench',
  'countertop', 'stove', 'palm', 'kitchen island', 'computer', 'swivel chair', 'boat', 'bar', 'arcade machine', 'hovel',
  'bus', 'towel', 'light', 'truck', 'tower', 'chandelier', 'awning', 'streetlight', 'booth', 'television receiver',
  'airplane', 'dirt track', 'apparel', 'pole', 'land', 'bannister', 'escalator', 'ottoman', 'bottle', 'buffet', 'poster',
  'stage', 'van', 'ship', 'fountain', 'conveyer belt', 'canopy', 'washer', 'plaything', 'swimming pool', 'stool',
  'barrel', 'basket', 'waterfall', 'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball', 'food', 'step', 'tank',
  'trade name', 'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher', 'screen', 'blanket', 'sculpture', 'hood',
  'sconce', 'vase', 'traffic light', 'tray', 'ashcan', 'fan', 'pier', 'crt screen', 'plate', 'monitor', 'bulletin board',
  'shower', 'radiator', 'glass', 'clock', 'flag',
] as const;

export interface Ade20kOptions {
  root: string;
  /** 'training' | 'validation' (train / val accepted) */
  split?: string;
  reduceZeroLabel?: boolean;
  /** class names (after reduce_zero_label); default <root>/classes.txt if present, else the ADE20K 150 */
  classes?: string[];
  ignoreIndex?: number;
}

const SPLITS: Record<string, string> = { train: 'training', val: 'validation', training: 'training', validation: 'validation' };

export async function openAde20k(o: Ade20kOptions): Promise<Dataset> {
  const split = SPLITS[o.split ?? 'training'] ?? o.split!;
  const reduce = o.reduceZeroLabel ?? true;
  const ignoreIndex = o.ignoreIndex ?? 255;
  const imgDir = join(o.root, 'images', split), annDir = join(o.root, 'annotations', split);
  await requireDir(imgDir, 'ade20k images');
  await requireDir(annDir, 'ade20k annotations');
  const anns = new Map<string, string>();
  for (const f of await readdir(annDir)) if (isImageFile(f)) anns.set(basename(f, extname(f)), f);
  const samples: Sample[] = [];
  for (const f of pySorted((await readdir(imgDir)).filter(isImageFile))) {
    const stem = basename(f, extname(f));
    const ann = anns.get(stem);
    if (!ann) throw new DataError(join(imgDir, f), 'annotation', `no mask '${stem}.png' in ${annDir}`);
    samples.push({
      index: samples.length, id: stem, file: join(imgDir, f),
      target: { kind: 'mask', file: join(annDir, ann), reduceZeroLabel: reduce, ignoreIndex },
    });
  }
  if (!samples.length) throw new Error(`ade20k: no images in '${imgDir}'`);
  let classes = o.classes;
  const classesFile = join(o.root, 'classes.txt');
  if (!classes && (await isFile(classesFile))) classes = (await readFile(classesFile, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  classes ??= reduce ? [...ADE20K_CLASSES] : ['other', ...ADE20K_CLASSES];
  return { name: 'ade20k', task: 'segment', root: o.root, split, classes, samples, meta: { reduceZeroLabel: reduce, ignoreIndex } };
}

datasets.register('ade20k', {
  description: 'ADE20K-style masks: images/<split>/*.jpg + annotations/<split>/*.png class indices, 255 ignore, reduce_zero_label',
  task: 'segment',
  options: {
    root: 'dataset root (images/, annotations/)',
    split: "'training' (default) or 'validation'",
    reduceZeroLabel: 'label 0 -> ignore, others shift down by one (default true)',
    classes: 'class names (default <root>/classes.txt, else the ADE20K 150)',
    ignoreIndex: 'ignore label (default 255)',
  },
  open: (o) => {
    const ig = o.ignoreIndex ?? 255;
    if (!Number.isInteger(ig) || (ig as number) < 0 || (ig as number) > 255) throw new Error(`dataset 'ade20k': option 'ignoreIndex' must be an integer in 0..255`);
    return openAde20k({
      root: strOpt('ade20k', o, 'root'),
      split: o.split === undefined ? undefined : strOpt('ade20k', o, 'split'),
      reduceZeroLabel: boolOpt('ade20k', o, 'reduceZeroLabel', true),
      classes: listOpt('ade20k', o, 'classes'),
      ignoreIndex: ig as number,
    });
  },
});
