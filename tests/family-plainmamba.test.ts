// PlainMamba: numeric parity with the OFFICIAL code is checked against a golden checkpoint + logits made
// from the unmodified ChenhongyiYang/PlainMamba code (tests/fixtures/golden/make_plainmamba_golden.py:
// the official backbone, layer, patch embed and neck on CPU, mamba_ssm's CUDA scan replaced by the
// official pure-PyTorch selective_scan_ref, mmcv/mmcls infrastructure shimmed), at 64x64 (the default
// 4x4 grid) and at 48x88 (a 3x6 grid: corner padding, bicubic pos_embed resize, computed scan orders).
// Besides: the parameter counts derived from the official code, the L3 key shapes printed from the
// official code (models.md 6.2), the scan orders and direction codes of get_permute_order (values from
// models.md), PlainMamba2D against a plain float64 loop of the official forward (its raster-order
// dt/B/C and double dt bias), PyTorch's bicubic pos_embed resize on a hand-worked value, and the test_
// variant's contract.
import test from 'ava';
import { testOnBackends, relErr, setBackend } from './helpers/backends.ts';
import { paramCountTest, blockGradTest } from './helpers/family-suite.ts';
import { variantContract } from './helpers/family-suite.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { readFileSync } from 'node:fs';
import { createModel, backbones } from '../backbones/index.ts';
import { loadCheckpoint } from '../core/io/checkpoint.ts';
import { readSafetensors } from '../core/io/safetensors.ts';
import { PlainMamba, PlainMamba2D, bicubicMatrix } from '../backbones/plainmamba.ts';
import { withoutInit } from '../core/nn/init.ts';
import { manualSeed } from '../core/rng.ts';

paramCountTest('plainmamba');
// gradients at 32x32 (a 2x2 grid): the 64-channel stem's filter gradients dominate the cost on cpu
variantContract('plainmamba', { gradInput: [32, 32], typo: { variant: 'plainmamba_l4', expect: 'plainmamba_l1' }, badKwarg: { key: 'embed_dim', expect: 'embed_dims' } });

// one layer with L1's dw conv branch (BatchNorm) and a 3x3 patch grid, on every backend (no extra
// patch-embed conv: the contract test covers it on cpu)
blockGradTest('plainmamba: one-layer model (stem, pos_embed, PlainMamba2D, dw branch, head), gradients on cpu and webgpu agree', () =>
  createModel({ family: 'plainmamba', img_size: 48, embed_dims: 16, num_layers: 1, num_convs_patch_embed: 0, layers_with_dwconv: [0], num_classes: 4, layer_cfgs: { use_rms_norm: false, mamba_cfg: { bias: true } } }), [1, 48, 48, 3]);

const GOLDEN = 'tests/fixtures/golden/families';
const GOLDEN_ENTRY = JSON.parse(readFileSync(`${GOLDEN}/plainmamba_test.json`, 'utf8'));

testOnBackends('plainmamba: golden checkpoint of the official code (reference scan) gives the official logits and features', async (t) => {
  const io = readSafetensors(`${GOLDEN}/plainmamba_test.io.safetensors`).tensors;
  const cfg = { ...GOLDEN_ENTRY.constructor, num_classes: GOLDEN_ENTRY.num_classes };
  t.deepEqual(cfg, backbones.get('test_plainmamba').config, 'the golden config is test_plainmamba');
  const model = createModel('test_plainmamba') as PlainMamba;
  t.is(model.numParams(), GOLDEN_ENTRY.params);
  const res = loadCheckpoint(model, `${GOLDEN}/plainmamba_test.pth`, { strict: true });
  t.is(res.wrapper, 'state_dict');
  model.eval();
  const nhwc = (name: string) => { const r = io.get(name)!; return tf.tensor(r.data, r.shape).transpose([0, 2, 3, 1]); };
  const check = async (what: string, got: Tensor, ref: string) => {
    const e = relErr(await got.data(), io.get(ref)!.data); // GPU->CPU sync (comparison)
    t.log(`${what}: max|diff|/max|ref| = ${e.toExponential(2)}`);
    t.true(e <= 1e-4, `${what}: ${e}`);
  };
  const x = nhwc('input');
  const logits = model.forward(x);
  await check('logits (2,3,64,64)', logits, 'logits');
  // (B, H*W, C) row-major tokens of the official hooks = our (B, H, W, C) maps
  const bb = model.backbone;
  const feats = tf.tidy(() => {
    const out: Tensor[] = [bb.embed(x)];
    for (const layer of bb.layers.items) out.push(layer.forward(out[out.length - 1]));
    out.push(bb.ln1!.forward(out[out.length - 1]));
    return out;
  });
  const names = ['embed', ...bb.layers.items.map((_, i) => `layer${i}`), 'final'];
  for (let i = 0; i < names.length; i++) await check(names[i], feats[i], names[i]);
  const x2 = nhwc('input2');
  const logits2 = model.forward(x2);
  await check('logits (1,3,48,88): 3x6 grid, padded, pos_embed resized', logits2, 'logits2');
  tf.dispose([x, x2, logits, logits2, ...feats]);
  model.dispose();
});

