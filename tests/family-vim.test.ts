// Vim (backbones/vim.ts, backbones/mamba-mixer.ts). Golden: a test_vim-sized checkpoint and its logits
// from the OFFICIAL hustvl/Vim code (tests/fixtures/golden/make_vim_golden.py: the official model
// and mixer run unmodified on CPU, the CUDA/Triton kernels replaced by the official pure-PyTorch
// reference functions selective_scan_ref, causal_conv1d_ref, rms_norm_ref). Besides: float64
// transcriptions of the official Python (tests/helpers/vim-reference.ts) for configurations the
// golden file does not cover, the state-dict names and shapes against a fixture written by hand
// from the official constructors, the parameter counts against the constructors' arithmetic.
import test from 'ava';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testOnBackends, relErr, setBackend } from './helpers/backends.ts';
import { refMixer, refModel, randomStateDict, seeded, type RefMixerCfg } from './helpers/vim-reference.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { createModel, backbones } from '../backbones/index.ts';
import { MambaMixer, MAMBA_SSM_DEFAULTS } from '../backbones/mamba-mixer.ts';
import { VisionMamba } from '../backbones/vim.ts';
import { withoutInit } from '../core/nn/init.ts';
import { manualSeed } from '../core/rng.ts';
import { loadCheckpoint } from '../core/io/checkpoint.ts';
import { writeSafetensors, readSafetensors } from '../core/io/safetensors.ts';
import { countFlops } from '../eval/flops.ts';
import type { Module } from '../core/nn/module.ts';

const FIXTURE = JSON.parse(readFileSync('tests/fixtures/vim/state-dict-keys.json', 'utf8'));

/** The official VisionMamba's parameter count, from its constructor's arithmetic (bimamba v2, RMSNorm, d_conv 4, expand 2). */
function officialCount(c: Record<string, number>): number {
  const C = c.embed_dim, Di = 2 * C, N = c.d_state ?? 16, R = Math.ceil(C / 16), k = 4, p = c.patch_size;
  const g = Math.floor(((c.img_size ?? 224) - p) / (c.stride ?? 16)) + 1;
  const branch = Di * k + Di + (R + 2 * N) * Di + Di * R + Di + Di * N + Di; // conv1d, x_proj, dt_proj, A_log, D
  const layer = 2 * Di * C + 2 * branch + C * Di + C; // in_proj, two branches, out_proj, norm
  const classes = c.num_classes ?? 1000;
  return c.depth * layer + (3 * C * p * p + C) + C + (g * g + 1) * C + (C * classes + classes) + C;
}

function expandFixture(f: { depth: number; before_layers: Array<[string, number[]]>; per_layer: Array<[string, number[]]>; after_layers: Array<[string, number[]]> }): Array<[string, number[]]> {
  const out = [...f.before_layers];
  for (let i = 0; i < f.depth; i++) for (const [k, s] of f.per_layer) out.push([`layers.${i}.${k}`, s]);
  return [...out, ...f.after_layers];
}

const torchShapes = (m: Module): Array<[string, number[]]> => m.namedParameters().map((p) => [p.name, p.torchShape]);

/** NHWC float image batch and its NCHW float64 samples for the reference */
function image(B: number, H: number, W: number, seed: number): { x: Tensor; nchw: Float64Array[] } {
  const r = seeded(seed);
  const data = Float32Array.from({ length: B * H * W * 3 }, () => r() * 2 - 1);
  const nchw = Array.from({ length: B }, (_, b) => {
    const o = new Float64Array(3 * H * W);
    for (let c = 0; c < 3; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) o[(c * H + h) * W + w] = data[((b * H + h) * W + w) * 3 + c];
    return o;
  });
  return { x: tf.tensor4d(data, [B, H, W, 3]), nchw };
}

const GOLDEN = 'tests/fixtures/golden/families';
const GOLDEN_ENTRY = JSON.parse(readFileSync(`${GOLDEN}/vim_test.json`, 'utf8'));

