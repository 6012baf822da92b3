// Pascal VOC (VOCdevkit/VOC2007, VOC2012): detection from Annotations/<id>.xml listed in
// ImageSets/Main/<split>.txt, or semantic segmentation from SegmentationClass/<id>.png (palette
// indices, 255 = boundary/ignore) listed in ImageSets/Segmentation/<split>.txt. Several years
// concatenate (the usual 07+12 trainval). Boxes follow detectron2: VOC's 1-based inclusive pixel
// indices become continuous coordinates (xmin - 1, ymin - 1, xmax, ymax). `difficult` objects are
// kept and flagged (evaluation ignores them).
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DataError, isDir, requireFile } from './common.ts';
import { parseXml, child, childrenNamed, type XmlElement } from './io/xml.ts';
import { datasets, boolOpt, listOpt, strOpt } from './registry.ts';
import type { Dataset, Sample } from './types.ts';

export const VOC_CLASSES = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
  'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
] as const;

export interface VocOptions {
  /** VOCdevkit (holding VOC2007/, VOC2012/) or one VOC20xx folder */
  root: string;
  /** ImageSets split: train, val, trainval, test (default trainval) */
  split?: string;
  /** years to concatenate (default: every VOC20xx folder under a VOCdevkit root) */
  years?: string[];
  task?: 'detect' | 'segment';
  /** leave out objects marked difficult (default false: kept and flagged) */
  skipDifficult?: boolean;
}

function text(el: XmlElement, path: string, file: string): string {
  let cur: XmlElement | undefined = el;
  for (const p of path.split('.')) cur = cur && child(cur, p);
  if (!cur) throw new DataError(file, path, 'missing');
  return cur.text;
}

function number(el: XmlElement, path: string, file: string, where = path): number {
  const t = text(el, path, file);
  const v = Number(t);
  if (t === '' || !Number.isFinite(v)) throw new DataError(file, where, `must be a number, got '${t}'`);
  return v;
}

async function yearFolders(o: VocOptions): Promise<string[]> {
  if (/^VOC\d{4}$/.test(basename(o.root))) {
    if (o.years && !o.years.every((y) => basename(o.root) === `VOC${y}`)) throw new Error(`voc: root '${o.root}' is one year; years ${o.years} do not match it`);
    return [o.root];
  }
  const years = o.years ?? (await readdir(o.root)).filter((n) => /^VOC\d{4}$/.test(n)).map((n) => n.slice(3)).sort();
  if (!years.length) throw new Error(`voc: no VOC20xx folder under '${o.root}'`);
  const dirs = years.map((y) => join(o.root, `VOC${y}`));
  for (const d of dirs) if (!(await isDir(d))) throw new Error(`voc: '${d}' does not exist`);
  return dirs;
}

async function readIds(file: string): Promise<string[]> {
  await requireFile(file, 'voc split list');
  return (await readFile(file, 'utf8')).split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
}

export async function openVoc(o: VocOptions): Promise<Dataset> {
  const split = o.split ?? 'trainval';
  const task = o.task ?? 'detect';
  const classIndex = new Map<string, number>(VOC_CLASSES.map((c, i) => [c, i]));
  const samples: Sample[] = [];
  let difficultCount = 0;
  for (const dir of await yearFolders(o)) {
    const year = basename(dir).slice(3);
    if (task === 'segment') {
      for (const id of await readIds(join(dir, 'ImageSets', 'Segmentation', `${split}.txt`))) {
        samples.push({
          index: samples.length, id: `${year}_${id}`, file: join(dir, 'JPEGImages', `${id}.jpg`),
          target: { kind: 'mask', file: join(dir, 'SegmentationClass', `${id}.png`), reduceZeroLabel: false, ignoreIndex: 255 },
        });
      }
      continue;
    }
    const ids = await readIds(join(dir, 'ImageSets', 'Main', `${split}.txt`));
    const parsed = await Promise.all(
      ids.map(async (id) => {
        const file = join(dir, 'Annotations', `${id}.xml`);
        let src: string;
        try {
          src = await readFile(file, 'utf8');
        } catch {
          throw new DataError(file, '', `annotation file listed in ImageSets/Main/${split}.txt does not exist`);
        }
        return { id, file, root: parseXml(src, file) };
      }),
    );
    for (const { id, file, root } of parsed) {
      if (root.name !== 'annotation') throw new DataError(file, root.name, "the root element must be <annotation>");
      const width = number(root, 'size.width', file), height = number(root, 'size.height', file);
      const boxes: number[] = [], classes: number[] = [], difficult: number[] = [];
      childrenNamed(root, 'object').forEach((obj, k) => {
        const f = `object[${k}]`;
        const name = text(obj, 'name', file).trim();
        const label = classIndex.get(name);
        if (label === undefined) throw new DataError(file, `${f}.name`, `'${name}' is not a VOC class`);
        const dEl = child(obj, 'difficult');
        const diff = dEl ? Number(dEl.text) : 0;
        if (diff !== 0 && diff !== 1) throw new DataError(file, `${f}.difficult`, `must be 0 or 1, got '${dEl!.text}'`);
        if (diff) difficultCount++;
        if (diff && o.skipDifficult) return;
        const bb = child(obj, 'bndbox');
        if (!bb) throw new DataError(file, `${f}.bndbox`, 'missing');
        const [x1, y1, x2, y2] = ['xmin', 'ymin', 'xmax', 'ymax'].map((c) => number(bb, c, file, `${f}.bndbox.${c}`));
        if (x2 < x1 || y2 < y1) throw new DataError(file, `${f}.bndbox`, `xmax/ymax (${x2}, ${y2}) below xmin/ymin (${x1}, ${y1})`);
        boxes.push(x1 - 1, y1 - 1, x2, y2);
        classes.push(label);
        difficult.push(diff);
      });
      const fname = child(root, 'filename')?.text || `${id}.jpg`;
      samples.push({
        index: samples.length, id: `${year}_${id}`, file: join(dir, 'JPEGImages', fname), width, height,
        target: { kind: 'boxes', boxes, classes, difficult, iscrowd: new Array(classes.length).fill(0) },
      });
    }
  }
  const classes = task === 'segment' ? ['background', ...VOC_CLASSES] : [...VOC_CLASSES];
  return { name: 'voc', task, root: o.root, split, classes, samples, meta: { difficultObjects: difficultCount } };
}

datasets.register('voc', {
  description: 'Pascal VOC 2007/2012: XML boxes with the difficult flag (or SegmentationClass palette masks), 07+12 splits',
  task: 'detect',
  options: {
    root: 'VOCdevkit (or one VOC20xx folder)',
    split: "ImageSets split (default 'trainval')",
    years: "years to concatenate, e.g. ['2007', '2012']",
    task: "'detect' (default) or 'segment'",
    skipDifficult: 'leave out difficult objects (default false)',
  },
  open: (o) => {
    const task = o.task ?? 'detect';
    if (task !== 'detect' && task !== 'segment') throw new Error(`dataset 'voc': option 'task' must be 'detect' or 'segment', got ${JSON.stringify(task)}`);
    return openVoc({
      root: strOpt('voc', o, 'root'),
      split: o.split === undefined ? undefined : strOpt('voc', o, 'split'),
      years: listOpt('voc', o, 'years'),
      task,
      skipDifficult: boolOpt('voc', o, 'skipDifficult', false),
    });
  },
});
