// RoIAlign (mmcv aligned semantics): hand-worked cases, then forward and gradient of the cpu and webgpu
// kernels against the tfjs-op reference (whose gradient is tfjs' autodiff of gather + segment sum).
import test from 'ava';
import { testOnBackends, relErr } from './helpers/backends.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { Rng } from '../core/rng.ts';
import { roiAlign, roiAlignReference, roiAlignArrays, roiAlignAttrs, type RoIAlignOptions } from '../heads/kernel/roi-align/index.ts';

// f(y, x) = 4y + x + 1 on a 4x4 map: bilinear interpolation of a linear field is exact
const ramp = () => tf.tensor4d(Array.from({ length: 16 }, (_, i) => 4 * Math.floor(i / 4) + (i % 4) + 1), [1, 4, 4, 1]);

testOnBackends('roiAlign: hand-worked values and gradient (aligned, unaligned, border samples)', async (t) => {
  const x = ramp();
  // aligned: box (0.5, 0.5)-(2.5, 2.5) -> feature box (0, 0)-(2, 2), one sample per bin at its centre
  const a = roiAlign(x, tf.tensor2d([[0, 0.5, 0.5, 2.5, 2.5]]), { outputSize: 2, spatialScale: 1 });
  t.deepEqual(Array.from(await a.data()), [3.5, 4.5, 7.5, 8.5]); // GPU->CPU sync
  // unaligned: the same box starts at 0.5, samples at (1, 1), (1, 2), (2, 1), (2, 2)
  const u = roiAlign(x, tf.tensor2d([[0, 0.5, 0.5, 2.5, 2.5]]), { outputSize: 2, spatialScale: 1, aligned: false });
  t.deepEqual(Array.from(await u.data()), [6, 7, 10, 11]); // GPU->CPU sync
  // border: box (2, 2)-(6, 6) -> (1.5, 1.5)-(5.5, 5.5), 4x4 samples at 2, 3, 4, 5 per axis; 3 and 4
  // clamp to row/column 3, 5 > H is outside (contributes 0): (3 * (4*(2+3+3)) + 3 * (2+3+3) + 9) / 16
  const b = roiAlign(x, tf.tensor2d([[0, 2, 2, 6, 6]]), { outputSize: 1, spatialScale: 1 });
  t.is((await b.data())[0], 129 / 16); // GPU->CPU sync
  // gradient of the aligned case with dy = 1: each bin's sample spreads 1/4 to its four neighbours
  const gA = tf.grad((v: Tensor) => tf.sum(roiAlign(v, tf.tensor2d([[0, 0.5, 0.5, 2.5, 2.5]]), { outputSize: 2, spatialScale: 1 })))(x);
  t.deepEqual(Array.from(await gA.data()), [0.25, 0.5, 0.25, 0, 0.5, 1, 0.5, 0, 0.25, 0.5, 0.25, 0, 0, 0, 0, 0]); // GPU->CPU sync
  // gradient of the border case: 9 valid samples of weight 1/16 on pixels (2|3, 2|3)
  const gB = tf.grad((v: Tensor) => tf.sum(roiAlign(v, tf.tensor2d([[0, 2, 2, 6, 6]]), { outputSize: 1, spatialScale: 1 })))(x);
  const want = new Array(16).fill(0);
  want[10] = 1 / 16; want[11] = 2 / 16; want[14] = 2 / 16; want[15] = 4 / 16;
  t.deepEqual(Array.from(await gB.data()), want); // GPU->CPU sync
  tf.dispose([x, a, u, b, gA, gB]);
});

/** Random boxes: inside, crossing the border, tiny, reversed (x2 < x1), and a row with a bad batch index. */
function randomRois(rng: Rng, n: number, batches: number, imgH: number, imgW: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x1 = rng.uniform(-0.2 * imgW, imgW), y1 = rng.uniform(-0.2 * imgH, imgH);
    const w = i % 5 === 3 ? rng.uniform(0, 1.5) : rng.uniform(1, imgW * 0.8), h = i % 5 === 3 ? rng.uniform(0, 1.5) : rng.uniform(1, imgH * 0.8);
    out.push(rng.int(batches), x1, y1, x1 + w, y1 + h);
  }
  out.push(0, 5, 5, 2, 3); // reversed box
  out.push(batches, 1, 1, 4, 4); // batch index out of range: zeros
  return out;
}

/** Runs `fn` on tfjs' cpu backend, then returns to `backend`. */
async function onCpu<T>(fn: () => Promise<T>, backend: string): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return await fn();
  } finally {
    await tf.setBackend(backend);
  }
}