testOnBackends('golden checkpoint of the official code (reference kernels) gives the official logits and residual streams', async (t) => {
  const io = readSafetensors(`${GOLDEN}/vim_test.io.safetensors`).tensors;
  const model = createModel({ family: 'vim', ...GOLDEN_ENTRY.constructor }) as VisionMamba;
  t.deepEqual(GOLDEN_ENTRY.constructor, { ...backbones.get('test_vim').config, img_size: 32 }, 'the golden config is test_vim');
  t.is(model.numParams(), GOLDEN_ENTRY.params);
  const res = loadCheckpoint(model, `${GOLDEN}/vim_test.pth`, { strict: true });
  t.is(res.wrapper, 'model');
  model.eval();
  const input = io.get('input')!;
  const x = tf.tensor(input.data, input.shape).transpose([0, 2, 3, 1]);
  const logits = await model.forward(x).data(); // GPU->CPU sync (comparison)
  const e = relErr(logits, io.get('logits')!.data);
  t.log(`logits max|diff|/max|ref| = ${e.toExponential(2)}`);
  t.true(e <= 1e-4, `logits ${e}`);
  // resid{i+1} (B, 17, C, class token at 8) is the stream after layer i = forwardIntermediates[i] plus the class token
  const feats = model.forwardIntermediates(x, { indices: [0, 1] });
  for (let i = 0; i < feats.length; i++) {
    const ref = io.get(`resid${i + 1}`)!;
    const [B, L, C] = ref.shape;
    const patches = tf.tidy(() => {
      const r = tf.tensor3d(ref.data as Float32Array, [B, L, C]);
      return tf.concat([tf.slice(r, [0, 0, 0], [B, 8, C]), tf.slice(r, [0, 9, 0], [B, L - 9, C])], 1).reshape([B, 4, 4, C]);
    });
    const es = relErr(await feats[i].data(), await patches.data()); // GPU->CPU sync (comparison)
    t.log(`stream after layer ${i}: ${es.toExponential(2)}`);
    t.true(es <= 1e-4, `stream after layer ${i}: ${es}`);
    patches.dispose();
  }
  tf.dispose([x, ...feats]);
  model.dispose();
});

test.serial('parameter counts equal the official constructors', async (t) => {
  await setBackend('cpu');
  const names = backbones.list('*').filter((n) => backbones.get(n).family === 'vim');
  t.deepEqual(names, ['test_vim', 'vim_base', 'vim_small', 'vim_small_stride8', 'vim_tiny', 'vim_tiny_stride8']);
  for (const name of names) {
    const entry = backbones.get(name);
    const m = withoutInit(() => createModel(name));
    const n = m.numParams();
    m.dispose();
    t.is(n, officialCount(entry.config as Record<string, number>), name);
    if (entry.officialParams) t.is(n, entry.officialParams, name);
    t.log(`${name}: ${n.toLocaleString('en')}`);
  }
  // models.md 3 (printed from the instantiated official code): 7.148M, 25.797M, 97.598M
  t.is(Math.round(backbones.get('vim_tiny').officialParams! / 1e3), 7148);
  t.is(Math.round(backbones.get('vim_small').officialParams! / 1e3), 25797);
  t.is(Math.round(backbones.get('vim_base').officialParams! / 1e3), 97598);
});

test.serial('state-dict names, order and shapes equal the official constructor (vim_tiny)', async (t) => {
  await setBackend('cpu');
  const m = withoutInit(() => createModel('vim_tiny'));
  t.deepEqual(torchShapes(m), expandFixture(FIXTURE.vim_tiny));
  t.deepEqual(m.namedBuffers(), []);
  m.dispose();
});

test.serial('test_vim: forward shapes and featureInfo match the outputs', async (t) => {
  await setBackend('cpu');
  manualSeed(1);
  const m = createModel('test_vim').eval() as VisionMamba;
  const { x } = image(2, 32, 32, 3);
  t.deepEqual(m.forward(x).shape, [2, 10]);
  const feats = m.forwardIntermediates(x);
  t.is(feats.length, m.featureInfo.length);
  feats.forEach((f, i) => {
    const info = m.featureInfo[i];
    t.deepEqual(f.shape, [2, 32 / info.reduction, 32 / info.reduction, info.channels]);
    t.is(info.module, `layers.${i}`);
  });
  // the last map, normed, is norm_f of the patch tokens the classifier pools (class token removed)
  const [lastNormed] = m.forwardIntermediates(x, { indices: [2], norm: true });
  t.deepEqual(lastNormed.shape, [2, 4, 4, 32]);
  t.throws(() => m.forwardIntermediates(x, { indices: [3] }), { message: /feature index 3 out of range 0\.\.2/ });
  m.dispose();
});

test.serial('gradients reach every parameter', async (t) => {
  await setBackend('cpu');
  manualSeed(2);
  const m = createModel('test_vim').eval();
  const { x } = image(2, 32, 32, 5);
  const w = tf.randomNormal([2, 10], 0, 1, 'float32', 7);
  const params = m.namedParameters();
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(m.forward(x), w)) as tf.Scalar, params.map((p) => p.variable));
  for (const p of params) {
    const g = grads[p.variable.name];
    t.truthy(g, `no gradient for ${p.name}`);
    const v = await g.abs().max().data(); // GPU->CPU sync (test)
    t.true(Number.isFinite(v[0]) && v[0] > 0, `zero or non-finite gradient for ${p.name}`);
  }
  m.dispose();
});

