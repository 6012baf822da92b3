// PlainMamba: Improving Non-Hierarchical Mamba in Visual Recognition (Yang et al., BMVC 2024,
// arXiv 2403.17695). Port of ChenhongyiYang/PlainMamba@0975a1d mmcls/plain_mamba_dev/models/
// plain_mamba/plain_mamba.py (PlainMamba backbone, arch_zoo L1/L2/L3), plain_mamba_layer.py
// (PlainMambaLayer, PlainMamba2D), modules/patch_embed.py (ConvPatchEmbed), necks/custom_avg_pooling.py,
// and the mmcls ImageClassifier + LinearClsHead of plain_mamba_configs/plain_mamba_l{1,2,3}_in1k_300e.py.
// Activations are NHWC (the official token sequences (B, H*W, C) are row-major maps).
//
// State-dict names: the model *is* the mmcls ImageClassifier, so its keys are the released
// checkpoints' own (`backbone.patch_embed.stem.0.weight`, `backbone.layers.3.mamba.direction_Bs`,
// `backbone.ln1.weight`, `head.fc.weight`): they load with no key filter (mmcv's CheckpointHook saves
// {'meta', 'state_dict', 'optimizer'}; loadCheckpoint unwraps 'state_dict').
//
// PlainMamba2D is ported with the two quirks of the official forward (models.md 6.2 / 10.9), which the
// registered 'zigzag' strategy deliberately does not have:
//   * dt, B and C are NOT permuted: the k-th step of every scan order reads dt/B/C of raster position
//     k (only u = the conv output is permuted), and the direction embedding of the k-th *step* is added
//     to the raster-order B;
//   * delta = dt_proj(dt) already includes dt_proj.bias and the scan adds dt_proj.bias again (delta_bias).
// The 4 orders share A_log, D and x_proj/dt_proj; the skip term D*u is added by each of the 4 scans.
// Here one fused selective scan runs the zigzag plan (u gathered along each order in the kernel); dt, B
// and C are pre-gathered per order by the inverse order, so the kernel's plan-order read lands on the
// raster position the official code uses.
// `scan: '<name>'` replaces this core by any registered strategy on the SS2D core (scans/core.ts): the
// layer then has the strategy's per-direction SSM parameters (x_proj_weight, ..., direction_Bs for
// 'zigzag', which is PlainMamba's scan with the quirks removed) instead of x_proj/dt_proj/A_log/D, so
// official checkpoints do not load into such a model.
//
// Parameter counts (classifier with the 1000-class head; backbone alone in brackets), derived from the
// official constructors by reading the code (no PyTorch here), per layer with C = embed_dims, E = 2C,
// N = 16, R = ceil(C/16): norm 2C, in_proj 2EC+2E, conv2d 49E+E, x_proj (R+2N)E, dt_proj RE+E, A_log EN,
// D E, out_proj EC+C, direction_Bs 5N; ConvPatchEmbed 3*64*49 + 128 + num_convs*(64*64*9 + 128) +
// 64*C*64 + C; pos_embed 196C; ln1 2C; L1's layer-0 dw 9C + 2C; head.fc 1000C + 1000:
//   L1 7,551,656 (7,358,656) · L2 26,145,832 (25,760,832) · L3 50,956,456 (50,507,456)
// The README's 7.3M / 25.7M / 50.5M are the backbone counts; the key shapes agree with the L3 keys
// listed in models.md 6.2 (printed from the official code). Numeric parity with the official code is
// verified for the toy `test_plainmamba` (tests/family-plainmamba.test.ts): a golden checkpoint and its
// logits/features made by tests/fixtures/golden/make_plainmamba_golden.py from the unmodified official
// PlainMamba, PlainMambaLayer/PlainMamba2D, ConvPatchEmbed and neck (CPU fp32, mamba_ssm's CUDA scan
// replaced by the official selective_scan_ref, mmcv/mmcls infrastructure shimmed) load strictly and
// match to ~3e-7 (logits) on cpu and webgpu, at 64x64 and at 48x88 (corner padding, resized pos_embed,
// computed scan orders), which confirms the quirks above. The released L1/L2/L3 weights are not tested.
// FLOPs: not given in the README.
import { tf, type Tensor } from '../core/tf.ts';
import {
  Module, Linear, Conv2d, LayerNorm, RMSNorm, BatchNorm2d, GELU, SiLU, ReLU, Dropout, DropPath, Sequential, ModuleList,
  truncNormal, type Layer, type LayerModule,
} from '../core/nn/index.ts';
import '../scans/index.ts';
import { SS2DCore, toMap } from '../scans/core.ts';
import { scans, type ScanOptions } from '../scans/registry.ts';
import { moveCodes, routeOf } from '../scans/routes.ts';
import { selectiveScan } from '../scans/kernel/selective-scan/index.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type Backbone, type FeatureInfo, type ForwardIntermediatesOptions, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';

