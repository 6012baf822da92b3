// Dataset loaders on the committed fixtures (tests/fixtures/data): class order, COCO category
// mapping / crowd / empty images, VOC difficult and 07+12, ADE20K indices and reduce_zero_label,
// ultralytics YAML; malformed files name the file and the field.
import test from 'ava';
import { mkdtemp, writeFile, readFile, mkdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDataset, datasets } from '../datasets/index.ts';
import { DataError } from '../datasets/common.ts';
import { readMask } from '../datasets/io/decode.ts';
import { buildPipeline, segmentEval } from '../datasets/pipeline/index.ts';
import { Rng } from '../core/rng.ts';
import type { BoxTarget } from '../datasets/types.ts';

const FIX = resolve('tests/fixtures/data');
const boxes = (t: { target: unknown }) => t.target as BoxTarget;

test('registry: the five loaders, unknown options suggest close names', async (t) => {
  t.deepEqual(datasets.names(), ['ade20k', 'coco', 'imagefolder', 'voc', 'yolo']);
  const e = await t.throwsAsync(() => openDataset('coco', { annfile: 'x.json' }));
  t.regex(e!.message, /unknown option 'annfile' \(did you mean annFile\?\)/);
  t.throws(() => datasets.get('imagefolders'), { message: /did you mean imagefolder/ });
});

test('imagefolder: torchvision class order (sorted folder names), non-images ignored', async (t) => {
  const ds = await openDataset('imagefolder', { root: join(FIX, 'imagefolder') });
  t.deepEqual(ds.classes, ['Zebra', 'apple', 'bird']);
  t.deepEqual(ds.samples.map((s) => [s.file.slice(FIX.length + 1), (s.target as { label: number }).label]), [
    ['imagefolder/train/Zebra/z1.png', 0],
    ['imagefolder/train/apple/a1.png', 1],
    ['imagefolder/train/apple/a2.jpg', 1],
    ['imagefolder/train/bird/b1.png', 2],
  ]);
});

test('imagefolder: a flat val split takes labels from labels.txt with the train class names', async (t) => {
  const ds = await openDataset('imagefolder', { root: join(FIX, 'imagefolder'), split: 'val' });
  t.is(ds.meta.layout, 'flat');
  t.deepEqual(ds.classes, ['Zebra', 'apple', 'bird']);
  t.deepEqual(ds.samples.map((s) => [s.file.split('/').pop(), (s.target as { label: number }).label]), [['v1.png', 1], ['v2.png', 2], ['v3.png', 0]]);
  t.is(ds.meta.unlabelled, 1); // v4.png is not in labels.txt
  const dir = await mkdtemp(join(tmpdir(), 'ssmv-if-'));
  await cp(join(FIX, 'imagefolder'), dir, { recursive: true });
  await writeFile(join(dir, 'val', 'labels.txt'), 'v1.png apple\nv2.png giraffe\n');
  const e = await t.throwsAsync(() => openDataset('imagefolder', { root: dir, split: 'val' }), { instanceOf: DataError });
  t.regex(e!.message, /labels\.txt: v2: class 'giraffe' is not among the 3 classes/);
});

test('coco: sorted category ids -> contiguous labels, crowd RLEs, empty images kept, degenerate boxes dropped', async (t) => {
  const ds = await openDataset('coco', { annFile: join(FIX, 'coco/instances.json'), imageDir: join(FIX, 'coco/images') });
  t.deepEqual(ds.classes, ['person', 'train', 'toothbrush']);
  t.deepEqual(ds.meta.categoryIds, [1, 7, 90]);
  t.deepEqual(ds.samples.map((s) => s.id), [1, 2, 3]);
  const [a, b, c] = ds.samples.map(boxes);
  t.deepEqual(a.classes, [0, 1]);
  t.deepEqual(a.boxes, [2, 2, 8, 7, 9, 1, 13, 5]);
  t.deepEqual(a.iscrowd, [0, 1]);
  t.deepEqual(a.polygons, [[[2, 2, 8, 2, 8, 7, 2, 7]], null]);
  t.deepEqual(a.rles![1], { size: [12, 16], counts: [109, 4, 8, 4, 8, 4, 8, 4, 43] });
  t.deepEqual(b.classes, []); // no annotations: kept for evaluation
  t.deepEqual(c.classes, [2, 1]);
  t.is(typeof c.rles![1]!.counts, 'string');
  t.is(ds.meta.degenerateBoxes, 1);
  t.is(ds.meta.emptyImages, 1);
  const filtered = await openDataset('coco', { annFile: join(FIX, 'coco/instances.json'), imageDir: join(FIX, 'coco/images'), filterEmpty: true });
  t.deepEqual(filtered.samples.map((s) => s.id), [1, 3]);
});

