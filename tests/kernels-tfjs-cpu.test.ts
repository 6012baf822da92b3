// The cpu replacements of tfjs' BatchMatMul, _FusedMatMul, Transpose, Tile and Sum
// (core/kernels/tfjs-cpu) against tfjs-backend-cpu's own kernels: the same values bit for bit
// (compared as float32 bit patterns, NaN and -0 included) over transposes, batch broadcasts, k
// longer than tfjs' 48-step block, partial 4x4 tiles, biases, int32/bool copies and unsorted axes.
import test, { type ExecutionContext } from 'ava';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { tfjsCpuKernel } from '../core/kernels/tfjs-cpu/register.ts';

/** f() with the replacements, and f() with tfjs' kernels (SSMV_CUSTOM_KERNELS=0 hands every call to them). */
function both(f: () => Tensor): [Tensor, Tensor] {
  const mine = f();
  const saved = process.env.SSMV_CUSTOM_KERNELS;
  process.env.SSMV_CUSTOM_KERNELS = '0';
  try {
    return [mine, f()];
  } finally {
    if (saved === undefined) delete process.env.SSMV_CUSTOM_KERNELS;
    else process.env.SSMV_CUSTOM_KERNELS = saved;
  }
}

async function identical(t: ExecutionContext, what: string, f: () => Tensor): Promise<void> {
  const [a, b] = both(f);
  t.deepEqual(a.shape, b.shape, `${what}: shape`);
  t.is(a.dtype, b.dtype, `${what}: dtype`);
  const [x, y] = [a.dataSync(), b.dataSync()]; // cpu backend: no GPU sync
  const bits = (v: ArrayLike<number>) => (v instanceof Float32Array ? new Uint32Array(v.buffer, v.byteOffset, v.length) : v);
  const [bx, by] = [bits(x), bits(y)];
  let diff = -1;
  for (let i = 0; i < bx.length && diff < 0; i++) if (bx[i] !== by[i]) diff = i;
  t.true(bx.length === by.length && diff < 0, `${what}: first difference at ${diff}: ${x[diff]} vs ${y[diff]}`);
  tf.dispose([a, b]);
}

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

test.before(async () => {
  await setBackend('cpu');
});

test.serial('replacements are registered and differ from the tfjs kernels they delegate to', (t) => {
  for (const name of ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Tile', 'Sum', 'Slice', 'SplitV', 'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput']) {
    t.not(tf.getKernel(name, 'cpu')!.kernelFunc as unknown, tfjsCpuKernel(name) as unknown, name);
  }
  t.throws(() => tfjsCpuKernel('Relu'), { message: /'Relu' is not replaced/ });
});

test.serial('matMul: bit-identical to tfjs for every transpose, batch broadcast, k across blocks', async (t) => {
  const cases: Array<[number[], number[]]> = [
    [[7, 5], [5, 9]], [[64, 16], [16, 64]], [[33, 100], [100, 18]], [[1, 1], [1, 1]], [[3, 0], [0, 4]],
    [[2, 13, 50], [2, 50, 6]], [[4, 9, 49], [1, 49, 7]], [[1, 8, 97], [3, 97, 5]], [[2, 3, 6, 21], [2, 3, 21, 10]],
  ];
  for (const [as, bs] of cases) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const sa = ta ? [...as.slice(0, -2), as[as.length - 1], as[as.length - 2]] : as;
        const sb = tb ? [...bs.slice(0, -2), bs[bs.length - 1], bs[bs.length - 2]] : bs;
        const a = rnd(sa, 1), b = rnd(sb, 2);
        await identical(t, `[${sa}]${ta ? 'T' : ''} x [${sb}]${tb ? 'T' : ''}`, () => tf.matMul(a, b, ta, tb));
        tf.dispose([a, b]);
      }
    }
  }
  const a = tf.tensor2d([[NaN, 1, -0], [Infinity, 2, 3]]), b = tf.tensor2d([[1, -0], [0, 1], [-1, 1]]);
  await identical(t, 'NaN, Infinity and -0', () => tf.matMul(a, b));
  const ai = tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32');
  await identical(t, 'int32 (tfjs kernel)', () => tf.matMul(ai, ai));
  t.throws(() => tf.matMul(rnd([3, 4], 3), rnd([5, 2], 4)), { message: /inner shapes/ }, 'shape errors stay tfjs\'');
});

