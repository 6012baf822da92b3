// NMS and the validation statistics against hand-worked cases: torchvision's greedy NMS (IoU > iou
// suppresses, ties by index), ultralytics' class-aware non_max_suppression (candidate filter,
// multi-label for val, best class for predict, max_det), scale_boxes back to the source image,
// match_predictions at IoU 0.5:0.95 and ap_per_class's precision / recall.
import test from 'ava';
import { iouXyxy, nms, nonMaxSuppression, toSourceBoxes, NMS_PREDICT, NMS_VAL } from '../heads/yolo/nms.ts';
import { matchPredictions, precisionRecall, smooth } from '../train/yolo/metrics.ts';

// b0 (0,0,10,10) .9 c0; b1 (1,1,11,11) .8 c0: IoU(b0) = 81/119 = 0.68 -> kept at 0.7;
// b2 (0,0,10,9) .85 c0: IoU(b0) = 90/100 = 0.9 -> suppressed; b3 = b0's box, class 1, .7 -> kept unless
// agnostic; b4 (20,20,30,30) .6 c0 -> kept.
const boxes = [0, 0, 10, 10, 1, 1, 11, 11, 0, 0, 10, 9, 0, 0, 10, 10, 20, 20, 30, 30];
const scores = [0.9, 0.8, 0.85, 0.7, 0.6];
const classes = [0, 0, 0, 1, 0];

test('IoU without +1, as torchvision', (t) => {
  t.is(iouXyxy(boxes, 0, boxes, 1), 81 / 119);
  t.is(iouXyxy(boxes, 0, boxes, 2), 0.9);
  t.is(iouXyxy(boxes, 0, boxes, 4), 0);
});

test('greedy NMS: class-aware and agnostic', (t) => {
  t.deepEqual([...nms(boxes, scores, 0.7, classes)], [0, 1, 3, 4]);
  t.deepEqual([...nms(boxes, scores, 0.7)], [0, 1, 4]);
  t.deepEqual([...nms(boxes, scores, 0.6, classes)], [0, 3, 4], 'at 0.6 b1 goes too');
  // IoU exactly at the threshold is kept (strictly greater suppresses)
  t.deepEqual([...nms([0, 0, 10, 10, 0, 0, 10, 9], [1, 0.5], 0.9)], [0, 1]);
  // equal scores: the lower index first
  t.deepEqual([...nms([0, 0, 10, 10, 0, 0, 10, 10], [0.5, 0.5], 0.5)], [0]);
});

/** predictions (A, 4 + nc) rows: cx cy w h p0 p1 */
function preds(): Float32Array {
  return Float32Array.from([
    5, 5, 10, 10, 0.9, 0.3, // b0
    6, 6, 10, 10, 0.8, 0.1, // b1
    5, 4.5, 10, 9, 0.85, 0.0, // b2
    25, 25, 10, 10, 0.0005, 0.2, // best class 1 at 0.2: below predict conf, above val conf
    40, 40, 4, 4, 0.0005, 0.0008, // below every threshold
  ]);
}

test('non_max_suppression: predict (best class, conf 0.25) and val (multi-label, conf 0.001)', (t) => {
  const p = nonMaxSuppression(preds(), 5, 2, NMS_PREDICT);
  t.is(p.count, 2);
  t.deepEqual([...p.scores].map((v) => +v.toFixed(4)), [0.9, 0.8]);
  t.deepEqual([...p.classes], [0, 0]);
  t.deepEqual([...p.boxes], [0, 0, 10, 10, 1, 1, 11, 11]);
  const v = nonMaxSuppression(preds(), 5, 2, NMS_VAL);
  // candidates above 0.001: (b0, c0) .9, (b0, c1) .3, (b1, c0) .8, (b1, c1) .1, (b2, c0) .85, (b3, c1) .2
  // class 0: b0 keeps, b2 suppressed, b1 kept; class 1: b0's box .3, b3 .2, b1's box .1 suppressed by b0's (0.68 < 0.7: kept)
  t.deepEqual([...v.scores].map((x) => +x.toFixed(4)), [0.9, 0.8, 0.3, 0.2, 0.1]);
  t.deepEqual([...v.classes], [0, 0, 1, 1, 1]);
  const capped = nonMaxSuppression(preds(), 5, 2, { ...NMS_VAL, maxDet: 2 });
  t.deepEqual([...capped.scores].map((x) => +x.toFixed(4)), [0.9, 0.8]);
  const only1 = nonMaxSuppression(preds(), 5, 2, { ...NMS_VAL, classes: [1] });
  t.deepEqual([...only1.classes], [1, 1, 1]);
  t.throws(() => nonMaxSuppression(preds(), 5, 2, { ...NMS_VAL, conf: 2 }), { message: /conf must be in/ });
  t.throws(() => nonMaxSuppression(preds(), 4, 2, NMS_VAL), { message: /values for 4 anchors/ });
});