test('coco: crowd masks rasterise where the RLE says (instance masks of the eval pipeline)', async (t) => {
  const ds = await openDataset('coco', { annFile: join(FIX, 'coco/instances.json'), imageDir: join(FIX, 'coco/images') });
  const { detectEval } = await import('../datasets/pipeline/spec.ts');
  const pipe = buildPipeline(detectEval({ size: 16, instanceMasks: true }));
  const item = await pipe.run([ds.samples[0]], new Rng(0));
  // letterbox 16x12 -> 16x16: pad 2 rows on top, scale 1
  t.deepEqual([...item.affine ? [item.affine.sx, item.affine.sy, item.affine.tx, item.affine.ty] : []], [1, 1, 0, 2]);
  const m = item.instanceMasks!;
  const crowd = m.subarray(256, 512); // second instance: the RLE block x 9..12, y 1..4 (+2 rows)
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) t.is(crowd[y * 16 + x], x >= 9 && x <= 12 && y >= 3 && y <= 6 ? 1 : 0, `(${x}, ${y})`);
  const poly = m.subarray(0, 256); // polygon 2..8 x 2..7 -> rows 4..8
  t.is(poly.reduce((s, v) => s + v, 0), 30);
});

test('coco: malformed JSON, a bad field and a missing category name the file and the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ssmv-coco-'));
  const good = JSON.parse(await readFile(join(FIX, 'coco/instances.json'), 'utf8'));
  const write = async (name: string, data: unknown) => {
    const f = join(dir, name);
    await writeFile(f, typeof data === 'string' ? data : JSON.stringify(data));
    return f;
  };
  const open = (annFile: string) => openDataset('coco', { annFile, imageDir: dir });
  const truncated = await write('trunc.json', JSON.stringify(good).slice(0, 200));
  const e1 = await t.throwsAsync(() => open(truncated), { instanceOf: DataError });
  t.regex(e1!.message, /trunc\.json: malformed JSON/);
  const badBox = structuredClone(good);
  badBox.annotations[2].bbox = [1, 2, 3];
  const bboxFile = await write('bbox.json', badBox);
  const e2 = await t.throwsAsync(() => open(bboxFile), { instanceOf: DataError });
  t.regex(e2!.message, /bbox\.json: annotations\[2\]\.bbox: must be 4 numbers/);
  const missing = structuredClone(good);
  missing.annotations[1].category_id = 44;
  const catFile = await write('cat.json', missing);
  const e3 = await t.throwsAsync(() => open(catFile), { instanceOf: DataError });
  t.regex(e3!.message, /cat\.json: annotations\[1\]\.category_id: category id 44 \(annotation id 12\) is not in categories \(ids: 1, 7, 90\)/);
  const noName = structuredClone(good);
  delete noName.images[1].file_name;
  const imgFile = await write('img.json', noName);
  const e4 = await t.throwsAsync(() => open(imgFile), { instanceOf: DataError });
  t.regex(e4!.message, /img\.json: images\[1\]\.file_name: must be a non-empty string/);
});

test('voc: 07+12 trainval concatenated, difficult kept and flagged, 1-based pixels -> continuous', async (t) => {
  const ds = await openDataset('voc', { root: join(FIX, 'voc/VOCdevkit') });
  t.is(ds.classes.length, 20);
  t.deepEqual(ds.samples.map((s) => s.id), ['2007_000001', '2007_000002', '2012_2008_000003']);
  const first = boxes(ds.samples[0]);
  t.deepEqual(first.classes, [ds.classes.indexOf('dog'), ds.classes.indexOf('person')]);
  t.deepEqual(first.difficult, [0, 1]);
  t.deepEqual(first.boxes, [1, 2, 10, 12, 10, 0, 20, 16]);
  t.is(ds.meta.difficultObjects, 1);
  const only07 = await openDataset('voc', { root: join(FIX, 'voc/VOCdevkit'), years: ['2007'], split: 'test', skipDifficult: true });
  t.deepEqual(only07.samples.map((s) => s.id), ['2007_000002']);
  const single = await openDataset('voc', { root: join(FIX, 'voc/VOCdevkit/VOC2007') });
  t.is(single.samples.length, 2);
});

test('voc: segmentation masks keep palette indices (0, 20, 255)', async (t) => {
  const ds = await openDataset('voc', { root: join(FIX, 'voc/VOCdevkit'), task: 'segment', split: 'val', years: ['2012'] });
  t.is(ds.task, 'segment');
  t.is(ds.classes[20], 'tvmonitor');
  const target = ds.samples[0].target as { file: string };
  const m = await readMask(target.file);
  t.is(m.kind, 'palette');
  t.deepEqual([...new Set(m.data)].sort((a, b) => a - b), [0, 20, 255]);
});