// ---- config (the official PlainMamba backbone's keyword names and defaults, + the head's num_classes) ----

export interface MambaCfg {
  d_state?: number; expand?: number; dt_rank?: number | 'auto'; dt_min?: number; dt_max?: number; dt_init?: string;
  dt_scale?: number; dt_init_floor?: number; conv_size?: number; conv_bias?: boolean; bias?: boolean;
  init_layer_scale?: number | null; default_hw_shape?: number[] | null;
}
export interface LayerCfg { use_rms_norm?: boolean; mamba_cfg?: MambaCfg }

export const PLAINMAMBA_DEFAULTS = {
  img_size: 224 as number | number[], in_channels: 3, arch: null as string | null, patch_size: 16, embed_dims: 192, num_layers: 20,
  num_convs_patch_embed: 1, with_pos_embed: true, out_indices: -1 as number | number[], drop_rate: 0.0, drop_path_rate: 0.0,
  norm_cfg: { type: 'LN', eps: 1e-6 } as { type: string; eps?: number } | null, final_norm: true, interpolate_mode: 'bicubic',
  layer_cfgs: {} as LayerCfg | LayerCfg[], layers_with_dwconv: [] as number[],
  // LinearClsHead(num_classes, in_channels = embed_dims)
  num_classes: 1000,
  // ssm-vision addition: a registered scan strategy instead of PlainMamba2D's own scan (null)
  scan: null as string | null, scan_options: {} as ScanOptions,
};
export type PlainMambaConfig = typeof PLAINMAMBA_DEFAULTS;

/** accepted and ignored: mmcv init/test configs and training switches */
const IGNORED_KWARGS = ['init_cfg', 'test_cfg', 'convert_syncbn', 'freeze_patch_embed', 'pretrained'];

const MAMBA_CFG_DEFAULTS: Required<MambaCfg> = {
  d_state: 16, expand: 2, dt_rank: 'auto', dt_min: 0.001, dt_max: 0.1, dt_init: 'random', dt_scale: 1.0, dt_init_floor: 1e-4,
  conv_size: 7, conv_bias: true, bias: false, init_layer_scale: null, default_hw_shape: null,
};

const LAYER_CFG = { use_rms_norm: false, mamba_cfg: {} as MambaCfg };
const arch = (C: number, layers: number, convs: number, dw: number[]) => ({
  patch_size: 16, embed_dims: C, num_layers: layers, num_convs_patch_embed: convs, layers_with_dwconv: dw,
  layer_cfgs: { use_rms_norm: false, mamba_cfg: { d_state: 16, expand: 2, conv_size: 7, dt_init: 'random', conv_bias: true, bias: true, default_hw_shape: [14, 14] } },
});

/** PlainMamba.arch_zoo */
export const ARCH_ZOO: Record<string, ReturnType<typeof arch>> = {
  L1: arch(192, 24, 1, [0]),
  L2: arch(384, 24, 2, []),
  L3: arch(448, 36, 2, []),
};

// ---- position embedding resize (mmcls resize_pos_embed, F.interpolate bicubic, align_corners=False) ----

