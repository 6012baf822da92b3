// Layers of the dense heads against PyTorch's formulas: resizing (bilinear align_corners=False,
// nearest, adaptive average pooling) as matrices with exact gradients, the transposed conv of the mask
// head and its PyTorch weight layout, ConvModule / FPN keys and the FPN's extra max-pool level, and the
// loss formulas.
import test from 'ava';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { resizeBilinear, resizeNearest, adaptiveAvgPool, axisMatrix } from '../heads/layers/resize.ts';
import { ConvTranspose2d } from '../heads/layers/conv-transpose.ts';
import { bceWithLogits, softmaxCrossEntropy, weightedSum } from '../heads/layers/losses.ts';
import { FPN } from '../heads/fpn.ts';
import { heads } from '../heads/index.ts';

test.before(async () => {
  await setBackend('cpu');
});

const arr = async (x: Tensor) => Array.from(await x.data());
const near = (a: number[], b: number[], eps = 1e-5) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= eps);

test('resize: PyTorch bilinear (align_corners=False) and nearest values, tfjs forward agrees', async (t) => {
  // F.interpolate(torch.arange(4.).view(1, 1, 1, 4), size=(1, 8), mode='bilinear') = [0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3]
  const x = tf.tensor4d([0, 1, 2, 3], [1, 1, 4, 1]);
  t.deepEqual(await arr(resizeBilinear(x, 1, 8)), [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]);
  // downsampling 4 -> 3: src = (o + .5) * 4/3 - .5 = 1/6, 3/2, 17/6
  t.true(near(await arr(resizeBilinear(x, 1, 3)), [1 / 6, 1.5, 17 / 6]));
  // nearest: src = floor(o * in / out)
  t.deepEqual(await arr(resizeNearest(x, 1, 6)), [0, 0, 1, 2, 2, 3]);
  t.deepEqual(await arr(resizeNearest(x, 1, 8)), [0, 0, 1, 1, 2, 2, 3, 3]); // integer factor: the tile path
  const r = tf.randomNormal([2, 5, 7, 3], 0, 1, 'float32', 1);
  t.true(near(await arr(resizeBilinear(r, 9, 4)), await arr(tf.image.resizeBilinear(r as tf.Tensor4D, [9, 4], false, true))));
  t.true(near(await arr(resizeNearest(r, 9, 4)), await arr(tf.image.resizeNearestNeighbor(r as tf.Tensor4D, [9, 4], false, false))));
  t.true(near(await arr(resizeNearest(r, 10, 14)), await arr(tf.image.resizeNearestNeighbor(r as tf.Tensor4D, [10, 14], false, false))));
});

test('resize: gradients are the transposed maps (tfjs ResizeBilinearGrad ignores half-pixel centres)', async (t) => {
  const x = tf.randomNormal([1, 3, 4, 2], 0, 1, 'float32', 2);
  const dy = tf.randomNormal([1, 5, 6, 2], 0, 1, 'float32', 3);
  const g = tf.grad((v: Tensor) => tf.sum(tf.mul(resizeBilinear(v, 5, 6), dy)))(x);
  // dx = Mh^T dy Mw per channel
  const mh = axisMatrix('bilinear', 3, 5), mw = axisMatrix('bilinear', 4, 6);
  const dyv = await dy.data();
  const want = new Array(3 * 4 * 2).fill(0);
  for (let oy = 0; oy < 5; oy++) for (let ox = 0; ox < 6; ox++) for (let iy = 0; iy < 3; iy++) for (let ix = 0; ix < 4; ix++) for (let c = 0; c < 2; c++) {
    want[(iy * 4 + ix) * 2 + c] += mh[oy * 3 + iy] * mw[ox * 4 + ix] * dyv[(oy * 6 + ox) * 2 + c];
  }
  t.true(near(await arr(g), want));
  const gn = tf.grad((v: Tensor) => tf.sum(tf.mul(resizeNearest(v, 6, 8), tf.ones([1, 6, 8, 2]))))(x);
  t.deepEqual(await arr(gn), new Array(24).fill(4), 'each input pixel is copied 2 x 2 times');
});

test('adaptive average pooling: PyTorch bins [floor(i*in/out), ceil((i+1)*in/out))', async (t) => {
  const x = tf.tensor4d([0, 1, 2, 3, 4], [1, 1, 5, 1]);
  // bins of 5 -> 3: [0, 2), [1, 4), [3, 5)
  t.true(near(await arr(adaptiveAvgPool(x, 1, 3)), [0.5, 2, 3.5]));
  t.deepEqual(await arr(adaptiveAvgPool(x, 1, 1)), [2]);
  const r = tf.randomNormal([2, 6, 6, 3]);
  t.true(near(await arr(adaptiveAvgPool(r, 2, 3)), await arr(tf.avgPool(r as tf.Tensor4D, [3, 2], [3, 2], 'valid'))));
});

