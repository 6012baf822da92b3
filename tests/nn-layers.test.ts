// Layers against PyTorch's formulas, written out as plain float64 loops (independent of tfjs ops),
// on both kernel backends.
import { testOnBackends, relErr } from './helpers/backends.ts';
import { tf } from '../core/tf.ts';
import { Rng, manualSeed } from '../core/rng.ts';
import { Linear, Conv2d, LayerNorm, LayerNorm2d, BatchNorm2d, RMSNorm, GELU, DropPath, Dropout, Sequential, Identity } from '../core/nn/index.ts';
import type { StateDict } from '../core/io/tensor-record.ts';

function randArray(n: number, rng: Rng, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

testOnBackends('GELU is the exact erf form', async (t) => {
  const xs = [-3, -1, -0.5, 0, 0.5, 1, 2];
  // 0.5 x (1 + erf(x / sqrt 2)), values of torch.nn.functional.gelu in float64
  const expected = [-0.0040496985260668, -0.15865525393145707, -0.15426876936299347, 0, 0.34573123063700656, 0.8413447460685429, 1.9544997361036416];
  const y = await new GELU().forward(tf.tensor(xs)).data();
  t.true(relErr(y, expected) < 2e-6, `rel err ${relErr(y, expected)}`);
});

testOnBackends('LayerNorm normalises the last dim with biased variance and eps', async (t) => {
  const rng = new Rng(1);
  const C = 6;
  const x = randArray(4 * C, rng, 3);
  const w = randArray(C, rng);
  const b = randArray(C, rng);
  for (const [Cls, eps] of [[LayerNorm, 1e-5], [LayerNorm2d, 1e-6]] as const) {
    const ln = new Cls(C, eps);
    ln.loadStateDict(new Map([['weight', { dtype: 'float32', shape: [C], data: w }], ['bias', { dtype: 'float32', shape: [C], data: b }]]) as StateDict);
    const y = await ln.forward(tf.tensor(x, [2, 2, C])).data();
    const ref = new Float64Array(x.length);
    for (let r = 0; r < 4; r++) {
      let m = 0;
      for (let c = 0; c < C; c++) m += x[r * C + c];
      m /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (x[r * C + c] - m) ** 2;
      v /= C;
      for (let c = 0; c < C; c++) ref[r * C + c] = ((x[r * C + c] - m) / Math.sqrt(v + eps)) * w[c] + b[c];
    }
    t.true(relErr(y, ref) < 1e-5, `${Cls.name} rel err ${relErr(y, ref)}`);
    ln.dispose();
  }
});

testOnBackends('RMSNorm: x / sqrt(mean(x^2) + eps) * weight', async (t) => {
  const rng = new Rng(2);
  const x = randArray(10, rng);
  const norm = new RMSNorm(5, 1e-5);
  const y = await norm.forward(tf.tensor(x, [2, 5])).data();
  const ref: number[] = [];
  for (let r = 0; r < 2; r++) {
    let s = 0;
    for (let c = 0; c < 5; c++) s += x[r * 5 + c] ** 2;
    for (let c = 0; c < 5; c++) ref.push(x[r * 5 + c] / Math.sqrt(s / 5 + 1e-5));
  }
  t.true(relErr(y, ref) < 1e-5);
});

testOnBackends('BatchNorm2d: batch statistics and running-stat update in train, running stats in eval', async (t) => {
  const rng = new Rng(3);
  const [B, H, W, C] = [2, 3, 2, 4];
  const n = B * H * W;
  const x = randArray(n * C, rng, 2);
  for (let i = 0; i < x.length; i++) x[i] += (i % C); // per-channel offsets
  const bn = new BatchNorm2d(C, 1e-5, 0.1);
  const y = await bn.forward(tf.tensor(x, [B, H, W, C])).data();
  const mean = new Float64Array(C), varB = new Float64Array(C);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) mean[c] += x[i * C + c] / n;
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) varB[c] += (x[i * C + c] - mean[c]) ** 2 / n;
  const ref = new Float64Array(x.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) ref[i * C + c] = (x[i * C + c] - mean[c]) / Math.sqrt(varB[c] + 1e-5);
  t.true(relErr(y, ref) < 1e-5, `train output rel err ${relErr(y, ref)}`);
  const rm = await bn.runningMean.data();
  const rv = await bn.runningVar.data();
  const expRm = Array.from(mean, (m) => 0.1 * m);
  const expRv = Array.from(varB, (v) => 0.9 + 0.1 * v * (n / (n - 1))); // unbiased variance
  t.true(relErr(rm, expRm) < 1e-5, 'running_mean');
  t.true(relErr(rv, expRv) < 1e-5, 'running_var');
  t.is((await bn.numBatchesTracked.data())[0], 1);
  bn.eval();
  const ye = await bn.forward(tf.tensor(x, [B, H, W, C])).data();
  const refE = new Float64Array(x.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) refE[i * C + c] = (x[i * C + c] - expRm[c]) / Math.sqrt(expRv[c] + 1e-5);
  t.true(relErr(ye, refE) < 1e-5, 'eval output');
  t.is((await bn.numBatchesTracked.data())[0], 1, 'eval does not count batches');
  const sd = await bn.stateDict();
  t.deepEqual([...sd.keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  t.is(sd.get('num_batches_tracked')!.dtype, 'int64');
});

/** PyTorch Conv2d on NCHW-free index math: x NHWC, weight OIHW (PyTorch layout), groups. */
function convRef(x: Float32Array, [B, H, W, Ci]: number[], w: Float32Array, [Co, Cig, kh, kw]: number[], bias: Float32Array, stride: number, pad: number, dil: number, groups: number) {
  const Ho = Math.floor((H + 2 * pad - dil * (kh - 1) - 1) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - dil * (kw - 1) - 1) / stride) + 1;
  const out = new Float64Array(B * Ho * Wo * Co);
  const cog = Co / groups;
  for (let b = 0; b < B; b++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) for (let o = 0; o < Co; o++) {
    const g = Math.floor(o / cog);
    let s = bias[o];
    for (let ci = 0; ci < Cig; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const ih = oh * stride - pad + i * dil, iw = ow * stride - pad + j * dil;
      if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
      s += x[((b * H + ih) * W + iw) * Ci + g * Cig + ci] * w[((o * Cig + ci) * kh + i) * kw + j];
    }
    out[((b * Ho + oh) * Wo + ow) * Co + o] = s;
  }
  return { out, shape: [B, Ho, Wo, Co] };
}