const shapes = (m: ReturnType<typeof createModel>) => new Map(m.namedParameters().map((p) => [p.name, p.torchShape]));

test.serial('plainmamba: L3 state-dict names and shapes as the official keys (mmcls backbone.* / head.fc.*)', async (t) => {
  await setBackend('cpu');
  const m = withoutInit(() => createModel('plainmamba_l3'));
  const s = shapes(m);
  // models.md 6.2, printed from the official code
  const layer: Record<string, number[]> = {
    'norm.weight': [448], 'mamba.A_log': [896, 16], 'mamba.D': [896], 'mamba.direction_Bs': [5, 16],
    'mamba.in_proj.weight': [1792, 448], 'mamba.in_proj.bias': [1792], 'mamba.conv2d.weight': [896, 1, 7, 7], 'mamba.conv2d.bias': [896],
    'mamba.x_proj.weight': [60, 896], 'mamba.dt_proj.weight': [896, 28], 'mamba.dt_proj.bias': [896],
    'mamba.out_proj.weight': [448, 896], 'mamba.out_proj.bias': [448],
  };
  for (const [k, v] of Object.entries(layer)) t.deepEqual(s.get(`backbone.layers.35.${k}`), v, k);
  t.is([...s.keys()].filter((k) => k.startsWith('backbone.layers.35.')).length, Object.keys(layer).length + 1, 'and norm.bias, nothing else');
  const rest: Record<string, number[]> = {
    'backbone.patch_embed.stem.0.weight': [64, 3, 7, 7], 'backbone.patch_embed.stem.1.weight': [64],
    'backbone.patch_embed.convs.3.weight': [64, 64, 3, 3], 'backbone.patch_embed.projection.weight': [448, 64, 8, 8],
    'backbone.pos_embed': [1, 196, 448], 'backbone.ln1.weight': [448], 'head.fc.weight': [1000, 448], 'head.fc.bias': [1000],
  };
  for (const [k, v] of Object.entries(rest)) t.deepEqual(s.get(k), v, k);
  t.false([...s.keys()].some((k) => k.includes('.dw.')), 'L3 has no dw layers');
  t.true(m.namedBuffers().some((b) => b.name === 'backbone.patch_embed.convs.4.running_mean'));
  m.dispose();
  const l1 = withoutInit(() => createModel('plainmamba_l1'));
  const s1 = shapes(l1);
  t.deepEqual(s1.get('backbone.layers.0.dw.0.weight'), [192, 1, 3, 3]);
  t.deepEqual(s1.get('backbone.layers.0.dw.1.weight'), [192]);
  t.false(s1.has('backbone.layers.1.dw.0.weight'));
  t.false(s1.has('backbone.patch_embed.convs.3.weight'), 'L1 has one patch-embed conv');
  l1.dispose();
});

// ---- get_permute_order, ported as a plain loop (independent of scans/routes.ts) -----------------

/** The 4 orders (map positions in scan order) and their step codes (0 start, 1 right, 2 left, 3 up, 4 down). */
function permuteOrder(H: number, W: number): { orders: number[][]; codes: number[][] } {
  const walk = (i0: number, j0: number, rows: boolean, forward: boolean, dir: 1 | -1) => {
    // rows: snake along rows moving vertically by `forward` (down when true); else along columns
    const o: number[] = [];
    const d: number[] = [];
    let [i, j, s] = [i0, j0, dir];
    const inside = () => (rows ? (forward ? i < H : i > -1) : (forward ? j < W : j > -1));
    while (inside()) {
      o.push(i * W + j);
      if (rows) {
        if ((s === 1 && j < W - 1) || (s === -1 && j > 0)) { j += s; d.push(s === 1 ? 1 : 2); } else { i += forward ? 1 : -1; d.push(forward ? 4 : 3); s = -s as 1 | -1; }
      } else if ((s === 1 && i < H - 1) || (s === -1 && i > 0)) { i += s; d.push(s === 1 ? 4 : 3); } else { j += forward ? 1 : -1; d.push(forward ? 1 : 2); s = -s as 1 | -1; }
    }
    return { o, d: [0, ...d.slice(0, -1)] };
  };
  const o1 = walk(0, 0, true, true, 1);
  const o2 = H % 2 ? walk(H - 1, W - 1, true, false, -1) : walk(H - 1, 0, true, false, 1);
  const o3 = walk(0, 0, false, true, 1);
  const o4 = W % 2 ? walk(H - 1, W - 1, false, false, -1) : walk(0, W - 1, false, false, 1);
  return { orders: [o1.o, o2.o, o3.o, o4.o], codes: [o1.d, o2.d, o3.d, o4.d] };
}