/** (out, in) matrix of PyTorch's 1-D bicubic interpolation (A = -0.75, half-pixel source, clamped taps). */
export function bicubicMatrix(outN: number, inN: number): Float32Array {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  const m = new Float32Array(outN * inN);
  const scale = inN / outN;
  for (let o = 0; o < outN; o++) {
    const src = scale * (o + 0.5) - 0.5; // not clamped at 0 for cubic (area_pixel_compute_source_index)
    const i0 = Math.floor(src);
    const t = src - i0;
    const w = [far(t + 1), near(t), near(1 - t), far(2 - t)];
    for (let k = 0; k < 4; k++) m[o * inN + Math.min(Math.max(i0 - 1 + k, 0), inN - 1)] += w[k];
  }
  return m;
}

/** pos (h0, w0, C) -> (h, w, C) bicubic, as two matrix products (differentiable) */
function resizeBicubic(pos: Tensor, h: number, w: number): Tensor {
  return tf.tidy(() => {
    const [h0, w0, C] = pos.shape;
    const Mh = tf.tensor2d(bicubicMatrix(h, h0), [h, h0]);
    const Mw = tf.tensor2d(bicubicMatrix(w, w0), [w, w0]);
    const rows = tf.matMul(Mh, pos.reshape([h0, w0 * C])).reshape([h, w0, C]).transpose([1, 0, 2]).reshape([w0, h * C]);
    return tf.matMul(Mw, rows).reshape([w, h, C]).transpose([1, 0, 2]);
  });
}

// ---- PlainMamba2D ------------------------------------------------------------------------------

interface ScanTables {
  /** (K*P): for order k and map position p, the step t at which o_k visits p (the raster index read there) */
  gather: Tensor;
  /** (K*P): the move code of step t = inv_k[p] (the direction_Bs row the official adds at raster t) */
  codes: Tensor;
}

const tableCache = new Map<string, { gather: Int32Array; codes: Int32Array }>();

/** Inverse orders and step codes of the zigzag plan (o1..o4 = get_permute_order's orders). */
function officialTables(H: number, W: number): { gather: Int32Array; codes: Int32Array } {
  const key = `${H}x${W}`;
  let t = tableCache.get(key);
  if (!t) {
    const plan = scans.get('zigzag').plan(H, W);
    const P = H * W;
    const gather = new Int32Array(plan.K * P);
    const codes = new Int32Array(plan.K * P);
    for (let k = 0; k < plan.K; k++) {
      const route = routeOf(plan, k);
      const d = moveCodes(route, W); // d[t]: 0 start, 1 right, 2 left, 3 up, 4 down (the move into step t)
      route.forEach((p, step) => {
        gather[k * P + p] = step;
        codes[k * P + p] = d[step];
      });
    }
    t = { gather, codes };
    tableCache.set(key, t);
  }
  return t;
}

/**
 * PlainMamba2D: in_proj (bias per `bias`) -> x | z; x -> dwconv k x k (bias) -> SiLU; the SSM over the
 * 4 zigzag orders (see the file header); (sum of the 4) * silu(z) -> out_proj -> [* gamma].
 * Keys: [gamma (C)], in_proj (2E, C), conv2d (E, 1, k, k), x_proj (R+2N, E), dt_proj (E, R) + bias,
 * A_log (E, N), D (E), out_proj (C, E), direction_Bs (5, N).
 */
export class PlainMamba2D extends Module {
  readonly gamma: tf.Variable | null;
  readonly in_proj: Linear;
  readonly conv2d: Conv2d;
  readonly x_proj: Linear | null = null;
  readonly dt_proj: Linear | null = null;
  readonly A_log: tf.Variable | null = null;
  readonly D: tf.Variable | null = null;
  readonly out_proj: Linear;
  readonly direction_Bs: tf.Variable | null = null;
  /** the replacing strategy's core (scan given) */
  readonly core: SS2DCore | null = null;
  readonly dInner: number;
  readonly dState: number;
  readonly dtRank: number;
  private readonly act: SiLU;

