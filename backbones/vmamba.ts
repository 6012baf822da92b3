// VMamba: Visual State Space Model (Liu et al., NeurIPS 2024, arXiv 2401.10166).
// Port of MzeroMiko/VMamba @2ed52ea classification/models/vmamba.py (VSSM, VSSBlock, SS2D v0/v2,
// PatchMerging2D, Backbone_VSSM). Activations are NHWC: the official channel-first modules
// (LayerNorm2d, Linear2d, Permute) compute the same thing here, so one model serves `ln` and `ln2d`
// checkpoints, whose state dicts are identical.
// SS2D's scan is pluggable: `scan: 'hilbert'` (any registered strategy, default 'cross', VMamba's
// cross-scan) drives the shared selective-scan kernel through scans/core.ts.
import { tf, type Tensor } from '../core/tf.ts';
import {
  Module, Linear, Conv2d, LayerNorm, LayerNorm2d, BatchNorm2d, GELU, SiLU, ReLU, Identity, Dropout, DropPath,
  Sequential, ModuleList, gelu, truncNormal, type Layer, type LayerModule,
} from '../core/nn/index.ts';
import '../scans/index.ts'; // registers the strategies SS2D can take
import { SS2DCore, type SS2DCoreConfig } from '../scans/core.ts';
import type { ScanOptions } from '../scans/registry.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type FeatureInfo, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';
import { Mlp, VSSLayer, VSSMClassifier, dropPathRates, makePatchEmbed, stageDims, vssmLegacyRenames, type NormFactory } from './common.ts';
import { VSSMBackbone, stageDownsample, stageFeatureInfo } from './vssm-backbone.ts';

// ---- config (the official VSSM constructor's keyword names and defaults) ------------------------

export const VMAMBA_DEFAULTS = {
  patch_size: 4, in_chans: 3, num_classes: 1000, depths: [2, 2, 9, 2] as number[], dims: [96, 192, 384, 768] as number | number[],
  ssm_d_state: 16, ssm_ratio: 2.0, ssm_dt_rank: 'auto' as number | 'auto', ssm_act_layer: 'silu', ssm_conv: 3, ssm_conv_bias: true,
  ssm_drop_rate: 0.0, ssm_init: 'v0', forward_type: 'v2',
  mlp_ratio: 4.0, mlp_act_layer: 'gelu', mlp_drop_rate: 0.0, gmlp: false,
  drop_path_rate: 0.1, patch_norm: true, norm_layer: 'LN', downsample_version: 'v2', patchembed_version: 'v1',
  posembed: false, imgsize: 224,
  // ssm-vision additions: the scan strategy of every SS2D, and Backbone_VSSM's out_indices (mmdet/mmseg)
  scan: 'cross', scan_options: {} as ScanOptions, out_indices: null as number[] | null,
};
export type VMambaConfig = typeof VMAMBA_DEFAULTS;

/** accepted and ignored (training-time memory switches of the official code) */
const IGNORED_KWARGS = ['use_checkpoint', 'pretrained'];

function act(name: string): () => LayerModule {
  const table: Record<string, () => LayerModule> = { silu: () => new SiLU(), gelu: () => new GELU(), relu: () => new ReLU(), sigmoid: () => new Sigmoid() };
  const f = table[name.toLowerCase()];
  if (!f) throw new Error(`vmamba: unknown activation '${name}' (silu, gelu, relu, sigmoid)`);
  return f;
}

class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return tf.sigmoid(x); }
}

function normFactory(name: string): NormFactory {
  switch (name.toLowerCase()) {
    case 'ln': return (c) => new LayerNorm(c);
    case 'ln2d': return (c) => new LayerNorm2d(c);
    case 'bn': return (c) => new BatchNorm2d(c);
    default: throw new Error(`vmamba: unknown norm_layer '${name}' (ln, ln2d, bn)`);
  }
}

// ---- blocks ------------------------------------------------------------------------------------

/** SoftmaxSpatial: softmax over the H*W positions of each channel (`_onsoftmax` out-norm). */
class SoftmaxSpatial extends Module {
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [B, H, W, C] = x.shape;
      return tf.softmax(x.reshape([B, H * W, C]).transpose([0, 2, 1])).transpose([0, 2, 1]).reshape([B, H, W, C]);
    });
  }
}

/** Strips `tag` from the end of a forward_type (SS2Dv2.checkpostfix). */
function postfix(tag: string, value: string): [boolean, string] {
  return value.endsWith(tag) ? [true, value.slice(0, -tag.length)] : [false, value];
}

