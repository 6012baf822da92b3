// Fused elementwise kernels (core/kernels/elementwise) against the tfjs composites: GELU and SiLU
// forward and gradient (values up to |x| = 40, sizes with and without vec4), the DropPath residual
// x + branch * scale[b] and its gradients, on cpu and webgpu.
import { tf, type Tensor } from '../core/tf.ts';
import { geluFused, siluFused, scaledResidual, geluReference, siluReference } from '../core/kernels/elementwise/index.ts';
import { testOnBackends, relErr } from './helpers/backends.ts';

async function compare(t: { true(v: boolean, m: string): void }, what: string, a: Tensor, b: Tensor, tol: number) {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  const e = relErr(x, y);
  t.true(e < tol, `${what}: rel err ${e}`);
}

testOnBackends('gelu and silu equal the composites: forward and gradient', async (t) => {
  for (const shape of [[2, 5, 7], [4, 64]]) {
    const x = tf.concat([tf.mul(tf.randomNormal([shape[0], 1, ...shape.slice(2)], 0, 1, 'float32', 1), 40), tf.randomNormal([shape[0], shape[1] - 1, ...shape.slice(2)], 0, 2, 'float32', 2)], 1);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 3);
    for (const [name, f, ref] of [['gelu', geluFused, geluReference], ['silu', siluFused, siluReference]] as const) {
      await compare(t, `${name} [${shape}] forward`, f(x), ref(x), 1e-6);
      const g = tf.grad((a: Tensor) => tf.sum(tf.mul(f(a), w)))(x);
      const gr = tf.grad((a: Tensor) => tf.sum(tf.mul(ref(a), w)))(x);
      await compare(t, `${name} [${shape}] gradient`, g, gr, 1e-5);
    }
  }
});

testOnBackends('scaledResidual: x + branch * scale[b], gradients dy and dy * scale[b]', async (t) => {
  for (const shape of [[3, 4, 4, 8], [3, 5, 3]]) {
    const x = tf.randomNormal(shape, 0, 1, 'float32', 4);
    const br = tf.randomNormal(shape, 0, 1, 'float32', 5);
    const s = tf.tensor1d([1.25, 0, 1.25]);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 6);
    const bs = s.reshape([3, ...new Array(shape.length - 1).fill(1)]);
    const ref = (a: Tensor, b: Tensor) => tf.add(a, tf.mul(b, bs));
    await compare(t, `[${shape}] forward`, scaledResidual(x, br, s), ref(x, br), 1e-7);
    const [gx, gb] = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(scaledResidual(a, b, s), w)))([x, br]);
    const [rx, rb] = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(ref(a, b), w)))([x, br]);
    await compare(t, `[${shape}] dx`, gx, rx, 1e-7);
    await compare(t, `[${shape}] dbranch`, gb, rb, 1e-7);
  }
  t.throws(() => scaledResidual(tf.zeros([2, 3]), tf.zeros([2, 3]), tf.ones([3])), { message: /scale must be \(2\)/ });
});