const CASES: Array<{ name: string; N: number; H: number; W: number; C: number; R: number; stride: number; opts: Omit<RoIAlignOptions, 'spatialScale'> }> = [
  { name: 'box head 7x7, stride 4, adaptive sampling, aligned', N: 2, H: 12, W: 10, C: 5, R: 12, stride: 4, opts: { outputSize: 7 } },
  { name: '2x3 bins, stride 1, sampling 2, unaligned', N: 1, H: 9, W: 11, C: 3, R: 8, stride: 1, opts: { outputSize: [2, 3], samplingRatio: 2, aligned: false } },
  { name: 'mask 14x14, stride 8, adaptive, aligned', N: 3, H: 6, W: 7, C: 4, R: 10, stride: 8, opts: { outputSize: 14 } },
];

for (const c of CASES) {
  testOnBackends(`roiAlign matches the reference: ${c.name}`, async (t, backend) => {
    const rng = new Rng(7);
    const xv = Float32Array.from({ length: c.N * c.H * c.W * c.C }, () => rng.normal());
    const rois = randomRois(rng, c.R, c.N, c.H * c.stride, c.W * c.stride);
    const opts: RoIAlignOptions = { ...c.opts, spatialScale: 1 / c.stride };
    const xShape = [c.N, c.H, c.W, c.C];
    const dyv = Float32Array.from({ length: rois.length / 5 * roiAlignAttrs(opts).pooledH * roiAlignAttrs(opts).pooledW * c.C }, () => rng.normal());
    // the reference always runs on tfjs' cpu backend (its big matMuls are slow to compile on lavapipe)
    const ref = await onCpu(async () => {
      const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
      const y = roiAlignReference(x, rois, opts);
      const g = tf.grad((v: Tensor) => tf.sum(tf.mul(roiAlignReference(v, rois, opts), tf.tensor(dyv, y.shape))))(x);
      const out = { y: await y.data(), g: await g.data() };
      tf.dispose([x, y, g]);
      return out;
    }, backend);
    const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
    const roisT = tf.tensor2d(rois, [rois.length / 5, 5]);
    const y = roiAlign(x, roisT, opts);
    const yv = await y.data(); // GPU->CPU sync
    const eF = relErr(yv, ref.y);
    // the host function used for mask targets is the cpu kernel's loop
    const eH = relErr(roiAlignArrays(xv, xShape, rois, roiAlignAttrs(opts)), ref.y);
    const dy = tf.tensor(dyv, y.shape);
    const g = tf.grad((v: Tensor) => tf.sum(tf.mul(roiAlign(v, roisT, opts), dy)))(x);
    const eG = relErr(await g.data(), ref.g); // GPU->CPU sync
    // the reversed box and the bad-batch row give zeros
    const last = (rois.length / 5 - 1) * (y.size / (rois.length / 5));
    t.true(yv.subarray(last).every((v) => v === 0));
    t.log(`forward ${eF.toExponential(2)}, host ${eH.toExponential(2)}, gradient ${eG.toExponential(2)}`);
    t.true(eF <= 1e-5, `forward rel err ${eF}`);
    t.true(eH <= 1e-6, `host rel err ${eH}`);
    t.true(eG <= 1e-5, `gradient rel err ${eG}`);
    tf.dispose([x, roisT, y, dy, g]);
  });
}

testOnBackends('roiAlign: no boxes gives an empty output and a zero gradient', async (t) => {
  const x = tf.randomNormal([1, 5, 5, 2]);
  const rois = tf.zeros([0, 5]);
  const y = roiAlign(x, rois, { outputSize: 7, spatialScale: 0.25 });
  t.deepEqual(y.shape, [0, 7, 7, 2]);
  // (tf.sum of an empty tensor fails on tfjs' webgpu backend: pass the empty dy explicitly)
  const g = tf.grad((v: Tensor) => roiAlign(v, rois, { outputSize: 7, spatialScale: 0.25 }))(x, tf.zeros([0, 7, 7, 2]));
  t.deepEqual(g.shape, [1, 5, 5, 2]);
  t.true(Array.from(await g.data()).every((v) => v === 0)); // GPU->CPU sync
  tf.dispose([x, rois, y, g]);
});

test('roiAlign: bad input gets errors naming the problem', (t) => {
  const x = tf.zeros([1, 4, 4, 2]);
  t.throws(() => roiAlign(x, tf.zeros([3, 4]), { outputSize: 7, spatialScale: 1 }), { message: /rois must be \(R, 5\)/ });
  t.throws(() => roiAlign(tf.zeros([4, 4, 2]), tf.zeros([1, 5]), { outputSize: 7, spatialScale: 1 }), { message: /x must be \(N, H, W, C\)/ });
  t.throws(() => roiAlign(x, tf.zeros([1, 5]), { outputSize: 0, spatialScale: 1 }), { message: /outputSize\[0\] must be a positive integer/ });
  t.throws(() => roiAlign(x, tf.zeros([1, 5]), { outputSize: 7, spatialScale: 0 }), { message: /spatialScale must be a positive number/ });
  t.throws(() => roiAlign(x, tf.zeros([1, 5]), { outputSize: 7, spatialScale: 1, samplingRatio: 1.5 }), { message: /samplingRatio must be an integer/ });
});