/** SS2Dv2 cores that are all the same cross2d math (they differ in kernel, einsum and precision). */
const CROSS2D_TYPES = ['v01', 'v02', 'v03', 'v04', 'v05', 'v2', 'v3'];

interface SS2DArgs {
  d_model: number; d_state: number; ssm_ratio: number; dt_rank: number | 'auto'; act_layer: () => LayerModule;
  d_conv: number; conv_bias: boolean; dropout: number; initialize: string; forward_type: string;
  scan: string; scan_options: ScanOptions;
}

/**
 * SS2D (v0 and v2 forward types). v2: in_proj -> [split z, act(z)] -> dwconv -> act -> core (scan)
 * -> out_norm -> [out_act] -> [* z] -> out_proj -> dropout. v0 (Vanilla VMamba): z = act(z) first,
 * conv with bias k=3, out_norm, * z. Parameters (K directions): x_proj_weight (K, R+2N, d_inner),
 * dt_projs_weight (K, d_inner, R), dt_projs_bias (K, d_inner), A_logs (K*d_inner, N), Ds (K*d_inner),
 * out_norm, in_proj (d_inner or 2*d_inner, d_model), conv2d (d_inner, 1, k, k), out_proj (d_model, d_inner).
 */
export class SS2D extends Module {
  readonly in_proj: Linear;
  readonly conv2d: Conv2d | null;
  readonly out_norm: LayerModule;
  readonly out_proj: Linear;
  readonly core: SS2DCore;
  readonly dInner: number;
  private readonly v0: boolean;
  private readonly withZ: boolean;
  private readonly zAct: boolean;
  private readonly oact: boolean;
  private readonly act: LayerModule;
  private readonly dropout: Dropout;

  constructor(a: SS2DArgs) {
    super();
    this.v0 = a.forward_type === 'v0' || a.forward_type === 'v0seq';
    let ft = a.forward_type;
    let outNorm = 'ln';
    let disableZ = false, disableZAct = false, oact = false, d_conv = a.d_conv, conv_bias = a.conv_bias;
    if (this.v0) {
      // SS2Dv0 hard-codes these, whatever the block passes
      d_conv = 3;
      conv_bias = true;
    } else {
      [, ft] = postfix('_no32', ft);
      [oact, ft] = postfix('_oact', ft);
      [disableZ, ft] = postfix('_noz', ft);
      [disableZAct, ft] = postfix('_nozact', ft);
      for (const tag of ['none', 'dwconv3', 'cnorm', 'softmax', 'sigmoid']) {
        const [hit, rest] = postfix(`_on${tag}`, ft);
        if (hit) { outNorm = tag; ft = rest; break; }
      }
      if (!CROSS2D_TYPES.includes(ft)) {
        throw new Error(`vmamba: forward_type '${a.forward_type}' is not supported (supported cores: v0, ${CROSS2D_TYPES.join(', ')} with suffixes _noz, _nozact, _oact, _no32, _on{none,dwconv3,cnorm,softmax,sigmoid}; the scan order is chosen with scan=...)`);
      }
      if (a.initialize !== 'v0') throw new Error(`vmamba: ssm_init '${a.initialize}' is not supported (v0, the Mamba initialisation of every released model)`);
    }
    this.withZ = this.v0 || !disableZ;
    this.zAct = !disableZAct;
    this.oact = oact;
    this.dInner = Math.trunc(a.ssm_ratio * a.d_model);
    const D = this.dInner;
    // dt_rank 'auto' is ceil(d_model / 16): the block width, not d_inner
    const R = a.dt_rank === 'auto' ? Math.ceil(a.d_model / 16) : a.dt_rank;
    const coreCfg: SS2DCoreConfig = { scan: a.scan, options: a.scan_options, dInner: D, dState: a.d_state, dtRank: R };
    // registration order follows the official module (x_proj_weight, A_logs, Ds, dt_projs_*, out_norm, in_proj, conv2d, out_proj)
    this.core = new SS2DCore({ param: (n, v, o) => this.param(n, v, o), child: (n, m) => this.child(n, m) }, coreCfg);
    this.out_norm = this.child('out_norm', this.makeOutNorm(outNorm, D));
    this.in_proj = this.child('in_proj', new Linear(a.d_model, this.withZ ? 2 * D : D, { bias: false, init: 'trunc_normal' }));
    this.act = this.child('act', a.act_layer());
    this.conv2d = d_conv > 1 ? this.child('conv2d', new Conv2d(D, D, d_conv, { groups: D, padding: (d_conv - 1) >> 1, bias: conv_bias })) : null;
    this.out_proj = this.child('out_proj', new Linear(D, a.d_model, { bias: false, init: 'trunc_normal' }));
    this.dropout = this.child('dropout', new Dropout(a.dropout));
  }