test.serial('fused matMul: bias (N) in place, other biases and activations through tfjs', async (t) => {
  const a = rnd([37, 60], 5), b = rnd([22, 60], 6), bias = rnd([22], 7), bias2 = rnd([37, 22], 8), biasS = rnd([1], 9);
  const fused = (extra: Partial<Parameters<typeof tf.fused.matMul>[0]>) => () =>
    tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, ...extra });
  await identical(t, 'no bias', fused({}));
  await identical(t, 'bias (N)', fused({ bias }));
  await identical(t, 'bias (M, N)', fused({ bias: bias2 }));
  await identical(t, 'scalar bias', fused({ bias: biasS }));
  await identical(t, 'bias + relu', fused({ bias, activation: 'relu' }));
  await identical(t, 'linear activation', fused({ bias, activation: 'linear' }));
  const bt = tf.transpose(b);
  await identical(t, 'b not transposed (packed)', () => tf.fused.matMul({ a: a as tf.Tensor2D, b: bt as tf.Tensor2D, bias }));
  tf.dispose([a, b, bias, bias2, biasS, bt]);
});

test.serial('transpose and tile: the same copies as tfjs (float32, int32, bool)', async (t) => {
  const perms: Array<[number[], number[]]> = [
    [[5, 7], [1, 0]], [[24, 40], [1, 0]], [[2, 3, 4], [0, 2, 1]], [[2, 3, 4], [2, 0, 1]], [[8, 4, 5, 6], [0, 3, 1, 2]],
    [[3, 1, 4, 2, 2], [4, 2, 0, 3, 1]], [[6, 5], [0, 1]],
  ];
  for (const [shape, perm] of perms) {
    const x = rnd(shape, 10);
    await identical(t, `transpose [${shape}] by [${perm}]`, () => tf.transpose(x, perm));
    const xi = tf.cast(tf.mul(x, 100), 'int32');
    await identical(t, `int32 transpose [${shape}]`, () => tf.transpose(xi, perm));
    tf.dispose([x, xi]);
  }
  const tiles: Array<[number[], number[]]> = [[[3], [4]], [[2, 3], [3, 2]], [[8, 4, 1, 6], [1, 1, 5, 1]], [[2, 1, 3], [2, 4, 3]], [[4, 2], [1, 1]], [[2, 3], [0, 2]]];
  for (const [shape, reps] of tiles) {
    const x = rnd(shape, 11);
    await identical(t, `tile [${shape}] by [${reps}]`, () => tf.tile(x, reps));
    const xb = tf.greater(x, 0);
    await identical(t, `bool tile [${shape}]`, () => tf.tile(xb, reps));
    tf.dispose([x, xb]);
  }
});

test.serial('sum: the same float64 sums in the same order as tfjs, any sorted axes, keepDims', async (t) => {
  const x = tf.mul(rnd([8, 5, 3, 7], 12), tf.exp(tf.mul(rnd([8, 5, 3, 7], 13), 4))); // wide range: order matters
  const axesList: Array<number | number[] | undefined> = [undefined, 0, 1, 3, -1, [0, 2], [1, 3], [0, 1, 2], [2, 0]];
  for (const axis of axesList) {
    for (const keepDims of [false, true]) {
      await identical(t, `sum axis ${JSON.stringify(axis)} keepDims ${keepDims}`, () => tf.sum(x, axis, keepDims));
    }
  }
  const xi = tf.cast(tf.mul(x, 10), 'int32');
  await identical(t, 'int32 sum (tfjs kernel)', () => tf.sum(xi, 1));
  await identical(t, 'mean (sum inside)', () => tf.mean(x, [0, 1]));
  const g = rnd([6, 4], 14);
  await identical(t, 'gradient of a broadcast add (sum over the broadcast axis)', () => tf.grad((b: Tensor) => tf.sum(tf.mul(tf.add(g, b), g)))(rnd([4], 15)));
  tf.dispose([x, xi, g]);
});

