// EfficientVMamba: Atrous Selective Scan for Light Weight Visual Mamba (Pei et al., arXiv 2403.09977).
// Port of TerryPei/EfficientVMamba @0bc5ee2 classification/models/vmamba_efficient.py (SS2D v2 with
// EfficientScan/EfficientMerge, BiAttn, VSSBlock, EfficientVSSM, Backbone_EfficientVSSM) and
// classification/lib/models/operations.py (InvertedResidual, SqueezeExcite). Activations are NHWC.
// Stages 0-1: efficient VSS blocks = SS2D branch (atrous scan, `scan: 'atrous'` by default: any
// registered strategy can replace it) + depthwise-conv branch, each gated by ONE shared BiAttn.
// Stages 2-3: MobileNetV2 InvertedResidual stacks (no SSM: the scan choice does not reach them).
//
// Quirks copied from the official constructor (they decide the checkpoints' shapes):
// - EfficientVSSM passes `d_state=` / `dt_rank=` to `_make_layer`, which only reads `ssm_d_state` /
//   `ssm_dt_rank`: they are ignored, every SSM runs with N = 16 and R = ceil(C/16). So are
//   attn_drop_rate, shared_ssm, softmax_version, drop_rate and window_size (accepted, no effect).
// - downsample_version: 'v2' = Conv 2x2 s2 + LayerNorm; anything else is PatchMerging2D ('v1').
// - ssm_rank_ratio is fixed at 2.0, so ssm_ratio > 2 adds the low-rank in_rank/out_rank pair.
//
// Parameter counts: tiny and base equal the official constructor exactly. Small is registered as
// RELEASED: the checkpoint/log `timm_efficient_vssm_small` has stem width 64 (log: 11.274M params,
// 1.343 GFLOPs), while configs/vssm/vssm_efficient_small.yaml says EMBED_DIM 96 (24,757,456 params
// from the official constructor): the yaml does not describe the released weights. The exact count of
// the released small is ours: 11,273,688, the log's 11.274M (the tests pin both figures).
import { tf, type Tensor } from '../core/tf.ts';
import { Module, Linear, Conv2d, LayerNorm, BatchNorm2d, GELU, SiLU, ReLU, Identity, DropPath, Sequential, ModuleList, type Layer, type LayerModule } from '../core/nn/index.ts';
import '../scans/index.ts'; // registers the strategies SS2D can take
import { SS2DCore } from '../scans/core.ts';
import type { ScanOptions } from '../scans/registry.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type FeatureInfo, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';
import { Mlp, VSSLayer, VSSMClassifier, dropPathRates, layerNorm, layerNormEps, makePatchEmbed, stageDims, vssmLegacyRenames } from './common.ts';
import { VSSMBackbone, stageDownsample, stageFeatureInfo, type VSSStage } from './vssm-backbone.ts';

// ---- config (the official EfficientVSSM constructor's keyword names and defaults) ---------------

export const EFFICIENTVMAMBA_DEFAULTS = {
  patch_size: 4, in_chans: 3, num_classes: 1000, depths: [2, 2, 9, 2] as number[], dims: [96, 192, 384, 768] as number | number[],
  /** ignored by the official constructor (N is always 16) */
  d_state: 16 as number | string,
  /** ignored by the official constructor (R is always ceil(C/16)) */
  dt_rank: 'auto' as number | string,
  ssm_ratio: 2.0,
  attn_drop_rate: 0.0, shared_ssm: false, softmax_version: false, drop_rate: 0.0, // ignored upstream
  drop_path_rate: 0.1, mlp_ratio: 4.0, patch_norm: true, norm_layer: 'nn.LayerNorm', downsample_version: 'v2', step_size: 2,
  // ssm-vision additions: the SSM blocks' scan strategy, and Backbone_EfficientVSSM's out_indices (mmdet/mmseg)
  scan: 'atrous', scan_options: {} as ScanOptions, out_indices: null as number[] | null,
};
export type EfficientVMambaConfig = typeof EFFICIENTVMAMBA_DEFAULTS;

