// TaskAlignedAssigner against a hand-worked case (values derived in float64 from the definitions in
// ultralytics/utils/tal.py), and the v8 loss on it: candidates inside the GT, align = s^0.5 IoU^6
// (CIoU clamped at 0), top-k per GT, an anchor claimed by two GTs goes to the one of larger IoU,
// target scores = align * maxIoU / maxAlign per GT. topk = 3 here so that the selection matters.
//
// 4x4 anchors at stride 1 (centres x+0.5, y+0.5; index y*4 + x). GT A = (0,0,3,3) class 0 (9 anchors
// inside), GT B = (2,2,4,4) class 1 (anchors 10, 11, 14, 15). Predicted boxes: anchor 5 = A exactly
// (CIoU 1), anchor 0 = A shrunk to (0.75,0.75,2.25,2.25) (same centre: CIoU = IoU = 0.25), anchor 10 =
// (1.5,1.5,3.5,3.5) (CIoU with A 0.1276697, with B 0.3513043), anchors 11 = (3,2,4,3) and
// 15 = (3,3,4,4) (quarters of B: IoU 0.25 - rho^2/c^2 0.0625 = 0.1875), all others far away.
// Scores: class 0: 0.81 at 5, 0.64 at 0, 0.25 at 10; class 1: 0.49 at 10, 0.04 at 11, 0.01 at 15;
// 0.01 elsewhere.
//   A: align 5 = 0.9 * 1, 0 = 0.8 * 0.25^6 = 1.953e-4, 10 = 0.5 * 0.12767^6 = 2.165e-6 -> top-3 {5, 0, 10}
//   B: align 10 = 0.7 * 0.3513^6 = 1.3158e-3, 11 = 0.2 * 0.1875^6 = 8.69e-6, 15 = 4.345e-6 -> {10, 11, 15}
//   anchor 10 claimed twice -> B (IoU 0.351 > 0.128). Target scores: A: 5 -> 1.0 (maxIoU 1), 0 ->
//   1.953e-4 / 0.9 = 2.1701e-4; B: 10 -> 0.3513043, 11 -> 8.69e-6 * 0.3513 / 1.3158e-3 = 2.32018e-3,
//   15 -> 1.16009e-3.
import { tf } from '../core/tf.ts';
import { testOnBackends } from './helpers/backends.ts';
import { assign, assignNoGrad } from '../heads/yolo/assigner.ts';
import { stopGradient } from '../heads/yolo/boxes.ts';

function caseInputs() {
  const A = 16, C = 2;
  const anchors = new Float32Array(A * 2);
  for (let i = 0; i < A; i++) { anchors[2 * i] = (i % 4) + 0.5; anchors[2 * i + 1] = Math.floor(i / 4) + 0.5; }
  const boxes = new Float32Array(A * 4);
  for (let i = 0; i < A; i++) boxes.set([20, 20, 21, 21], 4 * i);
  boxes.set([0, 0, 3, 3], 4 * 5);
  boxes.set([0.75, 0.75, 2.25, 2.25], 4 * 0);
  boxes.set([1.5, 1.5, 3.5, 3.5], 4 * 10);
  boxes.set([3, 2, 4, 3], 4 * 11);
  boxes.set([3, 3, 4, 4], 4 * 15);
  const scores = new Float32Array(A * C).fill(0.01);
  scores[5 * C] = 0.81; scores[0 * C] = 0.64; scores[10 * C] = 0.25;
  scores[10 * C + 1] = 0.49; scores[11 * C + 1] = 0.04; scores[15 * C + 1] = 0.01;
  return {
    pdScores: tf.tensor3d(scores, [1, A, C]),
    pdBboxes: tf.tensor3d(boxes, [1, A, 4]),
    anchors: tf.tensor2d(anchors, [A, 2]),
    // a padding slot (mask 0) must select nothing
    gtLabels: tf.tensor2d([[0, 1, 0]], [1, 3]),
    gtBboxes: tf.tensor3d([[[0, 0, 3, 3], [2, 2, 4, 4], [0, 0, 0, 0]]]),
    maskGt: tf.tensor2d([[1, 1, 0]]),
  };
}

const OPTS = { topk: 3, alpha: 0.5, beta: 6, eps: 1e-9 };

testOnBackends('task-aligned assignment of a hand-worked case', async (t) => {
  const inp = caseInputs();
  const a = assign(inp, OPTS);
  const fg = Array.from(await a.fg.data()); // GPU->CPU: test read
  const idx = Array.from(await a.targetGtIdx!.data());
  const ts = await a.targetScores.data();
  const tb = await a.targetBboxes.data();
  const pos = fg.flatMap((v, i) => (v ? [i] : []));
  t.deepEqual(pos, [0, 5, 10, 11, 15]);
  t.deepEqual([0, 5, 10, 11, 15].map((i) => idx[i]), [0, 0, 1, 1, 1]);
  const expect: Record<number, [number, number]> = { 5: [0, 1.0], 0: [0, 2.1701389e-4], 10: [1, 0.3513040], 11: [1, 2.320179e-3], 15: [1, 1.160090e-3] };
  for (let i = 0; i < 16; i++) {
    for (let c = 0; c < 2; c++) {
      const want = expect[i] && expect[i][0] === c ? expect[i][1] : 0;
      const got = ts[i * 2 + c];
      t.true(Math.abs(got - want) <= 2e-4 * Math.max(want, 1e-3), `anchor ${i} class ${c}: ${got} vs ${want}`);
    }
  }
  t.deepEqual(Array.from(tb.subarray(4 * 10, 4 * 10 + 4)), [2, 2, 4, 4], 'anchor 10 carries box B');
  t.deepEqual(Array.from(tb.subarray(0, 4)), [0, 0, 3, 3]);
  tf.dispose([...Object.values(inp), a.fg, a.targetGtIdx!, a.targetScores, a.targetBboxes]);
});

testOnBackends('no ground truth: everything background', async (t) => {
  const inp = caseInputs();
  const a = assign({ ...inp, gtLabels: tf.zeros([1, 0]), gtBboxes: tf.zeros([1, 0, 4]), maskGt: tf.zeros([1, 0]) }, OPTS);
  t.is((await a.fg.sum().data())[0], 0);
  t.is((await a.targetScores.sum().data())[0], 0);
});

testOnBackends('assignNoGrad inside a gradient: same targets, no gradient through the assignment', async (t) => {
  const inp = caseInputs();
  const ref = assign(inp, OPTS);
  const refScores = await ref.targetScores.data();
  // d/dscores of sum(target_scores * scores): only the explicit factor, the assignment is a constant
  const g = tf.grad((s: tf.Tensor) => {
    const a = assignNoGrad({ ...inp, pdScores: stopGradient(s) }, OPTS);
    return tf.sum(tf.mul(a.targetScores, s));
  })(inp.pdScores);
  const gv = await g.data();
  for (let i = 0; i < gv.length; i++) t.true(Math.abs(gv[i] - refScores[i]) < 1e-6, `grad ${i}: ${gv[i]} vs ${refScores[i]}`);
});
