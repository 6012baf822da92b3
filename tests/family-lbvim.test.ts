// LBVim (backbones/lbvim.ts on the shared VisionMamba of backbones/vim.ts). No official weights or
// golden file exist, so parity is checked against float64 transcriptions of the official Python and
// CUDA kernel (tests/helpers/vim-reference.ts: the local backward scan of each kernel thread's items,
// the literal flips of hidden_states and residual after every layer), the state-dict names against a
// fixture written by hand from the official constructor, the parameter counts against its arithmetic.
import test from 'ava';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testOnBackends, relErr, setBackend } from './helpers/backends.ts';
import { refMixer, refModel, randomStateDict, seeded, type RefMixerCfg } from './helpers/vim-reference.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { createModel, backbones } from '../backbones/index.ts';
import { MambaMixer, MAMBA_SSM_DEFAULTS } from '../backbones/mamba-mixer.ts';
import type { VisionMamba } from '../backbones/vim.ts';
import { scans } from '../scans/registry.ts';
import { withoutInit } from '../core/nn/init.ts';
import { manualSeed } from '../core/rng.ts';
import { loadCheckpoint } from '../core/io/checkpoint.ts';
import { writeSafetensors } from '../core/io/safetensors.ts';
import type { Module } from '../core/nn/module.ts';

const FIXTURE = JSON.parse(readFileSync('tests/fixtures/vim/state-dict-keys.json', 'utf8'));
const TEST_CFG = backbones.get('test_lbvim').config;

/** The CUDA forward launch's items per thread (LBMamba_kernel/selective_scan_fwd_kernel.cuh, selective_scan_fwd_cuda). */
const kernelWindow = (L: number) => (L <= 128 ? 4 : L <= 256 ? 8 : 16);

/** BiVisionMamba's parameter count (plain Mamba layers, no class token), from its constructor's arithmetic. */
function officialCount(c: Record<string, number>): number {
  const C = c.embed_dim, Di = 2 * C, N = c.d_state ?? 16, R = Math.ceil(C / 16), k = 4, p = c.patch_size;
  const g = Math.floor(((c.img_size ?? 224) - p) / (c.stride ?? 16)) + 1;
  const layer = 2 * Di * C + (Di * k + Di) + (R + 2 * N) * Di + (Di * R + Di) + Di * N + Di + C * Di + C;
  const classes = c.num_classes ?? 1000;
  return c.depth * layer + (3 * C * p * p + C) + g * g * C + (C * classes + classes) + C;
}

function expandFixture(f: { depth: number; before_layers: Array<[string, number[]]>; per_layer: Array<[string, number[]]>; after_layers: Array<[string, number[]]> }): Array<[string, number[]]> {
  const out = [...f.before_layers];
  for (let i = 0; i < f.depth; i++) for (const [k, s] of f.per_layer) out.push([`layers.${i}.${k}`, s]);
  return [...out, ...f.after_layers];
}

const torchShapes = (m: Module): Array<[string, number[]]> => m.namedParameters().map((p) => [p.name, p.torchShape]);

function image(B: number, H: number, W: number, seed: number): { data: Float32Array; x: Tensor; nchw: Float64Array[] } {
  const r = seeded(seed);
  const data = Float32Array.from({ length: B * H * W * 3 }, () => r() * 2 - 1);
  const nchw = Array.from({ length: B }, (_, b) => {
    const o = new Float64Array(3 * H * W);
    for (let c = 0; c < 3; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) o[(c * H + h) * W + w] = data[((b * H + h) * W + w) * 3 + c];
    return o;
  });
  return { data, x: tf.tensor4d(data, [B, H, W, 3]), nchw };
}

test.serial('parameter counts equal the official constructors', async (t) => {
  await setBackend('cpu');
  const names = backbones.list('*').filter((n) => backbones.get(n).family === 'lbvim');
  t.deepEqual(names, ['lbvim_300', 'lbvim_small', 'lbvim_tiny', 'test_lbvim']);
  for (const name of names) {
    const entry = backbones.get(name);
    const m = withoutInit(() => createModel(name));
    const n = m.numParams();
    m.dispose();
    t.is(n, officialCount(entry.config as Record<string, number>), name);
    if (entry.officialParams) t.is(n, entry.officialParams, name);
    t.log(`${name}: ${n.toLocaleString('en')}`);
  }
});