/** accepted and ignored: memory switches, and keys the official **kwargs swallows (yaml WINDOWSIZE) */
const IGNORED_KWARGS = ['use_checkpoint', 'pretrained', 'window_size'];
/** fixed upstream: the SS2D that _make_layer builds (ssm_* defaults) */
const SSM_D_STATE = 16;
const SSM_RANK_RATIO = 2.0;
const SSM_CONV = 3;

// ---- blocks ------------------------------------------------------------------------------------

/**
 * SS2D (forward_type v2) with the family's scan: in_proj -> (x, z), z = SiLU(z); x -> dwconv 3x3 ->
 * SiLU -> [in_rank] -> core (atrous ES2D) -> out_norm -> [out_rank] -> * z -> out_proj.
 * Parameters: x_proj_weight (4, R+2N, D), dt_projs_weight (4, D, R), dt_projs_bias (4, D),
 * A_logs (4D, N), Ds (4D), out_norm (D), in_proj (2E, C), conv2d (E, 1, 3, 3)+bias, out_proj (C, E),
 * with E = ssm_ratio*C and D = min(2, ssm_ratio)*C.
 */
class SS2D extends Module implements Layer {
  readonly out_norm: LayerNorm;
  readonly in_proj: Linear;
  readonly conv2d: Conv2d;
  readonly in_rank: Conv2d | null = null;
  readonly out_rank: Linear | null = null;
  readonly out_proj: Linear;
  readonly core: SS2DCore;
  private readonly act: SiLU;
  private readonly dropout: Identity;

  constructor(dModel: number, ssmRatio: number, scan: string, scanOptions: ScanOptions) {
    super();
    const E = Math.trunc(ssmRatio * dModel);
    const D = Math.trunc(Math.min(SSM_RANK_RATIO, ssmRatio) * dModel);
    if (E < 1 || D < 1) throw new Error(`efficientvmamba: ssm_ratio ${ssmRatio} leaves no SSM channels for dim ${dModel}`);
    this.out_norm = this.child('out_norm', new LayerNorm(D));
    this.in_proj = this.child('in_proj', new Linear(dModel, 2 * E, { bias: false, init: 'trunc_normal' }));
    this.act = this.child('act', new SiLU());
    this.conv2d = this.child('conv2d', new Conv2d(E, E, SSM_CONV, { groups: E, padding: (SSM_CONV - 1) >> 1 }));
    if (D < E) {
      this.in_rank = this.child('in_rank', new Conv2d(E, D, 1, { bias: false }));
      this.out_rank = this.child('out_rank', new Linear(D, E, { bias: false, init: 'trunc_normal' }));
    }
    // x_proj_weight, dt_projs_weight, dt_projs_bias, A_logs, Ds directly on this module (`op.x_proj_weight`)
    this.core = new SS2DCore({ param: (n, v, o) => this.param(n, v, o), child: (n, m) => this.child(n, m) }, {
      scan, options: scanOptions, dInner: D, dState: SSM_D_STATE, dtRank: Math.ceil(dModel / 16),
    });
    if (this.core.strategy.needsPreConv && this.in_rank) {
      throw new Error(`efficientvmamba: scan '${this.core.strategy.name}' reads the pre-conv map, which has ${E} channels while the low-rank core (ssm_ratio ${ssmRatio} > 2) scans ${D}`);
    }
    this.out_proj = this.child('out_proj', new Linear(E, dModel, { bias: false, init: 'trunc_normal' }));
    this.dropout = this.child('dropout', new Identity()); // ssm_drop_rate is fixed at 0 upstream
  }

  /** (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [xi, z0] = tf.split(this.in_proj.forward(x), 2, 3);
      const z = this.act.forward(z0);
      let h = this.act.forward(this.conv2d.forward(xi));
      if (this.in_rank) h = this.in_rank.forward(h);
      const norm = (t: Tensor) => this.out_norm.forward(t);
      let y = this.core.perVisitNorm
        ? this.core.forward(h, { preConv: xi, perVisitNorm: norm })
        : norm(this.core.forward(h, { preConv: xi }));
      if (this.out_rank) y = this.out_rank.forward(y);
      return this.dropout.forward(this.out_proj.forward(tf.mul(y, z)));
    });
  }
}

/** BiAttn (channel attention only): x * sigmoid(channel_select(GELU(global_reduce(mean_hw(LN(x)))))). */
class BiAttn extends Module implements Layer {
  readonly norm: LayerNorm;
  readonly global_reduce: Linear;
  readonly channel_select: Linear;
  private readonly actFn: GELU;