test('scale_boxes: letterbox map inverted, clipped to the source image', (t) => {
  // a 100x50 image letterboxed into 64x64: scale 0.64, pad top (64 - 32) / 2 = 16
  const map = { sx: 0.64, sy: 0.64, tx: 0, ty: 16 };
  const b = toSourceBoxes(Float32Array.from([6.4, 22.4, 32, 48, -3, 10, 70, 60]), map, 100, 50);
  t.deepEqual([...b].map((v) => +v.toFixed(3)), [10, 10, 50, 50, 0, 0, 100, 50]);
});

test('match_predictions: pairs above each threshold, one per prediction, then per GT the lowest prediction index', (t) => {
  // ultralytics sorts pairs by IoU, keeps each prediction's best pair, then np.unique over the GT column keeps
  // the first row in prediction order: with predictions in confidence order, the most confident match wins.
  // GT g0 (0,0,10,10) c0, g1 (20,0,30,10) c0. p0 (0,0,10,8.8) c0: IoU(g0) .88; p1 = g0's box, class 1;
  // p2 = g0's box, c0: IoU 1; p3 (20,0,30,6.2) c0: IoU(g1) .62.
  const gt = [0, 0, 10, 10, 20, 0, 30, 10];
  const pb = [0, 0, 10, 8.8, 0, 0, 10, 10, 0, 0, 10, 10, 20, 0, 30, 6.2];
  const c = matchPredictions(pb, [0, 1, 0, 0], gt, [0, 0]);
  t.deepEqual([...c[0]], [1, 0, 0, 1], 'IoU 0.50: g0 -> p0 (lower index), g1 -> p3');
  t.deepEqual([...c[2]], [1, 0, 0, 1], 'IoU 0.60');
  t.deepEqual([...c[3]], [1, 0, 0, 0], 'IoU 0.65: p3 (0.62) no longer matches');
  t.deepEqual([...c[7]], [1, 0, 0, 0], 'IoU 0.85');
  t.deepEqual([...c[8]], [0, 0, 1, 0], 'IoU 0.90: only p2 qualifies');
  t.deepEqual([...c[9]], [0, 0, 1, 0], 'IoU 0.95');
  t.deepEqual(matchPredictions(pb, [0, 1, 0, 0], [], []).map((r) => [...r].join('')), new Array(10).fill('0000'), 'no GT');
});

test('smooth: odd box filter with edge padding', (t) => {
  // len 10, f 0.25: nf = round(10 * 0.25 * 2) // 2 + 1 = 5 // 2 + 1 = 3 -> a 3-wide mean, ends padded
  const s = smooth([0, 0, 3, 0, 0, 0, 0, 0, 0, 9], 0.25);
  t.deepEqual([...s], [0, 1, 1, 1, 0, 0, 0, 0, 3, 6]);
  // f 0.1 on 1000 points (ap_per_class): width 101
  const one = new Float64Array(1000);
  one[500] = 101;
  const w = smooth(one, 0.1);
  t.is(w[500], 1);
  t.is(w[450], 1);
  t.is(w[449], 0);
});

test('ap_per_class precision / recall at the max mean-F1 confidence', (t) => {
  // one class, 2 labels; detections by confidence: TP .9, FP .8, TP .7 -> the F1 curve peaks at the lowest
  // confidence with both TPs (P = 2/3, R = 1); with smoothing the argmax stays in that flat region
  const r = precisionRecall([1, 0, 1], [0.9, 0.8, 0.7], [0, 0, 0], [0, 0]);
  t.true(Math.abs(r.recall - 1) < 1e-6, `recall ${r.recall}`);
  t.true(Math.abs(r.precision - 2 / 3) < 1e-6, `precision ${r.precision}`);
  // a class with labels but no predictions counts with P = R = 0 in the mean
  const two = precisionRecall([1, 0, 1], [0.9, 0.8, 0.7], [0, 0, 0], [0, 0, 1]);
  t.true(Math.abs(two.recall - 0.5) < 1e-6 && Math.abs(two.precision - 1 / 3) < 1e-6, `${JSON.stringify(two)}`);
  t.deepEqual(precisionRecall([], [], [], []), { precision: 0, recall: 0 });
});