  private makeOutNorm(kind: string, D: number): LayerModule {
    const dw = () => new Conv2d(D, D, 3, { padding: 1, groups: D, bias: false });
    switch (kind) {
      case 'none': return new Identity();
      case 'dwconv3': return new Sequential(new Identity(), dw(), new Identity());
      case 'cnorm': return new Sequential(new LayerNorm(D), new Identity(), dw(), new Identity());
      case 'softmax': return new SoftmaxSpatial();
      case 'sigmoid': return new Sigmoid();
      default: return new LayerNorm(D);
    }
  }

  /** x (B, H, W, d_model) -> (B, H, W, d_model) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.in_proj.forward(x);
      let z: Tensor | null = null;
      if (this.withZ) {
        [h, z] = tf.split(h, 2, 3);
        if (this.v0 || this.zAct) z = this.act.forward(z);
      }
      const pre = h;
      if (this.conv2d) h = this.conv2d.forward(h);
      h = this.act.forward(h);
      let y = this.core.forward(h, { preConv: pre });
      y = this.out_norm.forward(y);
      if (this.oact) y = gelu(y);
      if (z) y = tf.mul(y, z);
      return this.dropout.forward(this.out_proj.forward(y));
    });
  }
}

interface BlockArgs extends Omit<SS2DArgs, 'd_model' | 'act_layer'> {
  dim: number; dropPath: number; norm: (c: number) => LayerModule; ssmAct: () => LayerModule;
  mlp_ratio: number; mlpAct: () => LayerModule; mlp_drop_rate: number; gmlp: boolean;
}

/** VSSBlock (pre-norm): x + drop_path(op(norm(x))) if ssm_ratio > 0; x + drop_path(mlp(norm2(x))) if mlp_ratio > 0. */
class VSSBlock extends Module implements Layer {
  readonly norm: LayerModule | null = null;
  readonly op: SS2D | null = null;
  readonly norm2: LayerModule | null = null;
  readonly mlp: Mlp | null = null;
  private readonly dropPath: DropPath;

  constructor(a: BlockArgs) {
    super();
    if (a.gmlp) throw new Error('vmamba: gmlp=True (gMlp) is not used by any released model and is not supported');
    if (a.ssm_ratio > 0) {
      this.norm = this.child('norm', a.norm(a.dim));
      this.op = this.child('op', new SS2D({ ...a, d_model: a.dim, act_layer: a.ssmAct }));
    }
    // parameter-free modules are children too, so train()/eval() reaches them
    this.dropPath = this.child('drop_path', new DropPath(a.dropPath));
    if (a.mlp_ratio > 0) {
      this.norm2 = this.child('norm2', a.norm(a.dim));
      this.mlp = this.child('mlp', new Mlp(a.dim, Math.trunc(a.dim * a.mlp_ratio), a.mlpAct, a.mlp_drop_rate));
    }
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = x;
      if (this.op) h = this.dropPath.residual(h, this.op.forward(this.norm!.forward(h)));
      if (this.mlp) h = this.dropPath.residual(h, this.mlp.forward(this.norm2!.forward(h)));
      return h;
    });
  }
}

// ---- stages ------------------------------------------------------------------------------------

// ---- model -------------------------------------------------------------------------------------

export class VMamba extends VSSMBackbone {
  readonly family = 'vmamba';
  readonly config: VMambaConfig;
  readonly numClasses: number;
  readonly dims: number[];
  readonly featureInfo: FeatureInfo[];
  readonly patch_embed: Sequential;
  readonly layers: ModuleList<VSSLayer>;
  readonly classifier: VSSMClassifier | null;
  readonly pos_embed: tf.Variable | null;

