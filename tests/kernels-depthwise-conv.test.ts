// Depthwise conv kernels (core/kernels/depthwise-conv) against tf.depthwiseConv2d + bias: forward and
// the gradients of x, the filter and the bias, on cpu and webgpu (3x3 same padding with vec4
// channels, odd channels, stride 2, dilation 2, 5x5 without bias).
import { tf, type Tensor } from '../core/tf.ts';
import { depthwiseConv2d, depthwiseConvReference, type DwConvAttrs } from '../core/kernels/depthwise-conv/index.ts';
import { testOnBackends, relErr } from './helpers/backends.ts';

const CASES: Array<{ x: number[]; k: number; bias: boolean; a: DwConvAttrs }> = [
  { x: [2, 9, 9, 8], k: 3, bias: true, a: { strides: [1, 1], pads: [1, 1], dilations: [1, 1] } },
  { x: [3, 7, 6, 5], k: 3, bias: true, a: { strides: [1, 1], pads: [1, 1], dilations: [1, 1] } },
  { x: [2, 10, 11, 12], k: 3, bias: true, a: { strides: [2, 2], pads: [1, 1], dilations: [1, 1] } },
  { x: [1, 12, 12, 4], k: 3, bias: false, a: { strides: [1, 1], pads: [2, 2], dilations: [2, 2] } },
  { x: [2, 8, 8, 6], k: 5, bias: false, a: { strides: [1, 2], pads: [2, 1], dilations: [1, 1] } },
];

function dilatedReference(x: Tensor, w: Tensor, b: Tensor | null, a: DwConvAttrs): Tensor {
  const [k, , C] = w.shape;
  const d = a.dilations[0];
  const e = (k - 1) * d + 1;
  // rank <= 4 throughout (tfjs-webgpu's rank-5 pad shader does not compile)
  const rows = tf.slice(tf.pad(w.reshape([k, 1, k * C]), [[0, 0], [0, d - 1], [0, 0]]).reshape([k * d, k, C]), [0, 0, 0], [e, k, C]);
  const wd = tf.slice(tf.pad(rows.reshape([e * k, 1, C]), [[0, 0], [0, d - 1], [0, 0]]).reshape([e, k * d, C]), [0, 0, 0], [e, e, C]).reshape([e, e, C, 1]);
  return depthwiseConvReference(x, wd, b, { ...a, dilations: [1, 1] });
}

testOnBackends('depthwiseConv2d equals tf.depthwiseConv2d + bias: forward and gradients', async (t) => {
  for (const c of CASES) {
    const C = c.x[3];
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1);
    const w = tf.randomNormal([c.k, c.k, C, 1], 0, 0.5, 'float32', 2);
    const b = c.bias ? tf.randomNormal([C], 0, 0.5, 'float32', 3) : null;
    const what = `x [${c.x}] k${c.k} s${c.a.strides} p${c.a.pads} d${c.a.dilations}${c.bias ? ' bias' : ''}`;
    const yRef = depthwiseConvReference(x, w, b, c.a);
    const dyw = tf.randomNormal(yRef.shape, 0, 1, 'float32', 4);
    const inputs = b ? [x, w, b] : [x, w];
    const run = (f: typeof depthwiseConv2d) => [f(x, w, b, c.a), ...tf.grads((...ins: Tensor[]) => tf.sum(tf.mul(f(ins[0], ins[1], ins[2] ?? null, c.a), dyw)))(inputs)];
    const ours = run(depthwiseConv2d);
    // tfjs has no depthwise gradient with dilation > 1: the reference runs the dilated filter (zeros
    // between the taps, built with a differentiable pad) at dilation 1
    const ref = run(c.a.dilations[0] > 1 ? dilatedReference : depthwiseConvReference);
    const names = ['y', 'dx', 'dw', 'dbias'];
    for (let i = 0; i < ref.length; i++) {
      t.deepEqual(ours[i].shape, ref[i].shape, `${what}: ${names[i]} shape`);
      const [p, q] = await Promise.all([ours[i].data(), ref[i].data()]);
      const e = relErr(p, q);
      t.true(e < 1e-5, `${what}: ${names[i]} rel err ${e}`);
    }
    tf.dispose([x, w, dyw, yRef, ...ours, ...ref]);
    if (b) b.dispose();
  }
});

testOnBackends('depthwiseConv2d rejects a filter of another channel count and an empty output', (t) => {
  const x = tf.zeros([1, 4, 4, 3]);
  t.throws(() => depthwiseConv2d(x, tf.zeros([3, 3, 4, 1]), null, { strides: [1, 1], pads: [1, 1], dilations: [1, 1] }), { message: /filter must be \(KH, KW, 3, 1\)/ });
  t.throws(() => depthwiseConv2d(x, tf.zeros([7, 7, 3, 1]), null, { strides: [1, 1], pads: [0, 0], dilations: [1, 1] }), { message: /empty/ });
});
