// Weight-gradient kernels (core/kernels/weight-grad) against tfjs: matMulTN vs matMul(a, b, true),
// the conv filter gradient vs tfjs' conv2d gradient, and the linear / conv2d ops (forward and all
// gradients) vs their composites, on cpu and webgpu. Sizes cover partial tiles and split k.
import { tf, type Tensor } from '../core/tf.ts';
import { matMulTN, conv2dFilterGrad, columnSum, linear, linearReference, conv2d, conv2dReference, type ConvAttrs } from '../core/kernels/weight-grad/index.ts';
import { testOnBackends, relErr } from './helpers/backends.ts';

async function close(t: { true(v: boolean, m: string): void }, what: string, a: Tensor, b: Tensor, tol = 2e-5) {
  t.true(tf.util.arraysEqual(a.shape, b.shape), `${what}: shape [${a.shape}] vs [${b.shape}]`);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  const e = relErr(x, y);
  t.true(e < tol, `${what}: rel err ${e}`);
}

testOnBackends('matMulTN equals matMul(a, b, transposeA) (2-D with split k, batched, partial tiles)', async (t) => {
  for (const [as, bs] of [[[3000, 70], [3000, 130]], [[4, 600, 5], [4, 600, 96]], [[17, 3], [17, 2]]]) {
    const a = tf.randomNormal(as, 0, 1, 'float32', 1), b = tf.randomNormal(bs, 0, 1, 'float32', 2);
    await close(t, `[${as}]^T [${bs}]`, matMulTN(a, b), tf.matMul(a, b, true, false));
    tf.dispose([a, b]);
  }
  await close(t, 'columnSum', columnSum(tf.range(0, 3 * 700).reshape([3, 700, 1]).tile([1, 1, 5]).reshape([2100, 5])), tf.sum(tf.range(0, 2100).reshape([2100, 1]).tile([1, 5]), 0), 1e-6);
  t.throws(() => matMulTN(tf.zeros([3, 4]), tf.zeros([4, 3])), { message: /must be \(batch\?, K, M\)/ });
});

const CONVS: Array<{ x: number[]; w: number[]; a: ConvAttrs }> = [
  { x: [2, 16, 16, 3], w: [3, 3, 3, 8], a: { strides: [2, 2], pads: [1, 1], dilations: [1, 1] } },
  { x: [3, 9, 7, 12], w: [3, 3, 12, 20], a: { strides: [1, 1], pads: [1, 1], dilations: [1, 1] } },
  { x: [2, 8, 8, 6], w: [2, 2, 6, 10], a: { strides: [2, 2], pads: [0, 0], dilations: [1, 1] } },
  { x: [1, 11, 11, 4], w: [4, 4, 4, 5], a: { strides: [4, 4], pads: [0, 0], dilations: [1, 1] } },
];

testOnBackends('conv2dFilterGrad equals the tfjs conv2d filter gradient; conv2d op forward and gradients', async (t) => {
  for (const c of CONVS) {
    const what = `x [${c.x}] w [${c.w}] s${c.a.strides} p${c.a.pads}`;
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 3), w = tf.randomNormal(c.w, 0, 0.3, 'float32', 4), b = tf.randomNormal([c.w[3]], 0, 0.3, 'float32', 5);
    const yRef = conv2dReference(x, w, b, c.a);
    const dy = tf.randomNormal(yRef.shape, 0, 1, 'float32', 6);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [c.a.pads[0], c.a.pads[0]], [c.a.pads[1], c.a.pads[1]], [0, 0]];
    const dwRef = tf.grad((wi: Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, wi as tf.Tensor4D, c.a.strides, pad), dy)))(w);
    await close(t, `${what}: conv2dFilterGrad`, conv2dFilterGrad(x, dy, c.w, c.a), dwRef);
    await close(t, `${what}: forward`, conv2d(x, w, b, c.a), yRef);
    const g = tf.grads((xi: Tensor, wi: Tensor, bi: Tensor) => tf.sum(tf.mul(conv2d(xi, wi, bi, c.a), dy)))([x, w, b]);
    const r = tf.grads((xi: Tensor, wi: Tensor, bi: Tensor) => tf.sum(tf.mul(conv2dReference(xi, wi, bi, c.a), dy)))([x, w, b]);
    for (let i = 0; i < 3; i++) await close(t, `${what}: grad ${['x', 'w', 'bias'][i]}`, g[i], r[i]);
    tf.dispose([x, w, b, yRef, dy, dwRef, ...g, ...r]);
  }
});

testOnBackends('linear op equals x W^T + b: forward and gradients (with and without bias)', async (t) => {
  const x = tf.randomNormal([1500, 40], 0, 1, 'float32', 7), w = tf.randomNormal([24, 40], 0, 0.2, 'float32', 8), b = tf.randomNormal([24], 0, 0.2, 'float32', 9);
  const dy = tf.randomNormal([1500, 24], 0, 1, 'float32', 10);
  await close(t, 'forward', linear(x, w, b), linearReference(x, w, b));
  const g = tf.grads((xi: Tensor, wi: Tensor, bi: Tensor) => tf.sum(tf.mul(linear(xi, wi, bi), dy)))([x, w, b]);
  const r = tf.grads((xi: Tensor, wi: Tensor, bi: Tensor) => tf.sum(tf.mul(linearReference(xi, wi, bi), dy)))([x, w, b]);
  for (let i = 0; i < 3; i++) await close(t, `grad ${['x', 'w', 'bias'][i]}`, g[i], r[i]);
  const g2 = tf.grads((xi: Tensor, wi: Tensor) => tf.sum(tf.mul(linear(xi, wi, null), dy)))([x, w]);
  const r2 = tf.grads((xi: Tensor, wi: Tensor) => tf.sum(tf.mul(linearReference(xi, wi, null), dy)))([x, w]);
  for (let i = 0; i < 2; i++) await close(t, `no bias: grad ${['x', 'w'][i]}`, g2[i], r2[i]);
  const xb = tf.randomNormal([3, 700, 6], 0, 1, 'float32', 11), wb = tf.randomNormal([3, 20, 6], 0, 0.3, 'float32', 12), dyb = tf.randomNormal([3, 700, 20], 0, 1, 'float32', 13);
  const gb = tf.grads((xi: Tensor, wi: Tensor) => tf.sum(tf.mul(linear(xi, wi, null), dyb)))([xb, wb]);
  const rb = tf.grads((xi: Tensor, wi: Tensor) => tf.sum(tf.mul(linearReference(xi, wi, null), dyb)))([xb, wb]);
  for (let i = 0; i < 2; i++) await close(t, `batched: grad ${['x', 'w'][i]}`, gb[i], rb[i]);
  t.throws(() => linear(tf.zeros([2, 3]), tf.zeros([4, 5]), null), { message: /must be \(rows, 5\)/ });
});