testOnBackends('Conv2d loads PyTorch OIHW weights: dense, grouped, depthwise (multiplier 2), strided and dilated', async (t) => {
  const rng = new Rng(4);
  const cases = [
    { Ci: 4, Co: 6, k: 3, stride: 1, pad: 1, dil: 1, groups: 1 },
    { Ci: 4, Co: 6, k: 3, stride: 2, pad: 1, dil: 1, groups: 2 },
    { Ci: 4, Co: 8, k: 3, stride: 1, pad: 2, dil: 2, groups: 4 },
    { Ci: 3, Co: 3, k: 7, stride: 2, pad: 3, dil: 1, groups: 3 },
  ];
  for (const c of cases) {
    const xs = [2, 7, 6, c.Ci];
    const x = randArray(xs.reduce((a, b) => a * b), rng);
    const ws = [c.Co, c.Ci / c.groups, c.k, c.k];
    const w = randArray(ws.reduce((a, b) => a * b), rng);
    const bias = randArray(c.Co, rng);
    const conv = new Conv2d(c.Ci, c.Co, c.k, { stride: c.stride, padding: c.pad, dilation: c.dil, groups: c.groups });
    conv.loadStateDict(new Map([['weight', { dtype: 'float32', shape: ws, data: w }], ['bias', { dtype: 'float32', shape: [c.Co], data: bias }]]) as StateDict);
    const y = conv.forward(tf.tensor(x, xs));
    const ref = convRef(x, xs, w, ws, bias, c.stride, c.pad, c.dil, c.groups);
    t.deepEqual(y.shape, ref.shape, JSON.stringify(c));
    const e = relErr(await y.data(), ref.out);
    t.true(e < 1e-5, `${JSON.stringify(c)} rel err ${e}`);
    // export gives back the PyTorch layout bit for bit
    const sd = await conv.stateDict();
    t.deepEqual(sd.get('weight')!.shape, ws);
    t.deepEqual(Array.from(sd.get('weight')!.data), Array.from(w));
    conv.dispose();
  }
});

