// Fused LayerNorm kernels (core/kernels/layer-norm) against tf.moments LayerNorm: forward and the
// gradients w.r.t. x, gamma, beta, on cpu and webgpu, for channel counts that exercise every tiling.
import { tf, type Tensor } from '../core/tf.ts';
import { layerNorm, layerNormReference } from '../core/kernels/layer-norm/index.ts';
import { testOnBackends, relErr } from './helpers/backends.ts';

const CASES: Array<[number[], string]> = [
  [[3, 5, 96], '96 channels (32 threads per row)'],
  [[7, 20], '20 channels (fewer than the threads of a row), 7 rows'],
  [[2, 3, 3, 768], '768 channels (128 threads per row)'],
  [[5, 2100], '2100 channels (256 threads, 9 per thread)'],
];

testOnBackends('layerNorm equals the tf.moments LayerNorm: forward and gradients of x, gamma, beta', async (t) => {
  for (const [shape, what] of CASES) {
    const C = shape[shape.length - 1];
    const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 3), 0.5);
    const gamma = tf.randomNormal([C], 1, 0.2, 'float32', 2);
    const beta = tf.randomNormal([C], 0, 0.2, 'float32', 3);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 4);
    const run = (f: (a: Tensor, b: Tensor, c: Tensor) => Tensor) => {
      const y = f(x, gamma, beta);
      const grads = tf.grads((a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(f(a, b, c), w)))([x, gamma, beta]);
      return [y, ...grads];
    };
    const ours = run((a, b, c) => layerNorm(a, b, c, 1e-5));
    const ref = run((a, b, c) => layerNormReference(a, b, c, 1e-5));
    const names = ['y', 'dx', 'dgamma', 'dbeta'];
    for (let i = 0; i < 4; i++) {
      const [a, b] = await Promise.all([ours[i].data(), ref[i].data()]);
      const e = relErr(a, b);
      t.true(e < 2e-5, `${what}: ${names[i]} rel err ${e}`);
    }
    tf.dispose([x, gamma, beta, w, ...ours, ...ref]);
  }
});

testOnBackends('layerNorm rejects parameters of the wrong size', (t) => {
  const x = tf.zeros([2, 8]);
  t.throws(() => layerNorm(x, tf.ones([7]), tf.zeros([8]), 1e-5), { message: /must be \(8\)/ });
  t.throws(() => layerNorm(x, tf.ones([8]), tf.zeros([8]), 0), { message: /eps must be > 0/ });
});