test.serial('export and strict re-import give identical outputs', async (t) => {
  await setBackend('cpu');
  manualSeed(3);
  const a = createModel('test_vim').eval();
  const file = join(mkdtempSync(join(tmpdir(), 'ssmv-vim-')), 'm.safetensors');
  writeSafetensors(file, await a.stateDict());
  manualSeed(4);
  const b = createModel('test_vim').eval();
  const { x } = image(2, 32, 32, 9);
  t.notDeepEqual(Array.from(await b.forward(x).data()), Array.from(await a.forward(x).data()));
  loadCheckpoint(b, file);
  t.deepEqual(Array.from(await b.forward(x).data()), Array.from(await a.forward(x).data()));
  const other = createModel({ family: 'vim', ...backbones.get('test_vim').config, embed_dim: 48 });
  t.throws(() => loadCheckpoint(other, file), { message: /size mismatch for 'cls_token'/ });
  a.dispose();
  b.dispose();
  other.dispose();
});

const MIXER_CFG: RefMixerCfg = { dState: 4, dConv: 4, dtRank: 2, bimamba: 'v2', divideOut: true, lbmWindow: 0 };

testOnBackends('bimamba v2 mixer equals the float64 transcription of Mamba.forward', async (t) => {
  const mixer = new MambaMixer({ ...MAMBA_SSM_DEFAULTS, d_model: 24, d_state: 4, bimamba_type: 'v2', if_divide_out: true, init_layer_scale: null, lbm: false });
  const sd = randomStateDict(torchShapes(mixer), 11);
  mixer.loadStateDict(sd);
  const B = 2, L = 13, C = 24;
  const r = seeded(12);
  const xs = Float32Array.from({ length: B * L * C }, () => r() * 2 - 1);
  const y = await mixer.forward(tf.tensor3d(xs, [B, L, C])).data();
  const ref: number[] = [];
  for (let b = 0; b < B; b++) {
    const rows = Array.from({ length: L }, (_, l) => Float64Array.from(xs.subarray((b * L + l) * C, (b * L + l + 1) * C)));
    for (const row of refMixer(rows, sd, '', MIXER_CFG)) ref.push(...row);
  }
  const e = relErr(y, ref);
  t.log(`mixer max|diff|/max|ref| = ${e.toExponential(2)}`);
  t.true(e <= 1e-4);
  // the /2 is there: without if_divide_out the backward branch's output is summed
  const sum = new MambaMixer({ ...MAMBA_SSM_DEFAULTS, d_model: 24, d_state: 4, bimamba_type: 'v2', if_divide_out: false, init_layer_scale: null, lbm: false });
  sum.loadStateDict(sd);
  const ySum = await sum.forward(tf.tensor3d(xs, [B, L, C])).data();
  const refSum: number[] = [];
  for (let b = 0; b < B; b++) {
    const rows = Array.from({ length: L }, (_, l) => Float64Array.from(xs.subarray((b * L + l) * C, (b * L + l + 1) * C)));
    for (const row of refMixer(rows, sd, '', { ...MIXER_CFG, divideOut: false })) refSum.push(...row);
  }
  t.true(relErr(ySum, refSum) <= 1e-4);
  mixer.dispose();
  sum.dispose();
});

test.serial('init_layer_scale registers gamma (d_model) first and scales the mixer output', async (t) => {
  await setBackend('cpu');
  const cfg = { ...MAMBA_SSM_DEFAULTS, d_model: 24, d_state: 4, bimamba_type: 'v2' as const, if_divide_out: true, lbm: false };
  const plain = new MambaMixer({ ...cfg, init_layer_scale: null });
  const scaled = new MambaMixer({ ...cfg, init_layer_scale: 0.25 });
  t.deepEqual(torchShapes(scaled).slice(0, 2), [['gamma', [24]], ['A_log', [48, 4]]]);
  const sd = randomStateDict(torchShapes(plain), 13);
  plain.loadStateDict(sd);
  scaled.loadStateDict(new Map([...sd, ['gamma', { dtype: 'float32' as const, shape: [24], data: new Float32Array(24).fill(0.25) }]]));
  const x = tf.randomNormal([1, 7, 24], 0, 1, 'float32', 14);
  const a = await plain.forward(x).data();
  const b = await scaled.forward(x).data();
  t.true(relErr(b, Float32Array.from(a, (v) => v * 0.25)) <= 1e-6);
  plain.dispose();
  scaled.dispose();
});

/** test_vim-sized models: middle class token (released), leading class token, none with mean pooling */
const MODEL_CASES = [
  { name: 'middle class token', kwargs: {}, cls: 'middle' as const, pool: 'mean' as const },
  { name: 'leading class token', kwargs: { use_middle_cls_token: false }, cls: 'head' as const, pool: 'mean' as const },
  { name: 'no class token, last token', kwargs: { if_cls_token: false, final_pool_type: 'none' }, cls: 'none' as const, pool: 'none' as const },
];