test.serial('state-dict names, order and shapes equal the official constructor (lbvim_tiny)', async (t) => {
  await setBackend('cpu');
  const m = withoutInit(() => createModel('lbvim_tiny'));
  t.deepEqual(torchShapes(m), expandFixture(FIXTURE.lbvim_tiny));
  m.dispose();
  // last_n_layer_vim: the last n layers are Vim's bimamba v2 layers (with the _b tensors)
  const v = withoutInit(() => createModel('test_lbvim', { last_n_layer_vim: 1 }));
  const names = v.namedParameters().map((p) => p.name);
  t.false(names.includes('layers.1.mixer.A_b_log'));
  t.true(names.includes('layers.2.mixer.A_b_log') && names.includes('layers.2.mixer.x_proj_b.weight'));
  v.dispose();
});

test.serial('test_lbvim: forward shapes and featureInfo match the outputs', async (t) => {
  await setBackend('cpu');
  manualSeed(1);
  const m = createModel('test_lbvim').eval();
  const { x } = image(2, 32, 32, 3);
  t.deepEqual(m.forward(x).shape, [2, 10]);
  const feats = m.forwardIntermediates(x);
  t.is(feats.length, m.featureInfo.length);
  feats.forEach((f, i) => t.deepEqual(f.shape, [2, 32 / m.featureInfo[i].reduction, 32 / m.featureInfo[i].reduction, m.featureInfo[i].channels]));
  m.dispose();
});

test.serial('gradients reach every parameter', async (t) => {
  await setBackend('cpu');
  manualSeed(2);
  const m = createModel('test_lbvim').eval();
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
  const a = createModel('test_lbvim').eval();
  const file = join(mkdtempSync(join(tmpdir(), 'ssmv-lbvim-')), 'm.safetensors');
  writeSafetensors(file, await a.stateDict());
  manualSeed(4);
  const b = createModel('test_lbvim').eval();
  const { x } = image(2, 32, 32, 9);
  loadCheckpoint(b, file);
  t.deepEqual(Array.from(await b.forward(x).data()), Array.from(await a.forward(x).data()));
  // a Vim checkpoint of the same size does not load: it has the _b tensors and a class token
  const vim = createModel({ family: 'vim', ...backbones.get('test_vim').config });
  const vimFile = join(mkdtempSync(join(tmpdir(), 'ssmv-lbvim-')), 'v.safetensors');
  writeSafetensors(vimFile, await vim.stateDict());
  t.throws(() => loadCheckpoint(b, vimFile), { message: /size mismatch for 'pos_embed'.*unexpected keys 'cls_token'/ });
  a.dispose();
  b.dispose();
  vim.dispose();
});

/** lbm mixers against the transcription of the LBMamba kernel (window = items per thread). */
testOnBackends('lbm mixer equals the float64 transcription of the LBMamba kernel', async (t, backend) => {
  const cases = [
    { bimamba: 'none' as const, L: 13 }, // window 4, a partial last window
    { bimamba: 'v2' as const, L: 13 }, // BiVisionMamba's default: lbm on the forward branch only
    ...(backend === 'cpu' ? [{ bimamba: 'none' as const, L: 150 }] : []), // window 8
  ];
  for (const c of cases) {
    const mixer = new MambaMixer({ ...MAMBA_SSM_DEFAULTS, d_model: 24, d_state: 4, bimamba_type: c.bimamba, if_divide_out: true, init_layer_scale: null, lbm: true });
    t.is(mixer.window(c.L), kernelWindow(c.L));
    const sd = randomStateDict(torchShapes(mixer), 31);
    mixer.loadStateDict(sd);
    const B = 2, C = 24;
    const r = seeded(32);
    const xs = Float32Array.from({ length: B * c.L * C }, () => r() * 2 - 1);
    const y = await mixer.forward(tf.tensor3d(xs, [B, c.L, C])).data();
    const cfg: RefMixerCfg = { dState: 4, dConv: 4, dtRank: 2, bimamba: c.bimamba, divideOut: true, lbmWindow: kernelWindow(c.L) };
    const ref: number[] = [];
    const refPlain: number[] = [];
    for (let b = 0; b < B; b++) {
      const rows = Array.from({ length: c.L }, (_, l) => Float64Array.from(xs.subarray((b * c.L + l) * C, (b * c.L + l + 1) * C)));
      for (const row of refMixer(rows, sd, '', cfg)) ref.push(...row);
      for (const row of refMixer(rows, sd, '', { ...cfg, lbmWindow: 0 })) refPlain.push(...row);
    }
    const e = relErr(y, ref);
    t.log(`${c.bimamba} L=${c.L} window ${kernelWindow(c.L)}: max|diff|/max|ref| = ${e.toExponential(2)} (plain Mamba differs by ${relErr(y, refPlain).toExponential(2)})`);
    t.true(e <= 1e-4);
    t.true(relErr(y, refPlain) > 1e-3, 'the local backward scan changes the output');
    mixer.dispose();
  }
});

