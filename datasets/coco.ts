// COCO instances JSON (as pycocotools / mmdet / detectron2 read it): boxes [x, y, w, h] -> xyxy,
// polygons and RLE masks, iscrowd; category ids mapped to contiguous labels in sorted id order
// (mmdet cat2label, detectron2 thing_dataset_id_to_contiguous_id). Images without annotations are
// kept (evaluation needs them). A malformed field fails naming the file and the field path; an
// annotation whose category_id is not in `categories` fails naming that id.
import { join } from 'node:path';
import { DataError, isDir, readJson, requireFile } from './common.ts';
import { datasets, boolOpt, strOpt } from './registry.ts';
import type { BoxTarget, Dataset, Rle, Sample } from './types.ts';

export interface CocoOptions {
  /** instances JSON; default <root>/annotations/instances_<split>.json */
  annFile?: string;
  /** image folder; default <root>/<split> (or <root>/images/<split>) */
  imageDir?: string;
  root?: string;
  split?: string;
  /** drop images with no usable annotation (training); default false */
  filterEmpty?: boolean;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function openCoco(o: CocoOptions): Promise<Dataset> {
  let annFile = o.annFile, imageDir = o.imageDir;
  const split = o.split ?? 'val2017';
  if (!annFile) {
    if (!o.root) throw new Error('coco: give annFile, or root (and split)');
    annFile = join(o.root, 'annotations', `instances_${split}.json`);
  }
  if (!imageDir) {
    if (!o.root) throw new Error('coco: give imageDir, or root (and split)');
    imageDir = (await isDir(join(o.root, split))) ? join(o.root, split) : join(o.root, 'images', split);
  }
  await requireFile(annFile, 'coco');
  const data = await readJson(annFile);
  const file = annFile;
  const fail = (field: string, msg: string): never => {
    throw new DataError(file, field, msg);
  };
  if (!isObj(data)) fail('', 'the top level must be an object with images, annotations, categories');
  const d = data as Json;
  for (const k of ['images', 'categories'] as const) if (!Array.isArray(d[k])) fail(k, `missing or not a list`);
  if (d.annotations !== undefined && !Array.isArray(d.annotations)) fail('annotations', 'not a list');
  const num = (v: unknown, field: string): number => (typeof v === 'number' && Number.isFinite(v) ? v : fail(field, `must be a number, got ${JSON.stringify(v)}`));

  // categories: sorted ids -> contiguous labels
  const cats = (d.categories as unknown[]).map((c, i) => {
    if (!isObj(c)) fail(`categories[${i}]`, 'must be an object');
    const cc = c as Json;
    const id = num(cc.id, `categories[${i}].id`);
    if (typeof cc.name !== 'string') fail(`categories[${i}].name`, 'must be a string');
    return { id, name: cc.name as string };
  });
  cats.sort((a, b) => a.id - b.id);
  const catToLabel = new Map<number, number>();
  cats.forEach((c, i) => {
    if (catToLabel.has(c.id)) fail('categories', `category id ${c.id} appears twice`);
    catToLabel.set(c.id, i);
  });

  // images
  interface Img { id: number; file: string; width: number; height: number; target: Required<Pick<BoxTarget, 'boxes' | 'classes' | 'iscrowd' | 'polygons' | 'rles'>> & BoxTarget }
  const images = new Map<number, Img>();
  (d.images as unknown[]).forEach((im, i) => {
    if (!isObj(im)) fail(`images[${i}]`, 'must be an object');
    const m = im as Json;
    const id = num(m.id, `images[${i}].id`);
    if (typeof m.file_name !== 'string' || !m.file_name) fail(`images[${i}].file_name`, 'must be a non-empty string');
    if (images.has(id)) fail(`images[${i}].id`, `image id ${id} appears twice`);
    images.set(id, {
      id, file: join(imageDir!, m.file_name as string), width: num(m.width, `images[${i}].width`), height: num(m.height, `images[${i}].height`),
      target: { kind: 'boxes', boxes: [], classes: [], iscrowd: [], polygons: [], rles: [] },
    });
  });

  // annotations
  let degenerate = 0, anyMask = false;
  ((d.annotations ?? []) as unknown[]).forEach((an, i) => {
    const f = `annotations[${i}]`;
    if (!isObj(an)) fail(f, 'must be an object');
    const a = an as Json;
    const imageId = num(a.image_id, `${f}.image_id`);
    const img = images.get(imageId) ?? fail(`${f}.image_id`, `image id ${imageId} is not in images`);
    const catId = num(a.category_id, `${f}.category_id`);
    const label = catToLabel.get(catId) ?? fail(`${f}.category_id`, `category id ${catId}${a.id !== undefined ? ` (annotation id ${a.id})` : ''} is not in categories (ids: ${cats.map((c) => c.id).join(', ')})`);
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      fail(`${f}.bbox`, `must be 4 numbers [x, y, w, h], got ${JSON.stringify(bbox)}`);
    }
    const [x, y, w, h] = bbox as number[];
    const crowd = a.iscrowd === undefined ? 0 : num(a.iscrowd, `${f}.iscrowd`);
    if (crowd !== 0 && crowd !== 1) fail(`${f}.iscrowd`, `must be 0 or 1, got ${crowd}`);
    if (w <= 0 || h <= 0) {
      degenerate++; // mmdet / detectron2 drop empty boxes
      return;
    }
    let polys: number[][] | null = null, rle: Rle | null = null;
    const seg = a.segmentation;
    if (Array.isArray(seg)) {
      if (seg.length) {
        polys = seg.map((p, k) => {
          if (!Array.isArray(p) || p.length < 6 || p.length % 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) {
            return fail(`${f}.segmentation[${k}]`, 'a polygon must be an even list of at least 6 numbers');
          }
          return p as number[];
        });
      }
    } else if (isObj(seg)) {
      const size = seg.size, counts = seg.counts;
      if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v))) fail(`${f}.segmentation.size`, 'must be [height, width]');
      if (!(typeof counts === 'string' || (Array.isArray(counts) && counts.every((v) => Number.isInteger(v))))) fail(`${f}.segmentation.counts`, 'must be a string or a list of integers');
      rle = { size: size as [number, number], counts: counts as number[] | string };
    } else if (seg !== undefined && seg !== null) fail(`${f}.segmentation`, 'must be a list of polygons or an RLE object');
    anyMask ||= polys !== null || rle !== null;
    const t = img.target;
    t.boxes.push(x, y, x + w, y + h);
    t.classes.push(label);
    t.iscrowd.push(crowd);
    t.polygons.push(polys);
    t.rles.push(rle);
  });

  const samples: Sample[] = [];
  let empty = 0;
  for (const img of [...images.values()].sort((a, b) => a.id - b.id)) {
    const t: BoxTarget = img.target;
    if (!t.classes.length) {
      empty++;
      if (o.filterEmpty) continue;
    }
    if (!t.polygons!.some((p) => p)) delete t.polygons;
    if (!t.rles!.some((r) => r)) delete t.rles;
    samples.push({ index: samples.length, file: img.file, id: img.id, width: img.width, height: img.height, target: t });
  }
  return {
    name: 'coco', task: 'detect', root: o.root ?? imageDir, split, classes: cats.map((c) => c.name), samples,
    meta: { annFile, imageDir, categoryIds: cats.map((c) => c.id), emptyImages: empty, degenerateBoxes: degenerate, hasMasks: anyMask },
  };
}

datasets.register('coco', {
  description: 'COCO instances JSON: boxes, polygons/RLE, iscrowd; category ids -> contiguous labels',
  task: 'detect',
  options: {
    root: 'dataset root (annotations/, <split>/)',
    split: "split name (default 'val2017')",
    annFile: 'instances JSON (default <root>/annotations/instances_<split>.json)',
    imageDir: 'image folder (default <root>/<split>)',
    filterEmpty: 'drop images without annotations (default false)',
  },
  open: (o) =>
    openCoco({
      root: o.root === undefined ? undefined : strOpt('coco', o, 'root'),
      split: o.split === undefined ? undefined : strOpt('coco', o, 'split'),
      annFile: o.annFile === undefined ? undefined : strOpt('coco', o, 'annFile'),
      imageDir: o.imageDir === undefined ? undefined : strOpt('coco', o, 'imageDir'),
      filterEmpty: boolOpt('coco', o, 'filterEmpty', false),
    }),
});
