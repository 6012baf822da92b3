// Semantic-segmentation metrics (mmseg IoUMetric) on a confusion worked out by hand.
import test from 'ava';
import { SegMetric } from '../eval/seg-metrics.ts';

// 2 x 3 maps, 4 classes (class 3 appears nowhere), one ignored pixel (255):
//   label 0 0 1      pred 0 1 1
//         1 2 255         1 2 0
// kept pixels (label, pred): (0,0) (0,1) (1,1) (1,1) (2,2)
//   intersect   c0 1, c1 2, c2 1, c3 0
//   pred area   c0 1, c1 3, c2 1, c3 0
//   label area  c0 2, c1 2, c2 1, c3 0
//   union       c0 2, c1 3, c2 1, c3 0 -> IoU .5, 2/3, 1, NaN (left out) -> mIoU 13/18
//   Acc         1/2, 1, 1, NaN -> mAcc 5/6;  aAcc 4/5;  Dice 2/3, 4/5, 1 -> mDice 37/45
const label = [0, 0, 1, 1, 2, 255];
const pred = [0, 1, 1, 1, 2, 0];

test('hand-computed confusion: mIoU 13/18, mAcc 5/6, aAcc 4/5', (t) => {
  const m = new SegMetric({ numClasses: 4 });
  m.update(pred, label);
  const r = m.compute();
  const near = (a: number, b: number) => t.true(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  near(r.mIoU, 13 / 18);
  near(r.mAcc, 5 / 6);
  near(r.aAcc, 4 / 5);
  near(r.mDice, (2 / 3 + 4 / 5 + 1) / 3);
  t.deepEqual(r.perClass.map((c) => c.iou).slice(0, 3), [0.5, 2 / 3, 1]);
  t.true(Number.isNaN(r.perClass[3].iou));
  t.is(r.pixels, 5);
  // confusion [label][pred]
  t.deepEqual(Array.from(m.confusion.subarray(0, 4)), [1, 1, 0, 0]);
  t.deepEqual(Array.from(m.confusion.subarray(4, 8)), [0, 2, 0, 0]);
});

test('batches accumulate: two halves give the same totals as the whole', (t) => {
  const whole = new SegMetric({ numClasses: 4 });
  whole.update(pred, label);
  const parts = new SegMetric({ numClasses: 4 });
  parts.update(pred.slice(0, 3), label.slice(0, 3));
  parts.update(pred.slice(3), label.slice(3));
  t.deepEqual(parts.compute(), whole.compute());
  parts.reset();
  t.is(parts.pixels, 0);
  t.true(Number.isNaN(parts.compute().mIoU));
});

test('out-of-range values count in no histogram (torch.histc), reduceZeroLabel shifts ADE20K labels', (t) => {
  // prediction 7 with 3 classes: the pixel still counts as labelled class 0 but in no prediction bin
  const m = new SegMetric({ numClasses: 3 });
  m.update(Uint8Array.from([7, 0]), Uint8Array.from([0, 0]));
  const r = m.compute();
  t.is(r.perClass[0].iou, 1 / 2); // intersect 1, pred 1, label 2
  t.is(r.aAcc, 1 / 2);
  // reduce_zero_label: 0 -> ignored, k -> k-1, 255 stays ignored
  const z = new SegMetric({ numClasses: 2, reduceZeroLabel: true });
  z.update([0, 0, 1, 1], [0, 1, 2, 255]); // kept: label 1 -> 0 (pred 0), label 2 -> 1 (pred 1)
  const rz = z.compute();
  t.is(rz.pixels, 2); // labels 1 -> 0 and 2 -> 1 kept
  t.deepEqual(rz.perClass.map((c) => c.acc), [1, 1]);
});

test('bad input names the problem', (t) => {
  t.throws(() => new SegMetric({ numClasses: 0 }), { message: /positive integer/ });
  t.throws(() => new SegMetric({ numClasses: 2 }).update([0, 1], [0]), { message: /2 pixels, label 1/ });
});