testOnBackends('test_vim logits equal the float64 transcription of VisionMamba.forward', async (t, backend) => {
  for (const c of backend === 'cpu' ? MODEL_CASES : MODEL_CASES.slice(0, 1)) {
    const m = createModel({ family: 'vim', ...backbones.get('test_vim').config, ...c.kwargs }).eval();
    const sd = randomStateDict(torchShapes(m), 21);
    m.loadStateDict(sd);
    const { x, nchw } = image(2, 32, 32, 22);
    const y = await m.forward(x).data();
    const ref: number[] = [];
    for (const img of nchw) {
      ref.push(...refModel(img, 3, 32, 32, sd, {
        patch: 8, stride: 8, depth: 3, cls: c.cls, pool: c.pool, layerwiseReverse: false, reverseCls: true, eps: 1e-5,
        mixer: () => MIXER_CFG,
      }));
    }
    const e = relErr(y, ref);
    t.log(`${c.name}: logits max|diff|/max|ref| = ${e.toExponential(2)}`);
    t.true(e <= 1e-4, c.name);
    m.dispose();
  }
});

test.serial('FLOPs in the fvcore convention (eval/flops.ts) count every projection and both scans', async (t) => {
  await setBackend('cpu');
  // the layers are identical: count 1- and 2-layer models at 224 (a full 24-layer pass on tfjs-cpu
  // takes minutes) and extrapolate to the released depth
  const flopsOf = async (name: string, depth: number) => {
    const m = withoutInit(() => createModel(name, { depth })).eval();
    const x = tf.zeros([1, 224, 224, 3]);
    const f = await countFlops(() => m.forward(x));
    m.dispose();
    x.dispose();
    return f.total;
  };
  // fvcore rules on the official module structure, L = 197 tokens: per layer in_proj, 2 x (x_proj,
  // delta_proj, selective_scan_flop_jit 9LDN + LD), out_proj; outside the layers the patch conv and the head
  const perLayer = (C: number) => {
    const L = 197, Di = 2 * C, N = 16, R = Math.ceil(C / 16);
    return L * C * 2 * Di + 2 * (L * Di * (R + 2 * N) + L * R * Di + 9 * L * Di * N + L * Di) + L * Di * C;
  };
  const outside = (C: number) => 196 * C * 3 * 16 * 16 + C * 1000;
  for (const [name, C] of [['vim_tiny', 192], ['vim_small', 384]] as const) {
    const f1 = await flopsOf(name, 1);
    const f2 = await flopsOf(name, 2);
    t.is(f2 - f1, perLayer(C), `${name} per layer`);
    t.is(f1 - (f2 - f1), outside(C), `${name} patch embed + head`);
    const full = f1 + 23 * (f2 - f1);
    const published = backbones.get(name).publishedFlops!;
    // the published 1.5G / 5.1G (LocalMamba README) follow LocalMamba's VisionMamba.flops(): 5LDN per
    // scan direction, x_proj/dt_proj counted once, L = 196 — not fvcore's selective_scan_flop_jit
    t.log(`${name}: ${(full / 1e9).toFixed(3)} G (fvcore convention, 24 layers) vs published ${(published / 1e9).toFixed(1)} G: +${((full / published - 1) * 100).toFixed(1)}%`);
  }
});

test.serial('bad input: unknown variant and argument names, unsupported options, wrong layout or size', async (t) => {
  await setBackend('cpu');
  t.throws(() => createModel('vim_tinny'), { message: /did you mean vim_tiny/ });
  t.throws(() => createModel({ family: 'vim', embed_dims: 192 }), { message: /unknown constructor argument 'embed_dims' \(did you mean embed_dim/ });
  t.throws(() => createModel({ family: 'vim', ssm_cfg: { d_convv: 3 } }), { message: /ssm_cfg: unknown constructor argument 'd_convv' \(did you mean d_conv/ });
  t.throws(() => createModel({ family: 'vim', if_rope: true }), { message: /if_rope=True .* not supported/ });
  t.throws(() => createModel({ family: 'vim', bimamba_type: 'v1' }), { message: /bimamba_type 'v1' is not supported/ });
  t.throws(() => createModel({ family: 'vim', ssm_cfg: { use_fast_path: false } }), { message: /ignores the '_b' parameters/ });
  // official callers' extra kwargs (swallowed by **kwargs upstream) are accepted
  const m = withoutInit(() => createModel('test_vim', { pretrained: false, drop_block_rate: null, if_devide_out: true })) as VisionMamba;
  t.throws(() => m.forward(tf.zeros([1, 3, 32, 32])), { message: /NHWC \(B, H, W, 3\)/ });
  t.throws(() => m.forward(tf.zeros([1, 48, 48, 3])), { message: /pos_embed has 17: build the model with img_size matching the input \(32 now\)/ });
  m.dispose();
});
