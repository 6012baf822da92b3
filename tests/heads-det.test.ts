// Mask R-CNN building blocks on the host, against hand-worked values: anchors (and mmdet's own
// AnchorGenerator docstring example), the DeltaXYWH coder, IoU, NMS, MaxIoUAssigner, RandomSampler,
// RoI level mapping, mask pasting, and the batch -> ground-truth conversion that drops crowd and
// degenerate boxes.
import test from 'ava';
import { Rng } from '../core/rng.ts';
import { baseAnchors, gridAnchors, AnchorGenerator } from '../heads/det/anchors.ts';
import { bboxOverlaps, encodeBoxes, decodeBoxes, RCNN_CODER, RPN_CODER } from '../heads/det/boxes.ts';
import { nms, batchedNms } from '../heads/det/nms.ts';
import { assignMaxIou, sampleRandom, type AssignResult } from '../heads/det/assigner.ts';
import { roiLevel, sortByLevel } from '../heads/det/roi-extractor.ts';
import { pasteMask } from '../heads/det/mask-paste.ts';
import { gtFromBatch } from '../heads/det/gt.ts';
import type { Batch } from '../datasets/types.ts';

const close = (t: { true(v: boolean, m?: string): void }, a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-4) => {
  t.true(a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) <= eps), `${Array.from(a)} != ${Array.from(b)}`);
};

test('anchors: base anchors per ratio (scale-major), grid order (y, x, anchor), mmdet docstring example', (t) => {
  const r = Math.SQRT2;
  // base 4 x scale 8 = 32: ratio h/w 0.5 -> 32*sqrt2 x 32/sqrt2, 1 -> 32 x 32, 2 -> 32/sqrt2 x 32*sqrt2, centred at 0
  close(t, baseAnchors(4, [0.5, 1, 2], [8]), [-16 * r, -8 * r, 16 * r, 8 * r, -16, -16, 16, 16, -8 * r, -16 * r, 8 * r, 16 * r]);
  const g = gridAnchors(baseAnchors(4, [0.5, 1, 2], [8]), 2, 3, 4);
  t.is(g.length, 2 * 3 * 3 * 4);
  const i = (1 * 3 + 2) * 3 + 1; // y 1, x 2, ratio 1
  close(t, g.subarray(4 * i, 4 * i + 4), [-16 + 8, -16 + 4, 16 + 8, 16 + 4]);
  // mmdet AnchorGenerator([16], [1.], [1.], [9]).grid_priors([(2, 2)])
  close(t, gridAnchors(baseAnchors(9, [1], [1]), 2, 2, 16), [-4.5, -4.5, 4.5, 4.5, 11.5, -4.5, 20.5, 4.5, -4.5, 11.5, 4.5, 20.5, 11.5, 11.5, 20.5, 20.5]);
  const gen = new AnchorGenerator({ strides: [4, 8], ratios: [1], scales: [2] });
  const lv = gen.levels([[2, 2], [1, 1]]);
  close(t, lv[1], [-8, -8, 8, 8]);
  t.is(gen.levels([[2, 2], [1, 1]]), lv, 'cached per feature size');
  t.throws(() => gen.levels([[2, 2]]), { message: /1 feature levels for 2 strides/ });
});

test('box coder: hand-worked deltas, stds, round trip, wh clamp and clipping', (t) => {
  const p = Float32Array.from([0, 0, 10, 10]), g = Float32Array.from([2, 3, 12, 18]);
  // centres (5, 5) -> (7, 10.5), sizes 10x10 -> 10x15
  close(t, encodeBoxes(p, g, RPN_CODER), [0.2, 0.55, 0, Math.log(1.5)], 1e-6);
  close(t, encodeBoxes(p, g, RCNN_CODER), [2, 5.5, 0, Math.log(1.5) / 0.2], 1e-5);
  close(t, decodeBoxes(p, encodeBoxes(p, g, RCNN_CODER), RCNN_CODER), g, 1e-4);
  // dw = 10 is clamped to |log(16/1000)|: width 10 * 1000/16 = 625 around centre 5
  close(t, decodeBoxes(p, [0, 0, 10, 0], RPN_CODER), [5 - 312.5, 0, 5 + 312.5, 10], 1e-3);
  close(t, decodeBoxes(p, [0, 0, 10, 0], RPN_CODER, [8, 30]), [0, 0, 30, 8], 1e-6);
});