  constructor(C: number, actRatio = 0.125) {
    super();
    const r = Math.trunc(C * actRatio);
    this.norm = this.child('norm', new LayerNorm(C));
    this.global_reduce = this.child('global_reduce', new Linear(C, r, { init: 'trunc_normal' }));
    this.actFn = this.child('act_fn', new GELU());
    this.channel_select = this.child('channel_select', new Linear(r, C, { init: 'trunc_normal' }));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const g = tf.mean(this.norm.forward(x), [1, 2], true); // (B, 1, 1, C)
      return tf.mul(x, tf.sigmoid(this.channel_select.forward(this.actFn.forward(this.global_reduce.forward(g)))));
    });
  }
}

/** Efficient VSSBlock: y = LN(x); x + drop_path(se(op(y)) + se(conv_branch(y))) [+ drop_path(mlp(norm2(.)))]. */
class VSSBlock extends Module implements Layer {
  readonly norm: LayerNorm;
  readonly op: SS2D;
  readonly conv_branch: Sequential;
  readonly se: BiAttn;
  readonly norm2: LayerNorm | null = null;
  readonly mlp: Mlp | null = null;
  private readonly dropPath: DropPath;

  constructor(dim: number, o: { dropPath: number; eps: number; ssmRatio: number; mlpRatio: number; scan: string; scanOptions: ScanOptions }) {
    super();
    this.norm = this.child('norm', new LayerNorm(dim, o.eps));
    this.op = this.child('op', new SS2D(dim, o.ssmRatio, o.scan, o.scanOptions));
    // Conv2d dw 3x3 (bias) -> BN -> GELU -> Conv2d 1x1 (bias), NCHW upstream
    this.conv_branch = this.child('conv_branch', new Sequential(
      new Conv2d(dim, dim, 3, { padding: 1, groups: dim }), new BatchNorm2d(dim), new GELU(), new Conv2d(dim, dim, 1),
    ));
    this.se = this.child('se', new BiAttn(dim));
    this.dropPath = this.child('drop_path', new DropPath(o.dropPath));
    if (o.mlpRatio > 0) {
      this.norm2 = this.child('norm2', new LayerNorm(dim, o.eps));
      this.mlp = this.child('mlp', new Mlp(dim, Math.trunc(dim * o.mlpRatio)));
    }
  }

  forward(input: Tensor): Tensor {
    return tf.tidy(() => {
      const x = this.norm.forward(input);
      // the same BiAttn module gates both branches, each from its own global statistics
      let h = tf.add(input, this.dropPath.forward(tf.add(this.se.forward(this.op.forward(x)), this.se.forward(this.conv_branch.forward(x)))));
      if (this.mlp) h = tf.add(h, this.dropPath.forward(this.mlp.forward(this.norm2!.forward(h))));
      return h;
    });
  }
}

/** SqueezeExcite of operations.py: x * sigmoid(conv_expand(ReLU(conv_reduce(avgpool(x))))). */
class SqueezeExcite extends Module implements Layer {
  readonly conv_reduce: Conv2d;
  readonly conv_expand: Conv2d;
  private readonly actFn: ReLU;

  constructor(C: number, reduce: number) {
    super();
    this.conv_reduce = this.child('conv_reduce', new Conv2d(C, reduce, 1));
    this.actFn = this.child('act_fn', new ReLU());
    this.conv_expand = this.child('conv_expand', new Conv2d(reduce, C, 1));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.mul(x, tf.sigmoid(this.conv_expand.forward(this.actFn.forward(this.conv_reduce.forward(tf.mean(x, [1, 2], true)))))));
  }
}