test.serial('plainmamba: the ported get_permute_order gives the official orders (models.md 6.2, H=3 W=4)', (t) => {
  const { orders, codes } = permuteOrder(3, 4);
  t.deepEqual(orders[0], [0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11]);
  t.deepEqual(orders[2], [0, 4, 8, 9, 5, 1, 2, 6, 10, 11, 7, 3]);
  t.deepEqual(codes[0], [0, 1, 1, 1, 4, 2, 2, 2, 4, 1, 1, 1]);
  t.deepEqual(orders[1], [...orders[0]].reverse());
  t.deepEqual(orders[3], [...orders[2]].reverse());
  for (const o of permuteOrder(4, 5).orders) t.deepEqual([...o].sort((a, b) => a - b), [...Array(20).keys()]);
});

/**
 * PlainMamba2D.forward as the official code computes it, in float64 loops from the module's own
 * projections: per order k, u = x_conv at o_k[t], delta = softplus(dt[t] + dt_bias) with dt already
 * biased (raster index t, not permuted), B = B[t] + direction_Bs[code_k[t]], C = C[t]; the output of
 * step t lands at o_k[t]; sum over k, * silu(z), out_proj. permuted=true reads dt/B/C at o_k[t]
 * instead (the intended semantics), to show the test tells the two apart.
 */
async function officialMamba2D(m: PlainMamba2D, x: Tensor, permuted = false): Promise<Float32Array> {
  const [Bn, H, W] = x.shape;
  const E = m.dInner, N = m.dState, R = m.dtRank, P = H * W;
  const [xm, z] = tf.split(m.in_proj.forward(x), 2, 3);
  const xc = tf.mul(m.conv2d.forward(xm), tf.sigmoid(m.conv2d.forward(xm)));
  const [dtr, Bs, Cs] = tf.split(m.x_proj!.forward(xc), [R, N, N], 3);
  const dt = m.dt_proj!.forward(dtr);
  const [u, dl, b, c, A, D, bias, dirB] = await Promise.all([xc, dt, Bs, Cs, tf.neg(tf.exp(m.A_log!)), m.D!, m.dt_proj!.bias!, m.direction_Bs!].map((v) => v.data())); // CPU reads
  const { orders, codes } = permuteOrder(H, W);
  const y = new Float64Array(Bn * P * E);
  const h = new Float64Array(N);
  for (let k = 0; k < 4; k++) {
    for (let bi = 0; bi < Bn; bi++) {
      for (let e = 0; e < E; e++) {
        h.fill(0);
        for (let t = 0; t < P; t++) {
          const p = orders[k][t];
          const r = permuted ? p : t; // the official reads dt/B/C at raster index t
          const uu = u[(bi * P + p) * E + e];
          const pre = dl[(bi * P + r) * E + e] + bias[e];
          const delta = pre > 20 ? pre : Math.log1p(Math.exp(pre));
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const bn = b[(bi * P + r) * N + n] + dirB[codes[k][t] * N + n];
            h[n] = Math.exp(delta * A[e * N + n]) * h[n] + delta * bn * uu;
            acc += c[(bi * P + r) * N + n] * h[n];
          }
          y[(bi * P + p) * E + e] += acc + D[e] * uu;
        }
      }
    }
  }
  const ys = tf.tensor(Float32Array.from(y), [Bn, H, W, E]);
  const out = m.out_proj.forward(tf.mul(ys, tf.mul(z, tf.sigmoid(z))));
  return (await out.data()) as Float32Array; // CPU read
}

/** A PlainMamba2D (L1's mamba_cfg at width 8) with every parameter moved well away from its init. */
function perturbedMamba2D(): PlainMamba2D {
  manualSeed(21);
  const m = new PlainMamba2D(8, { d_state: 16, expand: 2, conv_size: 7, conv_bias: true, bias: true }, null, {});
  m.namedParameters().forEach((p, i) => p.variable.assign(tf.add(p.variable, tf.randomNormal(p.variable.shape, 0, 0.3, 'float32', 100 + i))));
  return m;
}

