// YOLOv8 box arithmetic against hand-computed cases: CIoU (ultralytics bbox_iou, xyxy, eps on the
// heights), its gradient with alpha held constant, make_anchors, dist2bbox / bbox2dist, the DFL
// expectation of the Detect head and the DFL loss.
import test from 'ava';
import { tf } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { bboxIou, bbox2dist, dist2bbox, makeAnchors, xywh2xyxy } from '../heads/yolo/boxes.ts';
import { DFL } from '../heads/yolo/detect.ts';
import { dflLoss } from '../heads/yolo/loss.ts';

test.before(async () => {
  await setBackend('cpu');
});

const near = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('CIoU of hand-worked pairs', async (t) => {
  const b1 = tf.tensor2d([[0, 0, 2, 2], [0, 0, 4, 2], [0, 0, 3, 3], [0, 0, 1, 1]]);
  const b2 = tf.tensor2d([[1, 1, 3, 3], [0, 0, 2, 4], [0, 0, 3, 3], [5, 5, 6, 6]]);
  const ciou = await bboxIou(b1, b2, { ciou: true }).data();
  const iou = await bboxIou(b1, b2).data();
  // 1) squares offset by (1, 1): IoU 1/7; enclosing 3x3 -> c^2 = 18; centre distance^2 = 2; v = 0 -> 1/7 - 1/9
  t.true(near(iou[0], 1 / 7), `iou ${iou[0]}`);
  t.true(near(ciou[0], 1 / 7 - 2 / 18), `ciou ${ciou[0]}`);
  // 2) 4x2 and 2x4 from the origin: IoU 4/12; c^2 = 32; rho^2 = 2; v = 4/pi^2 (atan 1/2 - atan 2)^2 = 0.1678279,
  //    alpha = v / (v - IoU + 1) = 0.2011137 -> 1/3 - 1/16 - v alpha = 0.2370817
  t.true(near(iou[1], 1 / 3), `iou ${iou[1]}`);
  t.true(near(ciou[1], 0.2370817), `ciou ${ciou[1]}`);
  // 3) identical boxes: 1 (up to the eps of the heights); 4) disjoint: IoU 0, CIoU = -rho^2/c^2 = -50/72
  t.true(near(ciou[2], 1, 1e-6));
  t.is(iou[3], 0);
  t.true(near(ciou[3], -(5 * 5 + 5 * 5) / (6 * 6 + 6 * 6)), `ciou ${ciou[3]}`);
  // xywh mode gives the same IoU for the same boxes
  const xywh = await bboxIou(tf.tensor2d([[1, 1, 2, 2]]), tf.tensor2d([[2, 2, 2, 2]]), { xywh: true }).data();
  t.true(near(xywh[0], 1 / 7));
});

test('CIoU gradient treats alpha as a constant (torch.no_grad)', async (t) => {
  const b2 = tf.tensor2d([[0, 0, 2, 4]]);
  const g = await tf.grad((b: tf.Tensor) => tf.sum(bboxIou(b, b2, { ciou: true })))(tf.tensor2d([[0, 0, 4, 2]])).data();
  // finite differences of IoU - rho^2/c^2 - v * alpha0 with alpha0 fixed at the point
  const f = (x2: number, alpha: number | null) => {
    const eps = 1e-7;
    const w1 = x2, h1 = 2 + eps, w2 = 2, h2 = 4 + eps;
    const inter = Math.min(x2, 2) * 2;
    const iou = inter / (w1 * h1 + w2 * h2 - inter + eps);
    const cw = Math.max(x2, 2), ch = 4;
    const rho2 = ((2 - x2) ** 2 + (4 - 2) ** 2) / 4;
    const v = (4 / Math.PI ** 2) * (Math.atan(w2 / h2) - Math.atan(w1 / h1)) ** 2;
    const a = alpha ?? v / (v - iou + 1 + eps);
    return { value: iou - rho2 / (cw * cw + ch * ch + eps) - v * a, alpha: a };
  };
  const a0 = f(4, null).alpha;
  const h = 1e-4;
  const fd = (f(4 + h, a0).value - f(4 - h, a0).value) / (2 * h);
  t.true(Math.abs(g[2] - fd) < 1e-3, `d/dx2 ${g[2]} vs ${fd}`);
  const fdFull = (f(4 + h, null).value - f(4 - h, null).value) / (2 * h);
  t.true(Math.abs(fd - fdFull) > 1e-3, 'the test distinguishes the two (alpha has a derivative of its own)');
});