/**
 * InvertedResidual(C, C, expand 4, SE 0.125, ReLU): conv_pw (1x1, BN, ReLU) -> conv_dw (3x3 dw, BN,
 * ReLU) -> se -> conv_pw2 (1x1, BN) -> + x (drop_path with the block's drop_connect_rate).
 */
class InvertedResidual extends Module implements Layer {
  readonly conv_pw: Sequential;
  readonly conv_dw: Sequential;
  readonly se: SqueezeExcite;
  readonly conv_pw2: Sequential;
  private readonly dropPath: DropPath;

  constructor(C: number, dropConnect: number, expand = 4, seRatio = 0.125) {
    super();
    const mid = Math.trunc(C * expand);
    this.conv_pw = this.child('conv_pw', new Sequential(new Conv2d(C, mid, 1, { bias: false }), new BatchNorm2d(mid), new ReLU()));
    this.conv_dw = this.child('conv_dw', new Sequential(new Conv2d(mid, mid, 3, { padding: 1, groups: mid, bias: false }), new BatchNorm2d(mid), new ReLU()));
    this.se = this.child('se', new SqueezeExcite(mid, Math.max(1, Math.trunc(mid * seRatio))));
    this.conv_pw2 = this.child('conv_pw2', new Sequential(new Conv2d(mid, C, 1, { bias: false }), new BatchNorm2d(C)));
    this.dropPath = this.child('drop_path', new DropPath(dropConnect));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(x, this.dropPath.forward(this.conv_pw2.forward(this.se.forward(this.conv_dw.forward(this.conv_pw.forward(x)))))));
  }
}

// ---- stages ------------------------------------------------------------------------------------

/** layers.2/3 = Sequential(Permute, InvertedResidual x depth, Permute, downsample): keys layers.i.{1..depth}, downsample at depth+2. */
class InvertedResidualLayer extends Sequential implements VSSStage {
  constructor(blocks: InvertedResidual[], downsample: LayerModule) {
    super(new Identity(), ...blocks, new Identity(), downsample);
  }

  body(x: Tensor): Tensor {
    let h = x;
    for (const l of this.layers.slice(0, -1)) h = l.forward(h);
    return h;
  }

  down(x: Tensor): Tensor { return this.layers[this.layers.length - 1].forward(x); }
}

// ---- model -------------------------------------------------------------------------------------

export class EfficientVMamba extends VSSMBackbone {
  readonly family = 'efficientvmamba';
  readonly config: EfficientVMambaConfig;
  readonly numClasses: number;
  readonly dims: number[];
  readonly featureInfo: FeatureInfo[];
  readonly patch_embed: Sequential;
  readonly layers: ModuleList<VSSStage>;
  readonly classifier: VSSMClassifier | null;

  constructor(kwargs: Partial<EfficientVMambaConfig> & Record<string, unknown> = {}) {
    super();
    checkKwargs('efficientvmamba', kwargs, EFFICIENTVMAMBA_DEFAULTS, IGNORED_KWARGS);
    const c = { ...EFFICIENTVMAMBA_DEFAULTS, ...kwargs } as EfficientVMambaConfig;
    this.config = c;
    const nl = c.depths.length;
    this.dims = stageDims('efficientvmamba', c.dims, nl);
    if (c.step_size !== 2) throw new Error(`efficientvmamba: step_size ${c.step_size} is not supported (the atrous scan and every released model use 2)`);
    if (!['v1', 'v2'].includes(c.downsample_version)) throw new Error(`efficientvmamba: downsample_version must be 'v1' (PatchMerging2D) or 'v2' (conv 2x2), got ${JSON.stringify(c.downsample_version)}`);
    const eps = layerNormEps('efficientvmamba', 'norm_layer', c.norm_layer);
    this.numClasses = c.num_classes;
    const dpr = dropPathRates(c.drop_path_rate, c.depths.reduce((a, b) => a + b, 0));

    this.patch_embed = this.child('patch_embed', makePatchEmbed('efficientvmamba', 'v1', c.in_chans, this.dims[0], c.patch_size, c.patch_norm, layerNorm(eps)));
    const layers: VSSStage[] = [];
    let at = 0;
    for (let i = 0; i < nl; i++) {
      const C = this.dims[i];
      const down = stageDownsample('efficientvmamba', c.downsample_version, this.dims, i, layerNorm(eps));
      const rates = dpr.slice(at, at + c.depths[i]);
      at += c.depths[i];
      layers.push(i < 2
        ? new VSSLayer(rates.map((p) => new VSSBlock(C, { dropPath: p, eps, ssmRatio: c.ssm_ratio, mlpRatio: c.mlp_ratio, scan: c.scan, scanOptions: c.scan_options })), down)
        : new InvertedResidualLayer(rates.map((p) => new InvertedResidual(C, p)), down));
    }
    this.layers = this.child('layers', new ModuleList(layers));
    this.featureInfo = stageFeatureInfo(this.dims, c.patch_size);
    // Backbone_EfficientVSSM (out_indices): outnorm{i} per returned stage, no classifier
    this.classifier = this.buildHead(c.out_indices, c.num_classes, layerNorm(eps));
  }