  constructor(dModel: number, cfg: MambaCfg, scan: string | null, scanOptions: ScanOptions) {
    super();
    for (const k of Object.keys(cfg)) {
      if (!(k in MAMBA_CFG_DEFAULTS)) throw new Error(`plainmamba: unknown mamba_cfg key '${k}' (PlainMamba2D takes ${Object.keys(MAMBA_CFG_DEFAULTS).join(', ')})`);
    }
    const m = { ...MAMBA_CFG_DEFAULTS, ...cfg };
    if (m.dt_init !== 'random' && m.dt_init !== 'constant') throw new Error(`plainmamba: mamba_cfg.dt_init '${m.dt_init}' is not 'random' or 'constant'`);
    if (!(m.conv_size % 2 === 1)) throw new Error(`plainmamba: mamba_cfg.conv_size must be odd (the official asserts it), got ${m.conv_size}`);
    const E = (this.dInner = Math.trunc(m.expand * dModel));
    const N = (this.dState = m.d_state);
    const R = (this.dtRank = m.dt_rank === 'auto' ? Math.ceil(dModel / 16) : m.dt_rank);
    // registration order follows the official __init__; Linear init = the mmcls config's TruncNormal(std .02, bias 0)
    this.gamma = m.init_layer_scale !== null ? this.param('gamma', tf.fill([dModel], m.init_layer_scale)) : null;
    this.in_proj = this.child('in_proj', new Linear(dModel, 2 * E, { bias: m.bias, init: 'trunc_normal' }));
    this.conv2d = this.child('conv2d', new Conv2d(E, E, m.conv_size, { groups: E, padding: m.conv_size >> 1, bias: m.conv_bias }));
    this.act = this.child('act', new SiLU());
    if (scan === null) {
      this.x_proj = this.child('x_proj', new Linear(E, R + 2 * N, { bias: false, init: 'trunc_normal' }));
      this.dt_proj = this.child('dt_proj', new Linear(R, E, { init: 'trunc_normal' }));
      const a = new Float32Array(E * N);
      for (let i = 0; i < E * N; i++) a[i] = Math.log((i % N) + 1); // S4D real init: A = -(1..N)
      this.A_log = this.param('A_log', tf.tensor2d(a, [E, N]), { noDecay: true });
      this.D = this.param('D', tf.ones([E]), { noDecay: true });
    } else {
      this.core = new SS2DCore({ param: (n, v, o) => this.param(n, v, o), child: (n, mod) => this.child(n, mod) }, {
        scan, options: scanOptions, dInner: E, dState: N, dtRank: R,
        dt: { dtMin: m.dt_min, dtMax: m.dt_max, dtInitFloor: m.dt_init_floor, dtScale: m.dt_scale, dtInit: m.dt_init as 'random' | 'constant' },
      });
    }
    this.out_proj = this.child('out_proj', new Linear(E, dModel, { bias: m.bias, init: 'trunc_normal' }));
    if (scan === null) this.direction_Bs = this.param('direction_Bs', truncNormal([5, N], 0.02), { noDecay: true });
  }

  /** x (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [xm, z] = tf.split(this.in_proj.forward(x), 2, 3);
      const xc = this.act.forward(this.conv2d.forward(xm)); // (B, H, W, E), raster order
      const y = this.core ? this.core.forward(xc, { preConv: xm }) : this.officialScan(xc);
      const out = this.out_proj.forward(tf.mul(y, this.act.forward(z)));
      return this.gamma ? tf.mul(out, this.gamma) : out;
    });
  }

  /** The official four-order scan with its raster-order dt/B/C (file header): xc (B, H, W, E) -> (B, H, W, E). */
  private officialScan(xc: Tensor): Tensor {
    const [Bn, H, W, E] = xc.shape;
    const N = this.dState, R = this.dtRank, K = 4, P = H * W;
    const plan = scans.get('zigzag').plan(H, W);
    const tables = officialTables(H, W);
    const t: ScanTables = { gather: tf.tensor1d(tables.gather, 'int32'), codes: tf.tensor1d(tables.codes, 'int32') };
    const [dtr, Bs, Cs] = tf.split(this.x_proj!.forward(xc), [R, N, N], 3);
    const dt = this.dt_proj!.forward(dtr); // includes dt_proj.bias (added once more as delta_bias below)
    // map position p of order k reads raster index inv_k[p]: (B, P, E+2N) -> (B, K, P, E+2N)
    const g = tf.gather(tf.concat([dt, Bs, Cs], 3).reshape([Bn, P, E + 2 * N]), t.gather, 1).reshape([Bn, K, P, E + 2 * N]);
    const [dG, bG, cG] = tf.split(g, [E, N, N], 3);
    const dirB = tf.gather(this.direction_Bs!, t.codes).reshape([1, K, P, N]);
    const y = selectiveScan({
      u: xc.reshape([Bn, P, E]).transpose([0, 2, 1]), // (B, E, P) shared by the 4 orders
      delta: dG.transpose([0, 1, 3, 2]).reshape([Bn, K * E, P]),
      A: tf.tile(tf.neg(tf.exp(this.A_log!)), [K, 1]),
      B: tf.add(bG, dirB).transpose([0, 1, 3, 2]), // (B, K, N, P)
      C: cG.transpose([0, 1, 3, 2]),
      D: tf.tile(this.D!, [K]),
      deltaBias: tf.tile(this.dt_proj!.bias!, [K]),
    }, { deltaSoftplus: true, plan }); // (B, E, P): the 4 orders summed at their positions
    return toMap(y, H, W);
  }
}