testOnBackends('Linear keeps PyTorch (out, in) and applies over the last dim', async (t) => {
  const rng = new Rng(5);
  const w = randArray(3 * 4, rng), b = randArray(3, rng), x = randArray(2 * 5 * 4, rng);
  const lin = new Linear(4, 3);
  lin.loadStateDict(new Map([['weight', { dtype: 'float32', shape: [3, 4], data: w }], ['bias', { dtype: 'float32', shape: [3], data: b }]]) as StateDict);
  const y = lin.forward(tf.tensor(x, [2, 5, 4]));
  t.deepEqual(y.shape, [2, 5, 3]);
  const ref: number[] = [];
  for (let r = 0; r < 10; r++) for (let o = 0; o < 3; o++) {
    let s = b[o];
    for (let i = 0; i < 4; i++) s += x[r * 4 + i] * w[o * 4 + i];
    ref.push(s);
  }
  t.true(relErr(await y.data(), ref) < 1e-5);
});

testOnBackends('DropPath drops whole samples and scales survivors by 1/keep; identity in eval', async (t) => {
  manualSeed(7);
  const dp = new DropPath(0.25);
  const B = 400;
  const x = tf.ones([B, 2, 2, 3]);
  const y = (await dp.forward(x).reshape([B, 12]).array()) as number[][];
  let kept = 0;
  for (const row of y) {
    const v = row[0];
    t.true(row.every((e) => e === v), 'the mask is per sample');
    t.true(Math.abs(v) < 1e-6 || Math.abs(v - 1 / 0.75) < 1e-5, `value ${v}`);
    if (v > 0) kept++;
  }
  t.true(kept > 0.65 * B && kept < 0.85 * B, `kept ${kept}/${B}`);
  dp.eval();
  t.is(dp.forward(x), x);
  const drop = new Dropout(0.5);
  const z = await drop.forward(tf.ones([1000])).data();
  t.true(z.every((v) => v === 0 || Math.abs(v - 2) < 1e-6));
});

testOnBackends('loadStateDict is strict: missing, unexpected and misshaped keys are named; non-strict returns them', async (t) => {
  const model = new Sequential(new Conv2d(3, 4, 3), new Identity(), new BatchNorm2d(4));
  const sd = await model.stateDict();
  t.deepEqual([...sd.keys()], ['0.weight', '0.bias', '2.weight', '2.bias', '2.running_mean', '2.running_var', '2.num_batches_tracked']);
  const missing = new Map(sd); missing.delete('2.running_var');
  t.throws(() => model.loadStateDict(missing), { message: /missing key '2\.running_var'/ });
  const extra = new Map(sd); extra.set('3.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
  t.throws(() => model.loadStateDict(extra), { message: /unexpected key '3\.weight'/ });
  const bad = new Map(sd); bad.set('0.weight', { dtype: 'float32', shape: [4, 3, 3, 2], data: new Float32Array(72) });
  t.throws(() => model.loadStateDict(bad), { message: /size mismatch for '0\.weight': checkpoint has \[4,3,3,2\], the model expects \[4,3,3,3\]/ });
  const res = model.loadStateDict(missing, { strict: false });
  t.deepEqual(res.missing, ['2.running_var']);
  t.deepEqual(res.unexpected, []);
});