  constructor(kwargs: Partial<VMambaConfig> & Record<string, unknown> = {}) {
    super();
    checkKwargs('vmamba', kwargs, VMAMBA_DEFAULTS, IGNORED_KWARGS);
    const c = { ...VMAMBA_DEFAULTS, ...kwargs } as VMambaConfig;
    this.config = c;
    const nl = c.depths.length;
    this.dims = stageDims('vmamba', c.dims, nl);
    this.numClasses = c.num_classes;
    const norm = normFactory(c.norm_layer);
    const total = c.depths.reduce((a, b) => a + b, 0);
    const dpr = dropPathRates(c.drop_path_rate, total);

    this.pos_embed = c.posembed
      ? this.param('pos_embed', truncNormal([1, this.dims[0], Math.floor(c.imgsize / c.patch_size), Math.floor(c.imgsize / c.patch_size)], 0.02), { noDecay: true })
      : null;
    this.patch_embed = this.child('patch_embed', makePatchEmbed('vmamba', c.patchembed_version, c.in_chans, this.dims[0], c.patch_size, c.patch_norm, norm));
    const layers: VSSLayer[] = [];
    let at = 0;
    for (let i = 0; i < nl; i++) {
      const blocks: VSSBlock[] = [];
      for (let d = 0; d < c.depths[i]; d++) {
        blocks.push(new VSSBlock({
          dim: this.dims[i], dropPath: dpr[at++], norm,
          d_state: c.ssm_d_state, ssm_ratio: c.ssm_ratio, dt_rank: c.ssm_dt_rank, ssmAct: act(c.ssm_act_layer),
          d_conv: c.ssm_conv, conv_bias: c.ssm_conv_bias, dropout: c.ssm_drop_rate, initialize: c.ssm_init, forward_type: c.forward_type,
          mlp_ratio: c.mlp_ratio, mlpAct: act(c.mlp_act_layer), mlp_drop_rate: c.mlp_drop_rate, gmlp: c.gmlp,
          scan: c.scan, scan_options: c.scan_options,
        }));
      }
      layers.push(new VSSLayer(blocks, stageDownsample('vmamba', c.downsample_version, this.dims, i, norm)));
    }
    this.layers = this.child('layers', new ModuleList(layers));
    this.featureInfo = stageFeatureInfo(this.dims, c.patch_size, c.downsample_version !== 'none');
    // Backbone_VSSM (out_indices): outnorm{i} per returned stage, no classifier
    this.classifier = this.buildHead(c.out_indices, c.num_classes, norm);
  }

  /** the patch grid, plus pos_embed (posembed=True) */
  protected override embed(x: Tensor): Tensor {
    let h = super.embed(x);
    if (this.pos_embed) {
      const pe = this.pos_embed.transpose([0, 2, 3, 1]);
      if (pe.shape[1] !== h.shape[1] || pe.shape[2] !== h.shape[2]) {
        throw new Error(`vmamba: pos_embed is ${pe.shape[1]}x${pe.shape[2]} but the patch grid is ${h.shape[1]}x${h.shape[2]}: build the model with imgsize matching the input`);
      }
      h = tf.add(h, pe);
    }
    return h;
  }

  /** VSSM._load_from_state_dict renames of legacy (vanilla) checkpoints. */
  checkpointFilter<T>(dict: Map<string, T>): Map<string, T> {
    return vssmLegacyRenames(dict);
  }
}

// ---- variants as data --------------------------------------------------------------------------

const V2 = { patch_size: 4, in_chans: 3, num_classes: 1000, ssm_d_state: 1, ssm_dt_rank: 'auto', ssm_act_layer: 'silu', ssm_conv: 3, ssm_conv_bias: false, ssm_drop_rate: 0, ssm_init: 'v0', forward_type: 'v05_noz', mlp_ratio: 4.0, mlp_act_layer: 'gelu', mlp_drop_rate: 0, gmlp: false, patch_norm: true, norm_layer: 'ln2d', downsample_version: 'v3', patchembed_version: 'v2', posembed: false, imgsize: 224 };
const V0 = { patch_size: 4, in_chans: 3, num_classes: 1000, ssm_d_state: 16, ssm_ratio: 2.0, ssm_dt_rank: 'auto', ssm_act_layer: 'silu', ssm_conv: 3, ssm_conv_bias: true, ssm_drop_rate: 0, ssm_init: 'v0', forward_type: 'v0', mlp_ratio: 0, mlp_act_layer: 'gelu', mlp_drop_rate: 0, gmlp: false, patch_norm: true, norm_layer: 'ln', downsample_version: 'v1', patchembed_version: 'v1', posembed: false, imgsize: 224 };

const RELEASES = 'https://github.com/MzeroMiko/VMamba/releases/download';
const pretrained = (variant: string, file: string, ema: boolean): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, url: `${RELEASES}/${file}`, file: file.split('/').pop(), inputSize: [3, 224, 224],
  mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 0.875, interpolation: 'bicubic', numClasses: 1000,
  checkpointKey: ema ? 'model_ema' : 'model',
}];