interface ModelCase { name: string; kwargs: Record<string, unknown>; img: number; cls: 'none' | 'middle' | 'head'; pool: 'mean' | 'none'; reverse: boolean; reverseCls: boolean; v2: (i: number) => boolean }
const noVimLayers = (i: number) => i < 0; // every layer is an lbm layer
const MODEL_CASES: ModelCase[] = [
  { name: 'released structure (test_lbvim, 3 layers)', kwargs: {}, img: 32, cls: 'none', pool: 'mean', reverse: true, reverseCls: true, v2: noVimLayers },
  // 3x3 patches: the middle token moves under a flip (index 4 of 10 -> 5): the official output reads
  // index 4 of the final (flipped) sequence
  { name: 'middle class token, odd grid', kwargs: { img_size: 24, if_cls_token: true }, img: 24, cls: 'middle', pool: 'mean', reverse: true, reverseCls: true, v2: noVimLayers },
  { name: 'leading class token kept in place', kwargs: { if_cls_token: true, use_middle_cls_token: false, layerwise_reverse_cls: false }, img: 32, cls: 'head', pool: 'mean', reverse: true, reverseCls: false, v2: noVimLayers },
  { name: 'last token, no layer-wise reverse, last layer Vim', kwargs: { final_pool_type: 'none', layerwise_reverse_sq: false, last_n_layer_vim: 1 }, img: 32, cls: 'none', pool: 'none', reverse: false, reverseCls: true, v2: (i) => i === 2 },
  { name: 'last token after an odd number of flips', kwargs: { final_pool_type: 'none' }, img: 32, cls: 'none', pool: 'none', reverse: true, reverseCls: true, v2: noVimLayers },
];

testOnBackends('LBVim logits and layer outputs equal the float64 transcription of BiVisionMamba.forward', async (t, backend) => {
  for (const c of backend === 'cpu' ? MODEL_CASES : MODEL_CASES.slice(0, 1)) {
    const m = createModel({ family: 'lbvim', ...TEST_CFG, ...c.kwargs }).eval();
    const sd = randomStateDict(torchShapes(m), 41);
    m.loadStateDict(sd);
    const { x, nchw } = image(2, c.img, c.img, 42);
    const y = await m.forward(x).data();
    const feats = await Promise.all(m.forwardIntermediates(x).map((f) => f.data())); // GPU->CPU sync (comparison)
    const ref: number[] = [];
    const refFeats: number[][] = [[], [], []];
    const g = c.img / 8;
    for (const img of nchw) {
      ref.push(...refModel(img, 3, c.img, c.img, sd, {
        patch: 8, stride: 8, depth: 3, cls: c.cls, pool: c.pool, layerwiseReverse: c.reverse, reverseCls: c.reverseCls, eps: 1e-5,
        mixer: (i, L) => (c.v2(i)
          ? { dState: 4, dConv: 4, dtRank: 2, bimamba: 'v2', divideOut: true, lbmWindow: 0 }
          : { dState: 4, dConv: 4, dtRank: 2, bimamba: 'none', divideOut: true, lbmWindow: kernelWindow(L) }),
        onLayer: (i, stream) => {
          // back to the sequence order (i + 1 flips so far), then the patch tokens as a map
          let s = stream;
          if (c.reverse && (i + 1) % 2 === 1) s = c.cls === 'head' && !c.reverseCls ? [s[0], ...s.slice(1).reverse()] : [...s].reverse();
          const p = c.cls === 'middle' ? Math.floor((g * g) / 2) : c.cls === 'head' ? 0 : -1;
          for (const [tIdx, row] of s.entries()) if (tIdx !== p) refFeats[i].push(...row);
        },
      }));
    }
    const e = relErr(y, ref);
    const ef = feats.map((f, i) => relErr(f, refFeats[i]));
    t.log(`${c.name}: logits ${e.toExponential(2)}, layer outputs ${ef.map((v) => v.toExponential(2)).join(' ')}`);
    t.true(e <= 1e-4, c.name);
    ef.forEach((v, i) => t.true(v <= 1e-4, `${c.name}: layer ${i}`));
    m.dispose();
  }
});