test('ConvTranspose2d: 2x2 stride 2 places weight x input; PyTorch weight shape (in, out, k, k)', async (t) => {
  const up = new ConvTranspose2d(2, 1, 2, 2);
  // weight (kh, kw, out, in): w[., ., 0, 0] = 1..4, w[., ., 0, 1] = 10..40; bias 0.5
  up.weight.assign(tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [2, 2, 1, 2]));
  up.bias.assign(tf.tensor1d([0.5]));
  const y = up.forward(tf.tensor4d([1, 0.1, 2, 0.2], [1, 1, 2, 2])); // pixels (1, .1), (2, .2)
  t.deepEqual(y.shape, [1, 2, 4, 1]);
  t.true(near(await arr(y), [1 + 1 + 0.5, 2 + 2 + 0.5, 2 + 2 + 0.5, 4 + 4 + 0.5, 3 + 3 + 0.5, 4 + 4 + 0.5, 6 + 6 + 0.5, 8 + 8 + 0.5]));
  const sd = await up.stateDict();
  t.deepEqual(sd.get('weight')!.shape, [2, 1, 2, 2]);
  t.deepEqual(Array.from(sd.get('weight')!.data), [1, 2, 3, 4, 10, 20, 30, 40]);
});

test('losses: BCE with logits, softmax CE with an ignored label, weighted sum / avg factor', async (t) => {
  const b = await arr(bceWithLogits(tf.tensor1d([0, 2, -30, 30]), tf.tensor1d([1, 0, 0, 1])));
  t.true(near(b, [Math.LN2, 2 + Math.log1p(Math.exp(-2)), Math.log1p(Math.exp(-30)), Math.log1p(Math.exp(-30))], 1e-6));
  const ce = await arr(softmaxCrossEntropy(tf.tensor2d([[1, 2, 3], [0, 0, 0]]), tf.tensor1d([2, 255], 'int32')));
  t.true(near(ce, [Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3, 0], 1e-6));
  t.true(near(await arr(weightedSum(tf.tensor1d([1, 2, 3]), Float32Array.from([1, 0, 1]), 4)), [1]));
});

test('FPN: mmdet keys and shapes, nearest top-down, P6 = every other pixel of P5', async (t) => {
  const fpn = new FPN({ in_channels: [4, 8, 16], out_channels: 6, num_outs: 4 });
  const keys = (await fpn.stateDict());
  t.deepEqual([...keys.keys()], [
    'lateral_convs.0.conv.weight', 'lateral_convs.0.conv.bias', 'lateral_convs.1.conv.weight', 'lateral_convs.1.conv.bias',
    'lateral_convs.2.conv.weight', 'lateral_convs.2.conv.bias', 'fpn_convs.0.conv.weight', 'fpn_convs.0.conv.bias',
    'fpn_convs.1.conv.weight', 'fpn_convs.1.conv.bias', 'fpn_convs.2.conv.weight', 'fpn_convs.2.conv.bias',
  ]);
  t.deepEqual(keys.get('lateral_convs.1.conv.weight')!.shape, [6, 8, 1, 1]);
  t.deepEqual(keys.get('fpn_convs.0.conv.weight')!.shape, [6, 6, 3, 3]);
  const outs = fpn.forward([tf.randomNormal([2, 12, 10, 4]), tf.randomNormal([2, 6, 5, 8]), tf.randomNormal([2, 3, 3, 16])]);
  t.deepEqual(outs.map((o) => o.shape), [[2, 12, 10, 6], [2, 6, 5, 6], [2, 3, 3, 6], [2, 2, 2, 6]]);
  const p5 = await outs[2].array() as number[][][][], p6 = await outs[3].array() as number[][][][];
  t.deepEqual(p6[1][1][1], p5[1][2][2]);
  t.deepEqual(p6[0][0][1], p5[0][0][2]);
  t.throws(() => fpn.forward([tf.zeros([1, 4, 4, 4])]), { message: /got 1 feature maps/ });
  t.throws(() => new FPN({ in_channels: [4], out_channels: 4, num_outs: 2, add_extra_convs: 'on_input' as never }), { message: /add_extra_convs="on_input" is not ported/ });
  t.is(heads.get('fpn').kind, 'neck');
  t.throws(() => heads.get('mask_rnn'), { message: /did you mean mask_rcnn/ });
});