/** Parameter counts: s2l exact from the official constructors; s1l and vanilla from the official constructors as rounded to 1e3 in models.md. */
const VARIANTS = {
  vmamba_tiny_s2l5: { config: { ...V2, depths: [2, 2, 5, 2], dims: 96, ssm_ratio: 2.0, drop_path_rate: 0.2 }, officialParams: 30_705_832, publishedFlops: 4.9e9, pretrained: pretrained('vmamba_tiny_s2l5', '%23v2cls/vssm_tiny_0230_ckpt_epoch_262.pth', true) },
  vmamba_small_s2l15: { config: { ...V2, depths: [2, 2, 15, 2], dims: 96, ssm_ratio: 2.0, drop_path_rate: 0.3 }, officialParams: 50_147_752, publishedFlops: 8.7e9, pretrained: pretrained('vmamba_small_s2l15', '%23v2cls/vssm_small_0229_ckpt_epoch_222.pth', true) },
  vmamba_base_s2l15: { config: { ...V2, depths: [2, 2, 15, 2], dims: 128, ssm_ratio: 2.0, drop_path_rate: 0.6 }, officialParams: 88_557_800, publishedFlops: 15.4e9, pretrained: pretrained('vmamba_base_s2l15', '%23v2cls/vssm_base_0229_ckpt_epoch_237.pth', true) },
  vmamba_tiny_s1l8: { config: { ...V2, depths: [2, 2, 8, 2], dims: 96, ssm_ratio: 1.0, drop_path_rate: 0.2 }, approxParams: { count: 30_249_000, tolerance: 500, source: 'official constructor, rounded to 1e3 in models.md' }, publishedFlops: 4.9e9, pretrained: pretrained('vmamba_tiny_s1l8', '%23v2cls/vssm1_tiny_0230s_ckpt_epoch_264.pth', true) },
  vmamba_small_s1l20: { config: { ...V2, depths: [2, 2, 20, 2], dims: 96, ssm_ratio: 1.0, drop_path_rate: 0.3 }, approxParams: { count: 49_013_000, tolerance: 500, source: 'official constructor, rounded to 1e3 in models.md' }, publishedFlops: 8.6e9, pretrained: pretrained('vmamba_small_s1l20', '%23v2cls/vssm1_small_0229s_ckpt_epoch_240.pth', true) },
  vmamba_base_s1l20: { config: { ...V2, depths: [2, 2, 20, 2], dims: 128, ssm_ratio: 1.0, drop_path_rate: 0.5 }, approxParams: { count: 86_615_000, tolerance: 500, source: 'official constructor, rounded to 1e3 in models.md' }, publishedFlops: 15.2e9, pretrained: pretrained('vmamba_base_s1l20', '%23v2cls/vssm1_base_0229s_ckpt_epoch_225.pth', true) },
  vanilla_vmamba_tiny: { config: { ...V0, depths: [2, 2, 9, 2], dims: 96, drop_path_rate: 0.2 }, approxParams: { count: 22_893_000, tolerance: 500, source: 'official constructor, rounded to 1e3 in models.md' }, publishedFlops: 5.6e9, pretrained: pretrained('vanilla_vmamba_tiny', '%23v0cls/vssmtiny_dp01_ckpt_epoch_292.pth', false) },
  vanilla_vmamba_small: { config: { ...V0, depths: [2, 2, 27, 2], dims: 96, drop_path_rate: 0.3 }, approxParams: { count: 44_417_000, tolerance: 500, source: 'official constructor, rounded to 1e3 in models.md' }, publishedFlops: 11.2e9, pretrained: pretrained('vanilla_vmamba_small', '%23v0cls/vssmsmall_dp03_ckpt_epoch_238.pth', true) },
  vanilla_vmamba_base: { config: { ...V0, depths: [2, 2, 27, 2], dims: 128, drop_path_rate: 0.6 }, approxParams: { count: 76_254_000, tolerance: 500, source: 'official constructor, rounded to 1e3 in models.md' }, publishedFlops: 18.0e9, pretrained: pretrained('vanilla_vmamba_base', '%23v0cls/vssmbase_dp06_ckpt_epoch_241.pth', true) },
  // the structure of vmamba_tiny_s2l5 at toy size (the golden checkpoint's config): fast tests
  test_vmamba: { config: { ...V2, depths: [1, 1, 2, 1], dims: 16, ssm_ratio: 2.0, drop_path_rate: 0.1, num_classes: 10 } },
};

registerFamily('vmamba', {
  paper: 'VMamba: Visual State Space Model (Liu et al., NeurIPS 2024, arXiv 2401.10166)',
  upstream: 'MzeroMiko/VMamba@2ed52ea classification/models/vmamba.py (VSSM)',
  defaults: VMAMBA_DEFAULTS,
  create: (kwargs) => new VMamba(kwargs),
}, VARIANTS);