// ---- layer -------------------------------------------------------------------------------------

/** PlainMambaLayer: out = x + drop_path(mamba(norm(x))); with_dwconv: out = GELU(BN(dw3x3(out))) (replaces, no residual). */
class PlainMambaLayer extends Module implements Layer {
  readonly norm: LayerModule;
  readonly dw: Sequential | null;
  readonly mamba: PlainMamba2D;
  private readonly dropPath: DropPath;

  constructor(C: number, cfg: LayerCfg, withDwconv: boolean, dropPath: number, scan: string | null, scanOptions: ScanOptions) {
    super();
    for (const k of Object.keys(cfg)) if (!(k in LAYER_CFG)) throw new Error(`plainmamba: unknown layer_cfgs key '${k}' (use_rms_norm, mamba_cfg)`);
    if (typeof cfg.use_rms_norm !== 'boolean') throw new Error('plainmamba: layer_cfgs.use_rms_norm (true/false) is required, as PlainMambaLayer has no default for it');
    if (!cfg.mamba_cfg || typeof cfg.mamba_cfg !== 'object') throw new Error('plainmamba: layer_cfgs.mamba_cfg (an object, e.g. {} for the defaults) is required, as PlainMambaLayer has no default for it');
    this.norm = this.child('norm', cfg.use_rms_norm ? new RMSNorm(C) : new LayerNorm(C));
    this.dw = withDwconv ? this.child('dw', new Sequential(new Conv2d(C, C, 3, { padding: 1, groups: C, bias: false }), new BatchNorm2d(C), new GELU())) : null;
    this.mamba = this.child('mamba', new PlainMamba2D(C, cfg.mamba_cfg, scan, scanOptions));
    this.dropPath = this.child('drop_path', new DropPath(dropPath));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const out = tf.add(this.dropPath.forward(this.mamba.forward(this.norm.forward(x))), x);
      return this.dw ? this.dw.forward(out) : out;
    });
  }
}

// ---- patch embed and backbone ------------------------------------------------------------------

/**
 * ConvPatchEmbed: stem = [7x7 s2 conv 3->64 (no bias), BN, ReLU]; convs = num_convs x [3x3 conv (no bias),
 * BN, ReLU]; AdaptivePadding 'corner' (bottom/right zeros to whole projection windows); projection
 * conv k = s = patch_size/2 (64 -> C, bias). (B, H, W, 3) -> (B, h, w, C), stride patch_size.
 */
class ConvPatchEmbed extends Module implements Layer {
  readonly stem: Sequential;
  readonly convs: Sequential | null;
  readonly projection: Conv2d;
  readonly kernel: number;

  constructor(inC: number, C: number, numConvs: number, patchSize: number) {
    super();
    if (patchSize % 2) throw new Error(`plainmamba: patch_size must be even (ConvPatchEmbed asserts it), got ${patchSize}`);
    this.kernel = patchSize / 2;
    this.stem = this.child('stem', new Sequential(new Conv2d(inC, 64, 7, { stride: 2, padding: 3, bias: false }), new BatchNorm2d(64), new ReLU()));
    const convs: LayerModule[] = [];
    for (let i = 0; i < numConvs; i++) convs.push(new Conv2d(64, 64, 3, { padding: 1, bias: false }), new BatchNorm2d(64), new ReLU());
    this.convs = numConvs > 0 ? this.child('convs', new Sequential(...convs)) : null;
    this.projection = this.child('projection', new Conv2d(64, C, this.kernel, { stride: this.kernel }));
  }