test.serial('slice and split: the same values as tfjs (strided blocks copied, contiguous runs as tfjs views)', async (t) => {
  const x = rnd([4, 6, 5, 3], 16);
  const slices: Array<[number[], number[]]> = [
    [[0, 0, 0, 0], [4, 6, 5, 3]], [[1, 0, 0, 0], [2, 6, 5, 3]], [[0, 2, 1, 0], [4, 3, 2, 3]], [[3, 5, 4, 2], [1, 1, 1, 1]],
    [[0, 0, 0, 1], [-1, -1, -1, 2]], [[1, 2, 0, 0], [1, 2, 5, 3]], [[0, 0, 0, 0], [4, 6, 0, 3]],
  ];
  for (const [begin, size] of slices) {
    await identical(t, `slice [${begin}] [${size}]`, () => tf.slice(x, begin, size));
    const xi = tf.cast(tf.mul(x, 50), 'int32');
    await identical(t, `int32 slice [${begin}] [${size}]`, () => tf.slice(xi, begin, size));
    tf.dispose(xi);
  }
  for (const [sizes, axis] of [[[2, 3, 1], 1], [3, 1], [[1, 1, 1, 1], 0], [[2, -1], 3], [5, 2]] as Array<[number | number[], number]>) {
    // the pieces flattened and joined: values and piece sizes at once
    const [mine, theirs] = both(() => tf.concat(tf.split(x, sizes, axis).map((p) => tf.reshape(p, [-1]))));
    t.deepEqual(Array.from(mine.dataSync()), Array.from(theirs.dataSync()), `split ${JSON.stringify(sizes)} on axis ${axis}`);
    const shapes = () => tf.split(x, sizes, axis).map((p) => p.shape);
    const mineShapes = shapes();
    process.env.SSMV_CUSTOM_KERNELS = '0';
    const theirShapes = shapes();
    delete process.env.SSMV_CUSTOM_KERNELS;
    t.deepEqual(mineShapes, theirShapes, `split ${JSON.stringify(sizes)} piece shapes`);
    tf.dispose([mine, theirs]);
  }
  t.throws(() => tf.slice(x, [0, 0, 0, 0], [5, 1, 1, 1]), { message: /would overflow input.shape\[0\] \(4\)/ }, "range errors stay tfjs'");
  tf.dispose(x);
});

test.serial('conv2d, fused conv2d and the conv input gradient: bit-identical to tfjs (strides, pads, dilations, biases)', async (t) => {
  type Pad = 'same' | 'valid' | number;
  const cases: Array<{ x: number[]; w: number[]; s: [number, number]; pad: Pad; d?: [number, number] }> = [
    { x: [2, 16, 16, 3], w: [3, 3, 3, 8], s: [2, 2], pad: 1 },
    { x: [3, 9, 7, 12], w: [3, 3, 12, 20], s: [1, 1], pad: 'same' },
    { x: [2, 8, 8, 6], w: [2, 2, 6, 10], s: [2, 2], pad: 'valid' },
    { x: [1, 11, 11, 5], w: [4, 4, 5, 7], s: [3, 3], pad: 'same' },
    { x: [2, 9, 10, 4], w: [3, 3, 4, 6], s: [1, 1], pad: 0, d: [2, 2] },
    { x: [1, 1, 1, 9], w: [1, 1, 9, 5], s: [1, 1], pad: 'valid' },
  ];
  for (const c of cases) {
    const what = `x [${c.x}] w [${c.w}] s${c.s} pad ${c.pad}${c.d ? ` dil ${c.d}` : ''}`;
    const x = tf.mul(rnd(c.x, 20), tf.exp(tf.mul(rnd(c.x, 21), 3))), w = rnd(c.w, 22), b = rnd([c.w[3]], 23);
    const conv = (xi: Tensor) => tf.conv2d(xi as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d ?? 1);
    await identical(t, `${what}: conv2d`, () => conv(x));
    await identical(t, `${what}: fused, bias`, () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: c.s, pad: c.pad, dilations: c.d ?? 1, bias: b }));
    await identical(t, `${what}: fused, bias + relu (tfjs)`, () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: c.s, pad: c.pad, dilations: c.d ?? 1, bias: b, activation: 'relu' }));
    if (!c.d) {
      const y = conv(x);
      const dy = tf.mul(rnd(y.shape, 24), tf.exp(tf.mul(rnd(y.shape, 25), 3)));
      await identical(t, `${what}: input gradient`, () => tf.grad((xi: Tensor) => tf.sum(tf.mul(conv(xi), dy)))(x));
      tf.dispose([y, dy]);
    }
    tf.dispose([x, w, b]);
  }
  const x = rnd([1, 5, 5, 2], 26);
  const wInf = tf.concat([tf.fill([1, 3, 2, 3], Infinity), rnd([2, 3, 2, 3], 27)], 0);
  await identical(t, 'Inf in the filter: tfjs skips the padding taps (tfjs kernel)', () => tf.conv2d(x as tf.Tensor4D, wInf as tf.Tensor4D, 1, 'same'));
  const xc = rnd([1, 2, 5, 5], 28), wc = rnd([3, 3, 2, 3], 29);
  await identical(t, 'NCHW (tfjs kernel)', () => tf.conv2d(xc as tf.Tensor4D, wc as tf.Tensor4D, 1, 'same', 'NCHW'));
  tf.dispose([x, wInf, xc, wc]);
});