test('bbox overlaps: IoU matrix with eps-clamped union', (t) => {
  const o = bboxOverlaps([0, 0, 10, 10, 20, 20, 30, 30], [5, 5, 15, 15, 0, 0, 10, 10, 0, 0, 0, 0]);
  close(t, o, [25 / 175, 1, 0, 0, 0, 0], 1e-6);
});

test('nms: suppression above the threshold, per-group batched NMS sorted by score', (t) => {
  const boxes = [0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30];
  // IoU(box0, box1) = 81 / 119 = 0.68
  t.deepEqual(nms(boxes, [0.9, 0.8, 0.7], 0.5), [0, 2]);
  t.deepEqual(nms(boxes, [0.9, 0.8, 0.7], 0.7), [0, 1, 2]);
  t.deepEqual(nms(boxes, [0.6, 0.8, 0.7], 0.5), [1, 2]);
  // same box in another class survives; output in descending score order across groups
  t.deepEqual(batchedNms([0, 0, 10, 10, 1, 1, 11, 11, 0, 0, 10, 10], [0.9, 0.8, 0.95], [0, 0, 1], 0.5), [2, 0]);
});

test('MaxIoUAssigner: positives, ignored middle band, low-quality matches, no gt', (t) => {
  const priors = [0, 0, 10, 10, 0, 0, 10, 9, 5, 0, 15, 10, 20, 20, 30, 30, 40, 40, 50, 50];
  const gts = [0, 0, 10, 10, 22, 20, 28, 30];
  const cfg = { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true };
  const a = assignMaxIou(priors, gts, [3, 5], cfg);
  // IoUs: 1.0, 0.9, 1/3 (ignored), 0.6 -> gt 1 by its best match, 0 -> negative
  t.deepEqual(Array.from(a.gtInds), [1, 1, -1, 2, 0]);
  t.deepEqual(Array.from(a.labels), [3, 3, -1, 5, -1]);
  close(t, a.maxOverlaps, [1, 0.9, 1 / 3, 0.6, 0], 1e-6);
  const noLow = assignMaxIou(priors, gts, [3, 5], { ...cfg, matchLowQuality: false });
  t.deepEqual(Array.from(noLow.gtInds), [1, 1, -1, -1, 0]);
  t.deepEqual(Array.from(assignMaxIou(priors, [], [], cfg).gtInds), [0, 0, 0, 0, 0]);
});

test('RandomSampler: pos fraction cap, negatives fill, gts added as proposals, reproducible', (t) => {
  const assign: AssignResult = { numGts: 2, gtInds: Int32Array.from([1, 2, 1, 0, 0, 0, 0, 0, -1]), maxOverlaps: new Float32Array(9), labels: new Int32Array(9) };
  const priors = new Float32Array(9 * 4);
  const gtBoxes = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]), gtLabels = Int32Array.from([4, 6]);
  const s = sampleRandom(assign, priors, gtBoxes, gtLabels, { num: 4, posFraction: 0.5, addGtAsProposals: false }, new Rng(1));
  t.is(s.posInds.length, 2);
  t.is(s.negInds.length, 2);
  t.true([...s.posInds].every((i) => [0, 1, 2].includes(i)));
  t.true([...s.negInds].every((i) => i >= 3 && i <= 7), 'the ignored prior is never sampled');
  t.deepEqual([...s.posGtLabels], [...s.posGtInds].map((k) => gtLabels[k]));
  const again = sampleRandom(assign, priors, gtBoxes, gtLabels, { num: 4, posFraction: 0.5, addGtAsProposals: false }, new Rng(1));
  t.deepEqual([...again.posInds, ...again.negInds], [...s.posInds, ...s.negInds]);
  // with the gts prepended: 2 + 3 positives, 16 * 0.25 = 4 drawn, 12 negatives wanted but only 5 exist
  const g = sampleRandom(assign, priors, gtBoxes, gtLabels, { num: 16, posFraction: 0.25, addGtAsProposals: true }, new Rng(2));
  t.is(g.priors.length, 11 * 4);
  t.is(g.posInds.length, 4);
  t.is(g.negInds.length, 5);
  t.true([...g.posInds].every((i) => (i < 2 ? g.posIsGt[[...g.posInds].indexOf(i)] === 1 : true)));
  // few positives: all taken, negatives fill up to num
  const one: AssignResult = { ...assign, gtInds: Int32Array.from([0, 0, 1, 0, 0, 0, 0, 0, 0]) };
  const f = sampleRandom(one, priors, gtBoxes, gtLabels, { num: 4, posFraction: 0.5, addGtAsProposals: false }, new Rng(3));
  t.deepEqual([...f.posInds], [2]);
  t.is(f.negInds.length, 3);
});