  /** AdaptivePadding.get_pad_shape with kernel = stride = k, dilation 1 */
  pad(n: number): number {
    return Math.max((Math.ceil(n / this.kernel) - 1) * this.kernel + this.kernel - n, 0);
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.stem.forward(x);
      if (this.convs) h = this.convs.forward(h);
      const [ph, pw] = [this.pad(h.shape[1]!), this.pad(h.shape[2]!)];
      if (ph || pw) h = tf.pad(h, [[0, 0], [0, ph], [0, pw], [0, 0]]);
      return this.projection.forward(h);
    });
  }
}

/** The mmcls PlainMamba backbone (keys `backbone.*`). */
class PlainMambaBackbone extends Module {
  readonly patch_embed: ConvPatchEmbed;
  readonly pos_embed: tf.Variable | null;
  readonly layers: ModuleList<PlainMambaLayer>;
  readonly ln1: LayerNorm | null;
  /** norm_layer{i} for out_indices other than the last layer */
  readonly outNorms = new Map<number, LayerNorm>();
  /** patch grid the pos_embed was made for (init_out_size) */
  readonly patchResolution: [number, number];
  readonly outIndices: number[];
  private readonly dropAfterPos: Dropout;

  constructor(c: PlainMambaConfig, a: typeof ARCH_ZOO[string]) {
    super();
    const C = a.embed_dims, L = a.num_layers;
    const img = Array.isArray(c.img_size) ? c.img_size : [c.img_size, c.img_size];
    this.patch_embed = this.child('patch_embed', new ConvPatchEmbed(c.in_channels, C, a.num_convs_patch_embed, a.patch_size));
    // init_out_size: input // 2 (stem), + corner padding, / k
    const k = a.patch_size / 2;
    const grid = img.map((s) => { const n = Math.floor(s / 2); return Math.floor((n + this.patch_embed.pad(n) - k) / k) + 1; });
    this.patchResolution = [grid[0], grid[1]];
    this.pos_embed = c.with_pos_embed ? this.param('pos_embed', truncNormal([1, grid[0] * grid[1], C], 0.02), { noDecay: true }) : null;
    this.dropAfterPos = this.child('drop_after_pos', new Dropout(c.drop_rate));
    const outs = (Array.isArray(c.out_indices) ? c.out_indices : [c.out_indices]).map((i) => (i < 0 ? L + i : i));
    for (const i of outs) if (!(Number.isInteger(i) && i >= 0 && i < L)) throw new Error(`plainmamba: out_indices entry ${i} is not a layer index (0..${L - 1}, or negative from the end)`);
    this.outIndices = outs;
    const cfgs: LayerCfg[] = Array.isArray(c.layer_cfgs) ? c.layer_cfgs : Array.from({ length: L }, () => a.layer_cfgs as LayerCfg);
    if (cfgs.length < L) throw new Error(`plainmamba: layer_cfgs has ${cfgs.length} entries for ${L} layers`);
    this.layers = this.child('layers', new ModuleList(Array.from({ length: L }, (_, i) => new PlainMambaLayer(
      C, cfgs[i], a.layers_with_dwconv.includes(i), L > 1 ? (c.drop_path_rate * i) / (L - 1) : 0, c.scan, c.scan_options,
    ))));
    const normOf = () => {
      const n = c.norm_cfg;
      if (n && n.type !== 'LN') throw new Error(`plainmamba: norm_cfg type '${n.type}' is not supported (LN)`);
      return new LayerNorm(C, n?.eps ?? 1e-5);
    };
    // build_norm_layer(norm_cfg, C, postfix=1) names the final LayerNorm 'ln1'
    this.ln1 = c.final_norm ? this.child('ln1', normOf()) : null;
    for (const i of outs) {
      if (i !== L - 1) {
        if (!c.norm_cfg) throw new Error('plainmamba: out_indices before the last layer need a norm_cfg (the official adds nn.Identity, not supported here)');
        this.outNorms.set(i, this.child(`norm_layer${i}`, normOf()));
      }
    }
  }

