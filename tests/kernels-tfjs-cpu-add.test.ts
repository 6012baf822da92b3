// The cpu replacement of tfjs' Add (core/kernels/tfjs-cpu/add.ts) against tfjs-backend-cpu's own
// kernel: the same float32 bit patterns (NaN, Infinity, -0 included) for same shapes, biases over
// trailing dims on either side, scalars, leading 1s; other broadcasts, int32 and errors stay tfjs'.
import test, { type ExecutionContext } from 'ava';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { tfjsCpuKernel } from '../core/kernels/tfjs-cpu/register.ts';

/** f() with the replacement, then with tfjs' kernel (SSMV_CUSTOM_KERNELS=0). */
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

function identical(t: ExecutionContext, what: string, f: () => Tensor): void {
  const [a, b] = both(f);
  t.deepEqual(a.shape, b.shape, `${what}: shape`);
  t.is(a.dtype, b.dtype, `${what}: dtype`);
  const [x, y] = [a.dataSync(), b.dataSync()]; // cpu backend: no GPU sync
  const bits = (v: ArrayLike<number>) => (v instanceof Float32Array ? Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length)) : Array.from(v));
  t.deepEqual(bits(x), bits(y), what);
  tf.dispose([a, b]);
}

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1e3, 'float32', seed);

test.before(async () => {
  await setBackend('cpu');
});

test('Add: replaced, bit-identical to tfjs for same shapes, trailing biases, scalars', (t) => {
  t.not(tf.getKernel('Add', 'cpu')!.kernelFunc as unknown, tfjsCpuKernel('Add') as unknown);
  const cases: Array<[number[], number[]]> = [
    [[8, 4, 4, 64], [8, 4, 4, 64]], [[8, 4, 4, 64], [64]], [[64], [8, 4, 4, 64]], [[7, 5], [1, 5]],
    [[3, 4, 5], [4, 5]], [[4, 5], [2, 3, 4, 5]], [[6, 5], []], [[], [6, 5]], [[], []], [[1, 1, 9], [9]],
    [[2, 3], [1, 1, 2, 3]], [[0, 3], [3]],
    // not repeated along leading dims: tfjs' kernel
    [[4, 1], [1, 5]], [[4, 5], [4, 1]], [[2, 1, 3], [2, 4, 3]],
  ];
  let seed = 1;
  for (const [as, bs] of cases) {
    const a = rnd(as, seed++), b = rnd(bs, seed++);
    identical(t, `[${as}] + [${bs}]`, () => tf.add(a, b));
    tf.dispose([a, b]);
  }
  const special = tf.tensor1d([NaN, Infinity, -Infinity, -0, 0, 3.4e38, 1e-45, -1]);
  const other = tf.tensor1d([1, -Infinity, -Infinity, -0, -0, 3.4e38, 1e-45, 1]);
  identical(t, 'NaN, Infinity, -0, overflow, subnormals', () => tf.add(special, other));
  const i32 = tf.tensor1d([1, 2, 3], 'int32');
  identical(t, 'int32 (tfjs kernel)', () => tf.add(i32, i32));
  t.throws(() => tf.add(rnd([3, 4], 1), rnd([5], 2)), { message: /broadcast/ }, 'shape errors stay tfjs\'');
});
