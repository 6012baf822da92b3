// COCOeval: the golden set scored by the official cocoapi, and small cases whose 12 numbers are worked out by
// hand (AP over 101 recall points: a precision p held up to recall r gives p * (#points <= r) / 101).
// Precision is tp / (tp + fp + eps) as in pycocotools, so a "1" is 1 - 2e-16: compare to 1e-12.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { evaluateCoco, COCO, COCOeval, rleToString, type CocoDataset, type CocoAnnotation } from '../eval/coco/index.ts';

const GOLD = 'tests/fixtures/golden/coco/';

test('golden set: the 12 numbers of the official cocoapi to 1e-6 (bbox and segm)', (t) => {
  const expected = JSON.parse(readFileSync(GOLD + 'expected.json', 'utf8')) as Record<'bbox' | 'segm', number[]>;
  for (const iou of ['bbox', 'segm'] as const) {
    const r = evaluateCoco(GOLD + 'gt.json', GOLD + `dt_${iou}.json`, iou, { onWarning: () => {} });
    t.is(r.stats.length, 12);
    r.stats.forEach((s, i) => t.true(Math.abs(s - expected[iou][i]) <= 1e-6, `${iou} stat ${i}: ${s} vs ${expected[iou][i]}`));
    // the summary printed in pycocotools' layout
    const lines = r.text.split('\n');
    t.is(lines.length, 12);
    t.is(lines[0], ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ${iou === 'bbox' ? '0.280' : '0.214'}`);
    t.is(lines[1].slice(0, 46), ' Average Precision  (AP) @[ IoU=0.50      | ar');
    t.is(lines[6].slice(0, 80), ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = ' + r.stats[6].toFixed(3));
    // category 18 has no ground truth: left out (null), not scored 0
    t.is(r.perCategory.find((c) => c.id === 18)?.ap, null);
  }
});

// ---- tiny dataset builders ----
const img = (id: number, width = 100, height = 100) => ({ id, width, height });
const gtBox = (id: number, image_id: number, bbox: number[], extra: Partial<CocoAnnotation> = {}): CocoAnnotation => ({
  id,
  image_id,
  category_id: 1,
  bbox,
  area: bbox[2] * bbox[3],
  iscrowd: 0,
  ...extra,
});
const det = (image_id: number, bbox: number[], score: number, category_id = 1) => ({ image_id, category_id, bbox, score });
const dataset = (images: ReturnType<typeof img>[], annotations: CocoAnnotation[]): CocoDataset => ({
  images,
  annotations,
  categories: [{ id: 1, name: 'thing' }],
});
const quiet = { onWarning: () => {} };
const stats = (gt: CocoDataset, dts: object[], iou: 'bbox' | 'segm' = 'bbox') => evaluateCoco(gt, dts, iou, quiet).stats;
const close = (t: { true: (v: boolean, m?: string) => void }, got: number[], want: number[]) =>
  want.forEach((w, i) => t.true(Math.abs(got[i] - w) < 1e-12, `stat ${i}: got ${got[i]}, want ${w}`));

test('one perfect detection: AP 1; ranges without ground truth are -1', (t) => {
  // 50x50 = 2500 is medium: small and large have no unignored ground truth -> -1
  const gt = dataset([img(1)], [gtBox(1, 1, [10, 10, 50, 50])]);
  close(t, stats(gt, [det(1, [10, 10, 50, 50], 0.9)]), [1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1]);
});

test('a detection inside a crowd region is ignored, not a false positive', (t) => {
  // crowd IoU = intersection / detection area = 1 -> matched to the crowd, ignored. Only the TP counts.
  const anns = [gtBox(1, 1, [0, 0, 40, 40]), gtBox(2, 1, [50, 0, 50, 100], { iscrowd: 1 })];
  const dts = [det(1, [60, 10, 20, 20], 0.95), det(1, [0, 0, 40, 40], 0.9)];
  close(t, [stats(dataset([img(1)], anns), dts)[0]], [1]);
  // without the crowd flag the region is an object: IoU 400/5000 < .5, so the 0.95 box is a FP ranked first,
  // the 0.9 box a TP, the region missed: recall 0.5 with precision 0.5 (envelope) on the 51 points 0..0.50
  anns[1].iscrowd = 0;
  const s = stats(dataset([img(1)], anns), dts);
  close(t, [s[0], s[8]], [(0.5 * 51) / 101, 0.5]);
});

test('area ranges include both bounds: area 1024 is small and medium, 9216 medium and large', (t) => {
  // image 1: area exactly 1024, found. image 2: area exactly 9216, missed.
  const gt = dataset([img(1), img(2)], [gtBox(1, 1, [0, 0, 32, 32]), gtBox(2, 2, [0, 0, 96, 96])]);
  const s = stats(gt, [det(1, [0, 0, 32, 32], 0.8)]);
  // all / medium: 2 objects, 1 found first -> precision 1 up to recall .5 -> 51/101; recall .5
  // small: only the 1024 one -> 1. large: only the 9216 one, the 1024 detection matches an ignored gt -> 0
  close(t, s, [51 / 101, 51 / 101, 51 / 101, 1, 51 / 101, 0, 0.5, 0.5, 0.5, 1, 0.5, 0]);
});

test('maxDets: the true positive ranked 11th counts for maxDets 100 only', (t) => {
  const gt = dataset([img(1)], [gtBox(1, 1, [0, 0, 20, 20])]); // 400: small
  const fps = Array.from({ length: 10 }, (_, i) => det(1, [50, 50, 10, 10], 0.9 - i * 0.01));
  const s = stats(gt, [...fps, det(1, [0, 0, 20, 20], 0.5)]);
  // precision 1/11 at recall 1 for every point; AR@1 = AR@10 = 0, AR@100 = 1; medium/large have nothing
  close(t, s, [1 / 11, 1 / 11, 1 / 11, 1 / 11, -1, -1, 0, 0, 1, 1, -1, -1]);
});

test('score ties: the 100-per-image cut keeps results-file order among equal scores', (t) => {
  const gt = dataset([img(1)], [gtBox(1, 1, [0, 0, 20, 20])]);
  const fps = Array.from({ length: 100 }, () => det(1, [50, 50, 10, 10], 0.5));
  const tp = det(1, [0, 0, 20, 20], 0.5);
  // listed last among 101 equal scores: cut before matching -> nothing found
  t.deepEqual(stats(gt, [...fps, tp]).slice(0, 3), [0, 0, 0]);
  // listed first: ranked first -> AP 1, and AR@1 = 1
  const s = stats(gt, [tp, ...fps]);
  close(t, [s[0], s[6]], [1, 1]);
});

test('score ties across images follow increasing image id, not file order', (t) => {
  // image 2 is listed first everywhere; image 1 has a FP and image 2 a TP, both scored .5. Sorted by image id
  // the FP comes first: precision .5 up to recall .5 -> 25.5/101 (TP first would give 51/101).
  const gt = dataset([img(2), img(1)], [gtBox(1, 2, [0, 0, 20, 20]), gtBox(2, 1, [0, 0, 20, 20])]);
  const s = stats(gt, [det(2, [0, 0, 20, 20], 0.5), det(1, [50, 50, 20, 20], 0.5)]);
  close(t, [s[0]], [(0.5 * 51) / 101]);
  // inside one image the file order decides: FP then TP -> .5 at every recall point; TP then FP -> 1
  const one = dataset([img(1)], [gtBox(1, 1, [0, 0, 20, 20])]);
  close(t, [stats(one, [det(1, [50, 50, 20, 20], 0.5), det(1, [0, 0, 20, 20], 0.5)])[0]], [0.5]);
  close(t, [stats(one, [det(1, [0, 0, 20, 20], 0.5), det(1, [50, 50, 20, 20], 0.5)])[0]], [1]);
});

test('IoU thresholds: a box with IoU exactly .75 is a match at .75 but not at .80', (t) => {
  // gt 20x20, det 15x20 inside it: IoU 300/400 = .75 -> matched at thresholds .50...75 (6 of 10)
  const gt = dataset([img(1)], [gtBox(1, 1, [0, 0, 20, 20])]);
  const s = stats(gt, [det(1, [0, 0, 15, 20], 0.9)]);
  close(t, [s[0], s[1], s[2], s[8]], [0.6, 1, 1, 0.6]);
});

test('segm: polygon ground truth, crowd as an uncompressed RLE, results as compressed RLEs', (t) => {
  // 20x20 image; crowd = columns 10..19 (column-major: 200 zeros then 200 ones)
  const gt: CocoDataset = {
    images: [img(1, 20, 20)],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, segmentation: [[0, 0, 10, 0, 10, 10, 0, 10]], area: 100, bbox: [0, 0, 10, 10], iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 1, segmentation: { size: [20, 20], counts: [200, 200] }, area: 200, bbox: [10, 0, 10, 20], iscrowd: 1 },
    ],
    categories: [{ id: 1, name: 'thing' }],
  };
  const coco = new COCO(gt);
  const asRle = (polygon: number[]) => {
    const R = coco.annToRLE({ id: 0, image_id: 1, category_id: 1, segmentation: [polygon] });
    return { size: [20, 20], counts: rleToString(R) };
  };
  const dts = [
    { image_id: 1, category_id: 1, segmentation: asRle([12, 2, 16, 2, 16, 6, 12, 6]), score: 0.95 }, // in the crowd
    { image_id: 1, category_id: 1, segmentation: asRle([0, 0, 10, 0, 10, 10, 0, 10]), score: 0.9 }, // exact
  ];
  // the crowd hit is ignored; all objects are small (100 px) -> medium and large have none. It still takes
  // the one slot of maxDets 1, so AR@1 = 0.
  close(t, stats(gt, dts, 'segm'), [1, 1, 1, 1, -1, -1, 0, 1, 1, 1, -1, -1]);
});

test('bad input: unknown image ids fail with pycocotools\' message', (t) => {
  const gt = dataset([img(1)], [gtBox(1, 1, [0, 0, 20, 20])]);
  t.throws(() => stats(gt, [det(1, [0, 0, 20, 20], 0.5), det(7, [0, 0, 5, 5], 0.5)]), {
    message: /^Results do not correspond to current coco set: image ids 7 /,
  });
});

test('bad input: unknown categories are kept but never scored, with a warning', (t) => {
  const gt = dataset([img(1)], [gtBox(1, 1, [10, 10, 50, 50])]);
  const warnings: string[] = [];
  const r = evaluateCoco(gt, [det(1, [10, 10, 50, 50], 0.9), det(1, [10, 10, 50, 50], 0.99, 42)], 'bbox', { onWarning: (m) => warnings.push(m) });
  close(t, r.stats, [1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1]);
  t.is(warnings.length, 1);
  t.regex(warnings[0], /1 results have category ids not in the ground truth \(42\)/);
  t.is(r.counts.detections, 2);
});

test('bad input: empty results fail as in pycocotools unless allowed, then score 0', (t) => {
  const gt = dataset([img(1)], [gtBox(1, 1, [10, 10, 50, 50])]);
  t.throws(() => stats(gt, []), { message: /results are empty: pycocotools fails here/ });
  const r = evaluateCoco(gt, [], 'bbox', { allowEmpty: true });
  t.deepEqual(r.stats, [0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1]);
});

test('bad input: boxes of negative size are kept as pycocotools does, with a warning', (t) => {
  const gt = dataset([img(1)], [gtBox(1, 1, [0, 0, 20, 20])]);
  const tp = det(1, [0, 0, 20, 20], 0.5);
  const warnings: string[] = [];
  // one negative side: area w*h < 0 is outside every area range -> ignored: AP stays 1
  const r = evaluateCoco(gt, [det(1, [50, 50, -10, 10], 0.9), tp], 'bbox', { onWarning: (m) => warnings.push(m) });
  close(t, [r.stats[0]], [1]);
  t.regex(warnings[0], /1 results have a box of negative width or height/);
  // two negative sides: area > 0, no overlap -> a false positive ranked first -> .5 at every recall point
  close(t, [stats(gt, [det(1, [50, 50, -10, -10], 0.9), tp])[0]], [0.5]);
});

test('bad input: malformed results name the problem', (t) => {
  const gt = dataset([img(1)], [gtBox(1, 1, [0, 0, 20, 20])]);
  t.throws(() => stats(gt, [{ image_id: 1, category_id: 1, bbox: [0, 0, 20], score: 0.5 }]), { message: /results\[0\].*'bbox' must be \[x, y, w, h\]/ });
  t.throws(() => stats(gt, [{ image_id: 1, category_id: 1, bbox: [0, 0, 20, 20] }]), { message: /'score' must be a finite number/ });
  t.throws(() => stats(gt, [{ image_id: 1, category_id: 1, score: 0.5 }]), { message: /neither a non-empty 'bbox' nor a 'segmentation'/ });
  t.throws(() => stats(gt, { not: 'a list' } as never), { message: /results is not an array/ });
  const noCrowd = dataset([img(1)], [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 20, 20], area: 400 }]);
  t.throws(() => stats(noCrowd, [det(1, [0, 0, 20, 20], 0.5)]), { message: /annotation 1 has no 'iscrowd'/ });
});

test('COCOeval step by step: evalImgs layout and accumulate shapes', (t) => {
  const gt = new COCO(dataset([img(1), img(2)], [gtBox(1, 1, [0, 0, 20, 20]), gtBox(2, 2, [0, 0, 40, 40])]));
  const dt = gt.loadRes([det(1, [0, 0, 20, 20], 0.9), det(2, [0, 0, 30, 40], 0.8)]);
  const E = new COCOeval(gt, dt, 'bbox');
  E.evaluate();
  t.is(E.evalImgs.length, 1 * 4 * 2); // K * A * I
  const e = E.evalImgs[1]; // category 1, area all, image 2
  t.truthy(e);
  // IoU 1200/1600 = .75: matched (gt id 2) at the first 6 thresholds, unmatched after
  t.deepEqual(Array.from(e!.dtMatches), [2, 2, 2, 2, 2, 2, 0, 0, 0, 0]);
  const ev = E.accumulate();
  t.deepEqual(ev.counts, [10, 101, 1, 4, 3]);
  t.is(ev.precision.length, 10 * 101 * 4 * 3);
  t.throws(() => new COCOeval(gt, dt, 'keypoints' as never), { message: /keypoints are not ported/ });
});

test('no images or no categories: every stat is -1, as pycocotools (which only prints a notice)', (t) => {
  const gt = new COCO({ images: [], annotations: [], categories: [{ id: 1, name: 'a' }] });
  const E = new COCOeval(gt, gt.loadRes([], { allowEmpty: true }), 'bbox');
  t.throws(() => E.accumulate(), { message: /Please run evaluate\(\) first/ });
  E.evaluate();
  E.accumulate();
  t.deepEqual(E.summarize(), Array(12).fill(-1));
});

test('summary helpers: numpy pairwise sum and Python round-half-even formatting', async (t) => {
  const { pairwiseSum, pyFixed } = await import('../eval/coco/index.ts');
  // numpy: np.sum([0.1]*1000 + [1/3]*37) = 112.33333333333334; a left-to-right sum gives ...175
  const a = [...Array(1000).fill(0.1), ...Array(37).fill(1 / 3)];
  t.is(pairwiseSum(a), 112.33333333333334);
  // '{:0.3f}'.format(x) in Python; JS toFixed rounds these exact ties up
  t.deepEqual([0.0625, 0.1875, 0.5625, 0.9375, -0.0625, -1].map((x) => pyFixed(x, 3)), ['0.062', '0.188', '0.562', '0.938', '-0.062', '-1.000']);
  t.is(pyFixed(0.125, 2), '0.12');
});