  /** (B, H, W, 3) -> tokens after pos_embed (B, h, w, C) */
  embed(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.patch_embed.forward(x);
      if (this.pos_embed) {
        const [, gh, gw, C] = h.shape as [number, number, number, number];
        const [h0, w0] = this.patchResolution;
        let pe = this.pos_embed.reshape([h0, w0, C]);
        if (gh !== h0 || gw !== w0) pe = resizeBicubic(pe, gh, gw); // resize_pos_embed (bicubic)
        h = tf.add(h, pe);
      }
      return this.dropAfterPos.forward(h);
    });
  }
}

/** mmcls LinearClsHead: fc */
class LinearClsHead extends Module {
  readonly fc: Linear;

  constructor(C: number, numClasses: number) {
    super();
    this.fc = this.child('fc', new Linear(C, numClasses, { init: 'trunc_normal' }));
  }
}

// ---- model (mmcls ImageClassifier: backbone, neck = CustomAveragePooling, head) ------------------

export class PlainMamba extends Module implements Backbone {
  readonly family = 'plainmamba';
  readonly config: PlainMambaConfig;
  readonly numClasses: number;
  readonly featureInfo: FeatureInfo[];
  readonly backbone: PlainMambaBackbone;
  readonly head: LinearClsHead | null;

  constructor(kwargs: Partial<PlainMambaConfig> & Record<string, unknown> = {}) {
    super();
    checkKwargs('plainmamba', kwargs, PLAINMAMBA_DEFAULTS, IGNORED_KWARGS);
    const c = { ...PLAINMAMBA_DEFAULTS, ...kwargs } as PlainMambaConfig;
    this.config = c;
    if (c.interpolate_mode !== 'bicubic') throw new Error(`plainmamba: interpolate_mode '${c.interpolate_mode}' is not supported (bicubic, the official default)`);
    let a: typeof ARCH_ZOO[string];
    if (c.arch !== null) {
      if (!(c.arch in ARCH_ZOO)) throw new Error(`plainmamba: unknown arch '${c.arch}' (${Object.keys(ARCH_ZOO).join(', ')})`);
      a = ARCH_ZOO[c.arch];
    } else {
      a = { patch_size: c.patch_size, embed_dims: c.embed_dims, num_layers: c.num_layers, num_convs_patch_embed: c.num_convs_patch_embed, layers_with_dwconv: c.layers_with_dwconv, layer_cfgs: c.layer_cfgs as typeof a.layer_cfgs };
    }
    this.numClasses = c.num_classes;
    this.backbone = this.child('backbone', new PlainMambaBackbone(c, a));
    this.head = c.num_classes > 0 ? this.child('head', new LinearClsHead(a.embed_dims, c.num_classes)) : null;
    this.featureInfo = this.backbone.outIndices.map((i) => ({ channels: a.embed_dims, reduction: a.patch_size, module: `backbone.layers.${i}` }));
  }

  private checkInput(x: Tensor): void {
    if (x.rank !== 4 || x.shape[3] !== this.config.in_channels) {
      throw new Error(`plainmamba: input must be NHWC (B, H, W, ${this.config.in_channels}) float32, got shape [${x.shape}]`);
    }
  }