test('make_anchors: cell centres row-major per level, strides', (t) => {
  const a = makeAnchors([[2, 2], [1, 1]], [8, 16]);
  t.is(a.count, 5);
  t.deepEqual([...a.points], [0.5, 0.5, 1.5, 0.5, 0.5, 1.5, 1.5, 1.5, 0.5, 0.5]);
  t.deepEqual([...a.strides], [8, 8, 8, 8, 16]);
  t.throws(() => makeAnchors([[2, 2]], [8, 16]), { message: /2 strides/ });
});

test('dist2bbox / bbox2dist / xywh2xyxy round trip and clamp', async (t) => {
  const anchors = tf.tensor2d([[2.5, 3.5]]);
  const xyxy = await dist2bbox(tf.tensor2d([[1, 2, 3, 4]]), anchors).data();
  t.deepEqual([...xyxy], [1.5, 1.5, 5.5, 7.5]);
  const xywh = await dist2bbox(tf.tensor2d([[1, 2, 3, 4]]), anchors, true).data();
  t.deepEqual([...xywh], [3.5, 4.5, 4, 6]);
  t.deepEqual([...(await xywh2xyxy(tf.tensor2d([[3.5, 4.5, 4, 6]])).data())], [1.5, 1.5, 5.5, 7.5]);
  const d = await bbox2dist(anchors, tf.tensor2d([[1.5, 1.5, 5.5, 40]]), 15).data();
  // ltrb (1, 2, 3, 36.5) clamped to reg_max - 1 - 0.01 = 14.99
  t.true(near(d[0], 1) && near(d[1], 2) && near(d[2], 3) && near(d[3], 14.99), `${[...d]}`);
  const neg = await bbox2dist(anchors, tf.tensor2d([[3, 4, 5, 6]]), 15).data();
  t.deepEqual([...neg].map((v) => +v.toFixed(5)), [0, 0, 2.5, 2.5]);
});

test('DFL: softmax expectation over the fixed bins 0..15', async (t) => {
  const dfl = new DFL(16);
  t.is(dfl.conv.weight.trainable, false);
  const logits = new Float32Array(64);
  // side 0 uniform -> 7.5; side 1 all mass on bin 3; side 2 bins 2 and 5 equal -> 3.5; side 3 on bin 15
  for (let k = 0; k < 16; k++) logits[16 + k] = k === 3 ? 50 : -50;
  for (let k = 0; k < 16; k++) logits[32 + k] = k === 2 || k === 5 ? 50 : -50;
  for (let k = 0; k < 16; k++) logits[48 + k] = k === 15 ? 50 : -50;
  const out = await dfl.forward(tf.tensor2d(logits, [1, 64])).data();
  t.deepEqual([...out].map((v) => +v.toFixed(4)), [7.5, 3, 3.5, 15]);
});

test('DFL loss: hand-worked cross entropies', async (t) => {
  const R = 16;
  const uniform = tf.zeros([1, 4, R]);
  // uniform logits: -log(1/16) whatever the target
  const u = await dflLoss(uniform, tf.tensor2d([[0, 2.3, 7, 14.99]])).data();
  t.true(near(u[0], Math.log(16)), `${u[0]}`);
  // bin 2 has logit ln 3: p2 = 3/18, others 1/18; t = 2.25 -> -(0.75 ln(3/18) + 0.25 ln(1/18)) = 2.0664125
  const l = new Float32Array(4 * R);
  for (let s = 0; s < 4; s++) l[s * R + 2] = Math.log(3);
  const v = await dflLoss(tf.tensor3d(l, [1, 4, R]), tf.tensor2d([[2.25, 2.25, 2.25, 2.25]])).data();
  t.true(near(v[0], 2.0664125), `${v[0]}`);
  // an integer target puts all weight on its bin: -ln(3/18)
  const w = await dflLoss(tf.tensor3d(l, [1, 4, R]), tf.tensor2d([[2, 2, 2, 2]])).data();
  t.true(near(w[0], -Math.log(3 / 18)), `${w[0]}`);
});