  /** VSSM._load_from_state_dict's legacy renames and nested `module.` prefixes (Backbone_EfficientVSSM.load_pretrained). */
  checkpointFilter<T>(dict: Map<string, T>): Map<string, T> {
    return vssmLegacyRenames(dict);
  }
}

// ---- variants as data --------------------------------------------------------------------------

/** the released models (logs/log_efficient_vmamba_*.txt: timm_efficient_vssm_*, drop_path_rate 0.1, PatchMerging2D, no MLP) */
const RELEASED = { patch_size: 4, in_chans: 3, num_classes: 1000, ssm_ratio: 2.0, mlp_ratio: 0.0, patch_norm: true, downsample_version: 'v1', drop_path_rate: 0.1 };

const pretrained = (variant: string, repo: string): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, url: `https://huggingface.co/TerryPei/${repo}/tree/main`, inputSize: [3, 224, 224],
  mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 0.875, interpolation: 'bicubic', numClasses: 1000,
  // the repository's own loader reads 'state_dict' and strips 'module.module.' (checkpointFilter does)
  checkpointKey: 'state_dict',
}];

const VARIANTS = {
  efficientvmamba_tiny: { config: { ...RELEASED, dims: 48, depths: [2, 2, 4, 2] }, officialParams: 6_493_660, publishedFlops: 0.8e9, pretrained: pretrained('efficientvmamba_tiny', 'EfficientVMamba-Tiny') },
  // released stem width 64 (log), not the yaml's 96: see the header
  efficientvmamba_small: {
    config: { ...RELEASED, dims: 64, depths: [2, 2, 4, 2] },
    approxParams: { count: 11_274_000, tolerance: 500, source: 'released log (timm_efficient_vssm_small: 11.274 M); the yaml (EMBED_DIM 96) gives 24,757,456' },
    publishedFlops: 1.343e9, // the log's fvcore count (README: 1.3G)
    pretrained: pretrained('efficientvmamba_small', 'EfficientVMamba-Small'),
  },
  efficientvmamba_base: { config: { ...RELEASED, dims: 96, depths: [2, 2, 9, 2] }, officialParams: 33_717_136, publishedFlops: 4.0e9, pretrained: pretrained('efficientvmamba_base', 'EfficientVMamba-Base') },
  // the golden checkpoint's structure (tests/fixtures/golden/families/index.json): fast tests
  test_efficientvmamba: { config: { ...RELEASED, dims: 16, depths: [1, 1, 2, 1], num_classes: 10 }, officialParams: 387_936 },
};

registerFamily('efficientvmamba', {
  paper: 'EfficientVMamba: Atrous Selective Scan for Light Weight Visual Mamba (Pei et al., arXiv 2403.09977)',
  upstream: 'TerryPei/EfficientVMamba@0bc5ee2 classification/models/vmamba_efficient.py (EfficientVSSM)',
  defaults: EFFICIENTVMAMBA_DEFAULTS,
  create: (kwargs) => new EfficientVMamba(kwargs),
}, VARIANTS);