  /**
   * The backbone's outputs (NHWC), one per out_indices entry (featureInfo): the last layer's tokens
   * after the final norm; earlier layers through their norm_layer{i} (skipped with norm: false).
   */
  forwardIntermediates(x: Tensor, opts: ForwardIntermediatesOptions = {}): Tensor[] {
    this.checkInput(x);
    const bb = this.backbone;
    const indices = opts.indices ?? [...this.featureInfo.keys()];
    for (const i of indices) if (!(Number.isInteger(i) && i >= 0 && i < this.featureInfo.length)) throw new Error(`plainmamba: feature index ${i} out of range 0..${this.featureInfo.length - 1}`);
    const layersWanted = indices.map((i) => bb.outIndices[i]);
    const last = Math.max(...layersWanted);
    const L = bb.layers.length;
    return tf.tidy(() => {
      const outs = new Map<number, Tensor>();
      let h = bb.embed(x);
      for (let i = 0; i <= last; i++) {
        h = bb.layers.items[i].forward(h);
        if (i === L - 1 && bb.ln1) h = bb.ln1.forward(h);
        if (layersWanted.includes(i)) {
          const n = bb.outNorms.get(i);
          outs.set(i, n && opts.norm !== false ? n.forward(h) : h);
        }
      }
      return layersWanted.map((i) => outs.get(i)!);
    });
  }

  /** (B, H, W, 3) -> the backbone's final tokens (B, h, w, C) (after ln1 when final_norm) */
  forwardFeatures(x: Tensor): Tensor {
    this.checkInput(x);
    return tf.tidy(() => {
      const bb = this.backbone;
      let h = bb.embed(x);
      for (const layer of bb.layers.items) h = layer.forward(h);
      return bb.ln1 ? bb.ln1.forward(h) : h;
    });
  }

  /** CustomAveragePooling (mean over tokens) -> head.fc: logits (B, num_classes); pooled features when num_classes = 0 */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const pooled = tf.mean(this.forwardFeatures(x), [1, 2]);
      return this.head ? this.head.fc.forward(pooled) : pooled;
    });
  }
}

// ---- variants as data --------------------------------------------------------------------------

// Weights: the README links l1.pth / l2.pth / l3.pth on the authors' model-hub repository
// ChenhongyiYang/PlainMamba (mmcv checkpoints: {'meta', 'state_dict', 'optimizer'}); evaluation as the
// configs' imagenet_bs64_swin_224 pipeline: bicubic resize to 256 (short side), center crop 224.
const pretrained = (variant: string, file: string): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, file, inputSize: [3, 224, 224], mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 0.875,
  interpolation: 'bicubic', numClasses: 1000, checkpointKey: 'state_dict',
}];

/** The configs' backbone=dict(type='PlainMamba', arch=..., drop_path_rate=...) + LinearClsHead(1000). */
const VARIANTS = {
  plainmamba_l1: { config: { arch: 'L1', drop_path_rate: 0.2 }, officialParams: 7_551_656, pretrained: pretrained('plainmamba_l1', 'l1.pth') },
  plainmamba_l2: { config: { arch: 'L2', drop_path_rate: 0.2 }, officialParams: 26_145_832, pretrained: pretrained('plainmamba_l2', 'l2.pth') },
  plainmamba_l3: { config: { arch: 'L3', drop_path_rate: 0.4 }, officialParams: 50_956_456, pretrained: pretrained('plainmamba_l3', 'l3.pth') },
  // L1's structure (dw layer 0, 1 patch-embed conv, bias=True, conv 7) at toy size: fast tests. Count by the
  // formulas above with C = 32, 2 layers, a 4x4 grid and 10 classes: 2 x 13,104 + 352 + 177,632 + 512 + 64 + 330
  test_plainmamba: {
    config: {
      img_size: 64, embed_dims: 32, num_layers: 2, num_convs_patch_embed: 1, layers_with_dwconv: [0], drop_path_rate: 0.1, num_classes: 10,
      layer_cfgs: { use_rms_norm: false, mamba_cfg: { d_state: 16, expand: 2, conv_size: 7, dt_init: 'random', conv_bias: true, bias: true, default_hw_shape: [4, 4] } },
    },
    officialParams: 205_098,
  },
};

registerFamily('plainmamba', {
  paper: 'PlainMamba: Improving Non-Hierarchical Mamba in Visual Recognition (Yang et al., BMVC 2024, arXiv 2403.17695)',
  upstream: 'ChenhongyiYang/PlainMamba@0975a1d mmcls/plain_mamba_dev/models/plain_mamba/plain_mamba.py (PlainMamba) + mmcls ImageClassifier/LinearClsHead',
  defaults: PLAINMAMBA_DEFAULTS,
  create: (kwargs) => new PlainMamba(kwargs),
}, VARIANTS);