test('voc: a broken XML names the file and line; a bad field names the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ssmv-voc-'));
  for (const [name, src] of [['broken', 'broken.xml'], ['field', 'field.xml']]) {
    const root = join(dir, name, 'VOC2007');
    await mkdir(join(root, 'Annotations'), { recursive: true });
    await mkdir(join(root, 'ImageSets', 'Main'), { recursive: true });
    await cp(join(FIX, 'voc/bad/Annotations', src), join(root, 'Annotations', '000009.xml'));
    await writeFile(join(root, 'ImageSets', 'Main', 'trainval.txt'), '000009\n');
  }
  const e1 = await t.throwsAsync(() => openDataset('voc', { root: join(dir, 'broken', 'VOC2007') }));
  t.regex(e1!.message, /000009\.xml:4: end tag <\/annotation> does not match <object>/);
  const e2 = await t.throwsAsync(() => openDataset('voc', { root: join(dir, 'field', 'VOC2007') }), { instanceOf: DataError });
  t.regex(e2!.message, /000009\.xml: object\[0\]\.bndbox\.xmin: must be a number, got 'two'/);
});

test('ade20k: grayscale and palette masks read as indices; reduce_zero_label; 255 stays ignore', async (t) => {
  const ds = await openDataset('ade20k', { root: join(FIX, 'ade') });
  t.is(ds.classes.length, 150);
  t.is(ds.classes[0], 'wall');
  const spec = segmentEval({ size: [8, 12], mean: [0, 0, 0], std: [1, 1, 1] });
  const item = await buildPipeline(spec).run([ds.samples[0]], new Rng(0));
  // stored: x < 4 -> 0, 4..7 -> 1, x >= 8 -> 2 (top) / 255 (bottom); reduced: 255, 0, 1, 255
  const row = (y: number) => [...item.mask!.subarray(y * 12, y * 12 + 12)];
  t.deepEqual(row(0), [255, 255, 255, 255, 0, 0, 0, 0, 1, 1, 1, 1]);
  t.deepEqual(row(7), [255, 255, 255, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  const val = await openDataset('ade20k', { root: join(FIX, 'ade'), split: 'validation', reduceZeroLabel: false });
  t.is(val.classes[0], 'other');
  const vitem = await buildPipeline(spec).run([val.samples[0]], new Rng(0));
  // palette PNG (colours red/green for 1/2): the indices come through, not the colours
  t.deepEqual([...vitem.mask!.subarray(0, 12)], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  t.deepEqual([...vitem.mask!.subarray(7 * 12, 8 * 12)], [0, 0, 0, 0, 1, 1, 1, 1, 255, 255, 255, 255]);
});

test('yolo: data YAML (names mapping, list splits, .txt lists), boxes and polygons, background images', async (t) => {
  const ds = await openDataset('yolo', { data: join(FIX, 'yolo/data.yaml') });
  t.deepEqual(ds.classes, ['person', 'traffic light', 'fire hydrant']);
  t.deepEqual(ds.samples.map((s) => s.file.split('/').pop()), ['a.jpg', 'b.jpg', 'c.jpg']);
  const [a, b, c] = ds.samples.map(boxes);
  t.true(a.normalized);
  t.deepEqual(a.classes, [0, 2]);
  t.deepEqual(a.boxes.map((v) => +v.toFixed(6)), [0.25, 0.25, 0.75, 0.75, 0.2, 0.15, 0.3, 0.35]);
  t.deepEqual(b.classes, [1]);
  t.deepEqual(b.boxes.map((v) => +v.toFixed(6)), [0.1, 0.1, 0.3, 0.4]);
  t.deepEqual(b.polygons, [[[0.1, 0.1, 0.3, 0.1, 0.3, 0.4, 0.1, 0.4]]]);
  t.deepEqual(c.classes, []);
  t.is(ds.meta.backgroundImages, 1);
  // a class id beyond names fails naming the label file and line
  const e = await t.throwsAsync(() => openDataset('yolo', { data: join(FIX, 'yolo/data.yaml'), split: 'val' }), { instanceOf: DataError });
  t.regex(e!.message, /labels\/val\/d\.txt: line 1: class id 3 exceeds the dataset's 3 classes/);
  const list = await openDataset('yolo', { data: join(FIX, 'yolo/list.yaml') });
  t.deepEqual(list.samples.map((s) => s.file.split('/').pop()), ['a.jpg', 'c.jpg']);
  const e2 = await t.throwsAsync(() => openDataset('yolo', { data: join(FIX, 'yolo/data.yaml'), split: 'test' }), { instanceOf: DataError });
  t.regex(e2!.message, /data\.yaml: test: no 'test' entry \(has: train, val\)/);
});

test('yolo: nc disagreeing with names is an error naming nc', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ssmv-yolo-'));
  await writeFile(join(dir, 'd.yaml'), 'train: .\nnames: [a, b]\nnc: 3\n');
  const e = await t.throwsAsync(() => openDataset('yolo', { data: join(dir, 'd.yaml') }), { instanceOf: DataError });
  t.regex(e!.message, /d\.yaml: nc: nc is 3 but names has 2 entries/);
});