testOnBackends('plainmamba: PlainMamba2D (fused zigzag plan) equals a float64 loop of the official forward, quirks included', async (t, backend) => {
  const m = perturbedMamba2D();
  // H odd / W even and H even / W odd cover both starts of o2 and o4
  for (const [H, W] of backend === 'cpu' ? [[5, 4], [4, 5]] : [[5, 4]]) {
    const x = tf.randomNormal([2, H, W, 8], 0, 1, 'float32', 31);
    const ours = await m.forward(x).data();
    const ref = await officialMamba2D(m, x);
    const e = relErr(ours, ref);
    t.log(`${H}x${W}: max|diff|/max|ref| = ${e.toExponential(2)}`);
    t.true(e <= 1e-4, `${H}x${W}: ${e}`);
    if (backend === 'cpu') {
      const intended = await officialMamba2D(m, x, true);
      t.true(relErr(intended, ref) > 1e-2, 'the raster-order quirk changes the result, so the comparison can tell');
    }
  }
  m.dispose();
});

test.serial('plainmamba: pos_embed resize is PyTorch bicubic (align_corners=False, A=-0.75, clamped taps)', async (t) => {
  await setBackend('cpu');
  const m = bicubicMatrix(8, 4);
  // output 0 of 4 -> 8: source -0.25, taps at -2, -1, 0, 1 (clamped to 0, 0, 0, 1), t = 0.75:
  // weights far(1.75) = -0.03515625, near(0.75) = 0.26171875, near(0.25) = 0.87890625, far(1.25) = -0.10546875
  t.deepEqual(Array.from(m.subarray(0, 4)), [-0.03515625 + 0.26171875 + 0.87890625, -0.10546875, 0, 0]);
  for (let o = 0; o < 8; o++) t.true(Math.abs(m.subarray(o * 4, o * 4 + 4).reduce((a, b) => a + b, 0) - 1) < 1e-6, `row ${o} sums to 1`);
  t.deepEqual(Array.from(bicubicMatrix(3, 3)), [1, 0, 0, 0, 1, 0, 0, 0, 1], 'same size is the identity');
  // the test variant was built for 64x64 (4x4 grid); 80x48 reads a 5x3 bicubic resize of pos_embed
  manualSeed(8);
  const model = createModel('test_plainmamba').eval() as PlainMamba;
  t.deepEqual(model.backbone.patchResolution, [4, 4]);
  t.deepEqual(model.forwardIntermediates(tf.zeros([1, 80, 48, 3]))[0].shape, [1, 5, 3, 32]);
  model.dispose();
});

test.serial('plainmamba: arch_zoo and layer_cfgs as the official constructor takes them; scan replacement; out_indices', async (t) => {
  await setBackend('cpu');
  t.throws(() => createModel({ family: 'plainmamba', embed_dims: 16, num_layers: 1 }), { message: /layer_cfgs\.use_rms_norm \(true\/false\) is required/ });
  t.throws(() => createModel({ family: 'plainmamba', arch: 'L4' }), { message: /unknown arch 'L4' \(L1, L2, L3\)/ });
  t.throws(() => createModel('test_plainmamba', { layer_cfgs: { use_rms_norm: false, mamba_cfg: { d_stat: 4 } } }), { message: /unknown mamba_cfg key 'd_stat'/ });
  const rms = withoutInit(() => createModel('test_plainmamba', { layer_cfgs: { use_rms_norm: true, mamba_cfg: {} } }));
  t.true(shapes(rms).has('backbone.layers.0.norm.weight') && !shapes(rms).has('backbone.layers.0.norm.bias'), 'RMSNorm has no bias');
  t.false(shapes(rms).has('backbone.layers.0.mamba.in_proj.bias'), 'bias=False is the PlainMamba2D default');
  rms.dispose();
  manualSeed(9);
  const z = createModel('test_plainmamba', { scan: 'zigzag' }).eval();
  const s = shapes(z);
  t.deepEqual(s.get('backbone.layers.1.mamba.direction_Bs'), [5, 16], "'zigzag' brings its own direction_Bs");
  t.deepEqual(s.get('backbone.layers.1.mamba.x_proj_weight'), [4, 34, 64]);
  t.false(s.has('backbone.layers.1.mamba.A_log'));
  t.deepEqual(z.forward(tf.zeros([1, 64, 64, 3])).shape, [1, 10]);
  z.dispose();
  const multi = createModel('test_plainmamba', { out_indices: [0, 1] }).eval() as PlainMamba;
  t.deepEqual(multi.featureInfo.map((f) => f.module), ['backbone.layers.0', 'backbone.layers.1']);
  t.true(shapes(multi).has('backbone.norm_layer0.weight') && !shapes(multi).has('backbone.norm_layer1.weight'), 'the last layer uses ln1');
  t.deepEqual(multi.forwardIntermediates(tf.zeros([2, 64, 32, 3])).map((f) => f.shape), [[2, 4, 2, 32], [2, 4, 2, 32]]);
  multi.dispose();
});
