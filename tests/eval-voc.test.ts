// VOC mAP on a case worked out by hand, for both the 11-point and the area metric.
import test from 'ava';
import { vocMap, vocAp, vocIou, type VocImageDet, type VocImageGt } from '../eval/voc-map.ts';

// Class 0. Image A: objects g1 [0,0,9,9], g2 [20,20,29,29] and a difficult one [40,40,49,49];
// image B: g3 [0,0,9,9]. 3 non-difficult objects. Detections by score:
//   .9 A on g1 -> TP          tp 1 fp 0  rec 1/3 prec 1
//   .8 A on g1 again -> FP    tp 1 fp 1  rec 1/3 prec 1/2
//   .7 A on the difficult one -> neither (repeats the point)
//   .6 B on g3 -> TP          tp 2 fp 1  rec 2/3 prec 2/3
//   .5 B elsewhere -> FP      tp 2 fp 2  rec 2/3 prec 1/2      (g2 is never found)
// area: envelope 1 up to rec 1/3, 2/3 up to 2/3, 0 after: 1/3 * 1 + 1/3 * 2/3 = 5/9
// 11-point: t = 0, .1, .2, .3 -> max precision at rec >= t = 1; t = .4, .5, .6 -> 2/3; t >= .7 -> 0:
//   (4 * 1 + 3 * 2/3) / 11 = 6/11
const gts: VocImageGt[] = [
  { boxes: [[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49]], labels: [0, 0, 0], difficult: [false, false, true] },
  { boxes: [[0, 0, 9, 9]], labels: [0] },
];
// detections listed out of score order and split over images
const dets: VocImageDet[] = [
  { boxes: [[40, 40, 49, 49], [0, 0, 9, 9], [0, 0, 9, 9]], scores: [0.7, 0.8, 0.9], labels: [0, 0, 0] },
  { boxes: [[50, 50, 59, 59], [0, 0, 9, 9]], scores: [0.5, 0.6], labels: [0, 0] },
];

test('hand-computed AP: area (VOC2010+) = 5/9, 11-point (VOC2007) = 6/11', (t) => {
  const area = vocMap(dets, gts, { numClasses: 1, metric: 'area' });
  t.true(Math.abs((area.perClass[0].ap as number) - 5 / 9) < 1e-12);
  t.is(area.perClass[0].numGts, 3);
  t.deepEqual(Array.from(area.perClass[0].recalls), [1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3]);
  t.deepEqual(Array.from(area.perClass[0].precisions), [1, 1 / 2, 1 / 2, 2 / 3, 1 / 2]);
  const p11 = vocMap(dets, gts, { numClasses: 1, metric: '11point' });
  t.true(Math.abs((p11.perClass[0].ap as number) - 6 / 11) < 1e-12);
  t.true(Math.abs(p11.mAP - 6 / 11) < 1e-12);
});

test('mAP averages the classes with objects; a class with none is null and left out', (t) => {
  // class 1: one object, found by the only detection -> AP 1; class 2: no objects, one detection
  const g: VocImageGt[] = [{ boxes: [...gts[0].boxes, [60, 60, 69, 69]], labels: [0, 0, 0, 1], difficult: [false, false, true, false] }, gts[1]];
  const d: VocImageDet[] = [
    { boxes: [...dets[0].boxes, [60, 60, 69, 69], [0, 0, 5, 5]], scores: [...dets[0].scores, 0.3, 0.9], labels: [0, 0, 0, 1, 2] },
    dets[1],
  ];
  const r = vocMap(d, g, { numClasses: 3, metric: 'area', classNames: ['a', 'b', 'c'] });
  t.is(r.perClass[1].ap, 1);
  t.is(r.perClass[2].ap, null);
  t.is(r.perClass[2].name, 'c');
  t.true(Math.abs(r.mAP - (5 / 9 + 1) / 2) < 1e-12);
});

test('IoU with VOC inclusive pixels and the threshold comparison (> official, >= mmdet)', (t) => {
  // [0,0,9,9] and [5,0,14,9]: 5 x 10 = 50 shared of 150 with +1 extents
  t.is(vocIou([0, 0, 9, 9], [5, 0, 14, 9], true), 50 / 150);
  t.is(vocIou([0, 0, 10, 10], [5, 0, 15, 10], false), 50 / 150);
  // IoU exactly .5: [0,0,9,9] vs [0,0,19,4]: inter 10*5 = 50, union 100 + 100 - 50... = 150 -> 1/3; use a
  // half box instead: [0,0,9,4] inside [0,0,9,9]: 50 / 100 = .5
  const g: VocImageGt[] = [{ boxes: [[0, 0, 9, 9]], labels: [0] }];
  const d: VocImageDet[] = [{ boxes: [[0, 0, 9, 4]], scores: [0.9], labels: [0] }];
  t.is(vocMap(d, g, { numClasses: 1 }).perClass[0].ap, 0);
  t.is(vocMap(d, g, { numClasses: 1, inclusiveThreshold: true }).perClass[0].ap, 1);
});

test('vocAp on its own: no detections give 0; the area sentinels', (t) => {
  t.is(vocAp([], [], 'area'), 0);
  t.is(vocAp([], [], '11point'), 0);
  // one detection reaching recall .5 with precision 1: area .5; 11-point: t = 0..0.5 (6 points) -> 6/11
  t.is(vocAp([0.5], [1], 'area'), 0.5);
  t.true(Math.abs(vocAp([0.5], [1], '11point') - 6 / 11) < 1e-12);
});

test('bad input names the problem', (t) => {
  t.throws(() => vocMap(dets, gts.slice(0, 1), { numClasses: 1 }), { message: /2 images, ground truth 1/ });
  t.throws(() => vocMap(dets, [gts[0], { boxes: [[0, 0, 9]], labels: [0] }], { numClasses: 1 }), { message: /box 0 must be \[x1, y1, x2, y2\]/ });
  t.throws(() => vocMap(dets, [gts[0], { boxes: [[9, 0, 0, 9]], labels: [0] }], { numClasses: 1 }), { message: /x2 < x1/ });
  t.throws(() => vocMap(dets, gts, { numClasses: 0 }), { message: /positive integer/ });
  t.throws(() => vocMap([dets[0], { boxes: [[0, 0, 1, 1]], scores: [0.5], labels: [4] }], gts, { numClasses: 1 }), { message: /label 4 outside \[0, 1\)/ });
});
