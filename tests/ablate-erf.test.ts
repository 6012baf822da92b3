// The ERF recipe on models whose ERF is known: a single conv layer's ERF is its kernel footprint
// (relu or abs of the weights, summed over input channels, around the central output position),
// whatever the images; NaN images are dropped; the display scales and RepLKNet's area ratios on
// maps worked out by hand.
import test from 'ava';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { effectiveReceptiveField, scaleErf, areaRatio, areaRatios } from '../eval/ablate/erf.ts';

test.before(async () => {
  await setBackend('cpu');
});

async function* batchesOf(images: number[][][][]): AsyncIterable<{ images: Float32Array; shape: number[] }> {
  // two batches, to check the average runs across batches
  const half = Math.ceil(images.length / 2);
  for (const part of [images.slice(0, half), images.slice(half)]) {
    if (!part.length) continue;
    const [H, W] = [part[0].length, part[0][0].length];
    yield { images: Float32Array.from(part.flat(3)), shape: [part.length, H, W, 3] };
  }
}

const S = 11, K = 5; // 11x11 input, 5x5 kernel, 'same' padding: output 11x11, centre (5, 5)
// a kernel (K, K, 3, 1) with mixed signs per input channel; one output channel
const kernel = Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => [((i * 7 + j * 3) % 5) - 1.5, ((i + 2 * j) % 4) - 1, 0.25 * (i - j)]));
const positiveImages = (n: number) => Array.from({ length: n }, (_, b) => Array.from({ length: S }, (_, i) => Array.from({ length: S }, (_, j) => [1 + b + 0.1 * i, 2 + 0.05 * j, 3])));

function conv(w: Tensor, bias: number) {
  // bias makes the central output positive for these images, so relu(out) passes the gradient
  return (x: Tensor) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), bias);
}

function expected(op: (v: number) => number): number[] {
  const m = new Array<number>(S * S).fill(0);
  const c = Math.floor(S / 2), r = Math.floor(K / 2);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) {
    m[(c - r + i) * S + (c - r + j)] = kernel[i][j].reduce((a, v) => a + op(v), 0);
  }
  return m;
}

for (const grad of ['relu', 'abs'] as const) {
  test(`a single conv layer: the ERF is its ${K}x${K} kernel footprint (${grad} of the weights, summed over channels)`, async (t) => {
    const w = tf.tensor4d(kernel.flat(2), [K, K, 3, 1]);
    const erf = await effectiveReceptiveField(conv(w, 100), batchesOf(positiveImages(5)), { grad });
    w.dispose();
    t.is(erf.images, 5);
    t.is(erf.nanImages, 0);
    t.deepEqual([erf.H, erf.W, erf.featureH, erf.featureW], [S, S, S, S]);
    const want = expected(grad === 'relu' ? (v) => Math.max(0, v) : Math.abs);
    const err = Math.max(...Array.from(erf.map, (v, i) => Math.abs(v - want[i])));
    t.true(err < 1e-5, `max |diff| ${err}`);
    t.true(want.filter((v) => v > 0).length > 10 && erf.map.filter((v, i) => v !== 0 && want[i] === 0).length === 0, 'zero outside the footprint');
  });
}

test('the centre is relu-gated: a channel whose central output is negative contributes nothing', async (t) => {
  // two output channels: channel 1 has a large negative bias, so relu(out[..., 1]) = 0 at the centre
  const w = tf.tensor4d(kernel.flat(2).flatMap((v) => [v, 10 * v]), [K, K, 3, 2]);
  const b = tf.tensor1d([100, -1e6]);
  const f = (x: Tensor) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b);
  const erf = await effectiveReceptiveField(f, batchesOf(positiveImages(2)), { grad: 'abs' });
  tf.dispose([w, b]);
  const want = expected(Math.abs);
  t.true(Math.max(...Array.from(erf.map, (v, i) => Math.abs(v - want[i]))) < 1e-5);
});

test('images whose gradient is NaN are dropped from the average (as the official loop skips them); maxImages stops early', async (t) => {
  const w = tf.tensor4d(kernel.flat(2), [K, K, 3, 1]);
  // 0 * log(x): NaN gradient for an image with a negative pixel, no effect otherwise
  const f = (x: Tensor) => tf.add(conv(w, 100)(x), tf.mul(tf.sum(tf.log(x), [1, 2, 3], true), 0));
  const imgs = positiveImages(4);
  imgs[1][3][3][0] = -1;
  const erf = await effectiveReceptiveField(f, batchesOf(imgs), { grad: 'relu' });
  t.is(erf.images, 3);
  t.is(erf.nanImages, 1);
  const want = expected((v) => Math.max(0, v));
  t.true(Math.max(...Array.from(erf.map, (v, i) => Math.abs(v - want[i]))) < 1e-5);
  const two = await effectiveReceptiveField(conv(w, 100), batchesOf(positiveImages(4)), { maxImages: 2 });
  t.is(two.images, 2);
  w.dispose();
});

test('display scales: x^0.2, log10(x+1), linear, each divided by its maximum', (t) => {
  const m = [0, 1, 32, 1e5];
  const close = (a: ArrayLike<number>, b: number[]) => Array.from(a).every((v, i) => Math.abs(v - b[i]) < 1e-12);
  t.true(close(scaleErf(m, 'pow'), [0, 1 / 10, 2 / 10, 1]));
  t.true(close(scaleErf(m, 'log'), [0, Math.log10(2) / Math.log10(100001), Math.log10(33) / Math.log10(100001), 1]));
  t.true(close(scaleErf(m, 'linear'), [0, 1e-5, 32e-5, 1]));
  t.deepEqual(Array.from(scaleErf([0, 0], 'pow')), [0, 0]);
});

test("RepLKNet's area ratio: the smallest centred square holding more than the threshold", (t) => {
  const H = 9, W = 9;
  const sq = (side: number) => (side / H) * (side / W); // the official (side / h) * (side / w)
  const point = new Array<number>(H * W).fill(0);
  point[4 * W + 4] = 1;
  // all mass in the centre: the first square tried (3x3) already holds it
  t.is(areaRatio(point, H, W, 0.5), sq(3));
  const flat = new Array<number>(H * W).fill(1);
  // uniform: 3x3 = 11%, 5x5 = 31%, 7x7 = 60%; 9x9 is never tried (i < H // 2), as in the official loop
  t.is(areaRatio(flat, H, W, 0.1), sq(3));
  t.is(areaRatio(flat, H, W, 0.2), sq(5));
  t.is(areaRatio(flat, H, W, 0.5), sq(7));
  t.is(areaRatio(flat, H, W, 0.99), null);
  t.deepEqual(areaRatios(flat, H, W), { r20: sq(5), r30: sq(5), r50: sq(7), r99: null });
  t.is(areaRatio(new Array<number>(H * W).fill(0), H, W, 0.5), null, 'an all-zero map has no ratio');
});