test('RoI level mapping: floor(log2(sqrt(area) / 56)) clamped, stable sort by level', (t) => {
  const lv = (s: number) => roiLevel(0, 0, s, s, 4, 56);
  t.deepEqual([10, 56, 111, 112, 224, 448, 2000].map(lv), [0, 0, 0, 1, 2, 3, 3]);
  t.is(roiLevel(5, 5, 2, 2, 4, 56), 0, 'a reversed box (NaN scale) goes to level 0');
  const s = sortByLevel(Float32Array.from([0, 0, 0, 300, 300, 1, 0, 0, 10, 10, 0, 0, 0, 120, 120, 1, 0, 0, 20, 20]), 4, 56);
  t.deepEqual([...s.order], [1, 3, 2, 0]);
  t.deepEqual(s.counts, [2, 1, 1, 0]); // sides 10, 20 | 120 | 300
  t.deepEqual([...s.rois.subarray(0, 5)], [1, 0, 0, 10, 10]);
});

test('mask paste: grid_sample of the box mask, thresholded (hand-worked 2x2 mask on a 4x4 box)', (t) => {
  // pixel x reads u = (x - 2.5) / 2: x = 2..5 get weight >= 0.75 of the mask, x = 1 and 6 only 0.25
  const m = pasteMask([1, 1, 1, 1], 2, [2, 2, 6, 6], 8, 8, 0.5);
  const want = new Uint8Array(64);
  for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) want[y * 8 + x] = 1;
  t.deepEqual(m, want);
  // half the mask on: the left column only
  const half = pasteMask([1, 0, 1, 0], 2, [2, 2, 6, 6], 8, 8, 0.5);
  t.deepEqual([...half.subarray(3 * 8, 4 * 8)], [0, 0, 1, 1, 0, 0, 0, 0]);
  t.is(pasteMask([1, 1, 1, 1], 2, [4, 4, 4, 9], 8, 8, 0.5).reduce((a, b) => a + b, 0), 0, 'an empty box pastes nothing');
});

test('ground truth from a batch: crowd, degenerate and non-finite boxes are dropped; empty images stay', (t) => {
  const H = 4, W = 4;
  const masks = new Uint8Array(5 * H * W);
  masks.fill(1, 0, H * W); // instance 0
  masks.fill(1, 4 * H * W); // instance 4
  const batch: Batch = {
    images: new Float32Array(2 * H * W * 3), shape: [2, H, W, 3], info: [], skipped: [],
    boxes: Float32Array.from([0, 0, 3, 3, 1, 1, 1.5, 3, 0, 0, 2, 2, NaN, 0, 2, 2, 1, 1, 4, 4]),
    boxClasses: Int32Array.from([0, 1, 2, 1, 3]),
    boxBatchIndex: Int32Array.from([0, 0, 0, 0, 0]),
    iscrowd: Uint8Array.from([0, 0, 1, 0, 0]),
    instanceMasks: masks,
  };
  const { gts, dropped } = gtFromBatch(batch);
  t.is(dropped, 3); // 0.5 px wide, crowd, NaN
  t.deepEqual([...gts[0].labels], [0, 3]);
  t.deepEqual([...gts[0].boxes], [0, 0, 3, 3, 1, 1, 4, 4]);
  t.deepEqual([...gts[0].masks!], [...masks.subarray(0, H * W), ...masks.subarray(4 * H * W)]);
  t.is(gts[1].labels.length, 0);
  t.is(gts[1].masks!.length, 0);
});