test.serial('scan= sets the order every mixer reads (reversed on odd layers)', async (t) => {
  await setBackend('cpu');
  const opts = { scan: 'hilbert', scan_options: { directions: 1 } };
  const route = scans.get('hilbert').plan(4, 4, { directions: 1 }).index;
  // equivalence: model A scanning the Hilbert route on image x == the row-major model B on the image
  // whose patch j is A's patch route[j], with B's pos_embed[j] = A's pos_embed[route[j]] (mean pooling)
  const a = createModel({ family: 'lbvim', ...TEST_CFG, ...opts }).eval();
  const sdA = randomStateDict(torchShapes(a), 51);
  a.loadStateDict(sdA);
  const b = createModel('test_lbvim').eval();
  const sdB = new Map(sdA);
  const pe = sdA.get('pos_embed')!;
  const C = pe.shape[2];
  const peB = new Float32Array(pe.data.length);
  route.forEach((src, j) => peB.set((pe.data as Float32Array).subarray(src * C, (src + 1) * C), j * C));
  sdB.set('pos_embed', { ...pe, data: peB });
  b.loadStateDict(sdB);
  const { data } = image(1, 32, 32, 52);
  const moved = new Float32Array(data.length);
  route.forEach((src, j) => {
    const [sy, sx, dy, dx] = [Math.floor(src / 4) * 8, (src % 4) * 8, Math.floor(j / 4) * 8, (j % 4) * 8];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let ch = 0; ch < 3; ch++) moved[((dy + y) * 32 + dx + x) * 3 + ch] = data[((sy + y) * 32 + sx + x) * 3 + ch];
  });
  const ya = await a.forward(tf.tensor4d(data, [1, 32, 32, 3])).data();
  const yb = await b.forward(tf.tensor4d(moved, [1, 32, 32, 3])).data();
  const yDefault = await (() => { const d = createModel('test_lbvim').eval(); d.loadStateDict(sdA); return d.forward(tf.tensor4d(data, [1, 32, 32, 3])); })().data();
  t.log(`hilbert vs permuted row-major ${relErr(ya, yb).toExponential(2)}; vs unpermuted row-major ${relErr(ya, yDefault).toExponential(2)}`);
  t.true(relErr(ya, yb) <= 1e-5);
  t.true(relErr(ya, yDefault) > 1e-3);
  a.dispose();
  b.dispose();
});

test.serial('bad input: unknown names, unsupported options, scans that do not fit', async (t) => {
  await setBackend('cpu');
  t.throws(() => createModel('lbvim_tiy'), { message: /did you mean lbvim_tiny/ });
  t.throws(() => createModel({ family: 'lbvim', layerwise_reverse: true }), { message: /unknown constructor argument 'layerwise_reverse' \(did you mean layerwise_reverse_sq/ });
  t.throws(() => createModel({ family: 'lbvim', head_type: 'att_qkv_onlyatt_pnorm_nomapq' }), { message: /head_type .* not supported/ });
  t.throws(() => createModel({ family: 'lbvim', use_thread_head_cls_token: true }), { message: /use_thread_head_cls_token=True is not supported/ });
  t.throws(() => createModel('test_lbvim', { scan: 'cross' }), { message: /scan 'cross' has 4 directions; a plain Mamba layer scans one/ });
  t.throws(() => createModel('test_lbvim', { scan: 'hilber' }), { message: /did you mean hilbert/ });
  t.throws(() => createModel('test_lbvim', { if_cls_token: true, scan: 'hilbert', scan_options: { directions: 1 } }), { message: /class token does not allow/ });
  const m = withoutInit(() => createModel('test_lbvim')) as VisionMamba;
  t.throws(() => m.forward(tf.zeros([1, 32, 32, 4])), { message: /NHWC \(B, H, W, 3\)/ });
  m.dispose();
});
