// Multi-Scale VMamba: Hierarchy in Hierarchy Visual State Space Model (Shi et al., NeurIPS 2024, arXiv 2405.14174).
// Port of YuHengsss/MSVMamba @c394019 (master) classification/models/vmamba.py (SS2D with
// sscore_type 'multiscale_4scan_12', VSSBlock with ConvFFN, VSSM, Backbone_VSSM) and
// classification/models/utils.py (SEModule, ConvFFN, x_selective_scan). Activations are NHWC.
//
// The SSM core of the stages listed in `ms_stage` is the multi-scale scan (scans/multiscale.ts:
// row-major at full resolution + [rev-row, col, rev-col] concatenated on the stride-2 conv2d_b1 map,
// the block's out_norm applied to every visit, bilinear upsampling). `scan` replaces it with any
// registered strategy; stages outside ms_stage (and sscore_type 'None') keep the official v2 core,
// VMamba's cross scan with out_norm after the merge.
//
// Accepted with no effect, exactly as in the official code: up_sample (SS2D reads a key named
// 'upsample', which VSSM never passes, so upsampling is always bilinear), ms_fusion, recurrent,
// inter_block_ssm, grid_size, multiscale_ratio, multiscale_ksize, continous_patch, adaptive_merge,
// b1_seq, b1_ratio, lpu (stored in kwargs, never read by the model code).
// Rejected with an error: settings under which the official forward crashes (ms_split other than
// [1, 3], ssm_conv < 2 with the multi-scale core, ssm_ratio > ssm_rank_ratio) or that no released
// model uses and that change the state dict (sep_norm, add_conv False, forward types other than v1/v2).
// Parameter counts equal the official constructor exactly (nano, micro, tiny and the golden config).
import { tf, type Tensor } from '../core/tf.ts';
import { Module, Linear, Conv2d, LayerNorm, GELU, ReLU, Dropout, DropPath, Sequential, ModuleList, type Layer, type LayerModule } from '../core/nn/index.ts';
import '../scans/index.ts'; // registers the strategies SS2D can take
import { SS2DCore } from '../scans/core.ts';
import type { ScanOptions } from '../scans/registry.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type FeatureInfo, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';
import { Mlp, VSSLayer, VSSMClassifier, activation, dropPathRates, layerNorm, layerNormEps, makePatchEmbed, stageDims, vssmLegacyRenames } from './common.ts';
import { VSSMBackbone, stageDownsample, stageFeatureInfo } from './vssm-backbone.ts';

// ---- config (the official VSSM constructor's keyword names, with the defaults its code reads) ---

export const MSVMAMBA_DEFAULTS = {
  patch_size: 4, in_chans: 3, num_classes: 1000, depths: [2, 2, 9, 2] as number[], dims: [96, 192, 384, 768] as number | number[],
  ssm_d_state: 16 as number | 'auto', ssm_ratio: 2.0, ssm_rank_ratio: 2.0, ssm_dt_rank: 'auto' as number | 'auto', ssm_act_layer: 'silu',
  ssm_conv: 3, ssm_conv_bias: true, ssm_drop_rate: 0.0, ssm_simple_init: false, forward_type: 'v2',
  mlp_ratio: 4.0, mlp_act_layer: 'gelu', mlp_drop_rate: 0.0,
  drop_path_rate: 0.1, patch_norm: true, norm_layer: 'LN', downsample_version: 'v2', patchembed_version: 'v1',
  // **kwargs of VSSM (defaults as SS2D/VSSBlock read them with kwargs.get)
  sscore_type: 'None', add_conv: true, add_se: false, convFFN: false, ffn_dropout: 0.2, sep_norm: false,
  ms_stage: [0, 1, 2, 3] as number[], ms_split: [1, 3] as number[],
  up_sample: 'interpolate', ms_fusion: null as unknown, recurrent: false, inter_block_ssm: false, grid_size: 0,
  multiscale_ratio: [] as number[], multiscale_ksize: [] as number[], continous_patch: false, adaptive_merge: false,
  b1_seq: false, b1_ratio: 0.5, lpu: false,
  // ssm-vision additions: the strategy replacing the multi-scale core, and Backbone_VSSM's out_indices
  scan: 'multiscale', scan_options: {} as ScanOptions, out_indices: null as number[] | null,
};
export type MSVMambaConfig = typeof MSVMAMBA_DEFAULTS;

const IGNORED_KWARGS = ['use_checkpoint', 'pretrained'];

// ---- blocks ------------------------------------------------------------------------------------

/** utils.SEModule(channels, reduction 8): x * sigmoid(fc(avgpool(x))), fc = [Linear (no bias), ReLU, Linear (no bias), Sigmoid]. */
class SEModule extends Module implements Layer {
  readonly fc: Sequential;

  constructor(C: number, reduction = 8) {
    super();
    const r = Math.floor(C / reduction);
    this.fc = this.child('fc', new Sequential(new Linear(C, r, { bias: false, init: 'trunc_normal' }), new ReLU(), new Linear(r, C, { bias: false, init: 'trunc_normal' }), new Sigmoid()));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.mul(x, this.fc.forward(tf.mean(x, [1, 2], true))));
  }
}

class Sigmoid extends Module implements Layer {
  forward(x: Tensor): Tensor { return tf.sigmoid(x); }
}

interface SS2DArgs {
  dModel: number; dState: number | 'auto'; ssmRatio: number; dtRank: number | 'auto'; act: () => LayerModule;
  dConv: number; convBias: boolean; dropout: number; addSE: boolean;
  /** the multi-scale core runs here (sscore_type multiscale and the stage in ms_stage) */
  multiscale: boolean; scan: string; scanOptions: ScanOptions;
}

/**
 * SS2D: in_proj -> (x, z), z = act(z); x -> dwconv -> act -> core (multi-scale, or cross) with
 * out_norm -> [SE] -> * z -> out_proj. Multi-scale parameters: x_proj_weight (2, R+2N, D) (group 0
 * the low-res sequence, group 1 the full map), dt_projs_* (2, ...), A_logs (2D, N), Ds (2D),
 * conv2d_b1 (D, 1, 7, 7)+bias; cross: K = 4.
 */
class SS2D extends Module implements Layer {
  readonly out_norm: LayerNorm;
  readonly se: SEModule | null = null;
  readonly in_proj: Linear;
  readonly conv2d: Conv2d;
  readonly out_proj: Linear;
  readonly core: SS2DCore;
  private readonly act: LayerModule;
  private readonly dropout: Dropout;

  constructor(a: SS2DArgs) {
    super();
    const D = Math.trunc(a.ssmRatio * a.dModel);
    const N = a.dState === 'auto' ? Math.ceil(a.dModel / 6) : a.dState;
    this.out_norm = this.child('out_norm', new LayerNorm(D));
    if (a.addSE) this.se = this.child('se', new SEModule(D, 8));
    this.in_proj = this.child('in_proj', new Linear(a.dModel, 2 * D, { bias: false, init: 'trunc_normal' }));
    this.act = this.child('act', a.act());
    this.conv2d = this.child('conv2d', new Conv2d(D, D, a.dConv, { groups: D, padding: (a.dConv - 1) >> 1, bias: a.convBias }));
    // x_proj_weight, dt_projs_*, A_logs, Ds (and multiscale's conv2d_b1) directly on this module
    this.core = new SS2DCore({ param: (n, v, o) => this.param(n, v, o), child: (n, m) => this.child(n, m) }, {
      scan: a.multiscale ? a.scan : 'cross', options: a.multiscale ? a.scanOptions : {},
      dInner: D, dState: N, dtRank: a.dtRank === 'auto' ? Math.ceil(a.dModel / 16) : a.dtRank,
    });
    this.out_proj = this.child('out_proj', new Linear(D, a.dModel, { bias: false, init: 'trunc_normal' }));
    this.dropout = this.child('dropout', new Dropout(a.dropout));
  }

  /** (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [xi, z0] = tf.split(this.in_proj.forward(x), 2, 3);
      const z = this.act.forward(z0);
      const h = this.act.forward(this.conv2d.forward(xi));
      const norm = (t: Tensor) => this.out_norm.forward(t);
      // multi-scale: out_norm on each branch's tokens and on every low-res visit (x_selective_scan
      // normalises the concatenated sequence); cross: on the merged map
      let y = this.core.perVisitNorm
        ? this.core.forward(h, { preConv: xi, perVisitNorm: norm })
        : norm(this.core.forward(h, { preConv: xi }));
      if (this.se) y = this.se.forward(y);
      return this.dropout.forward(this.out_proj.forward(tf.mul(y, z)));
    });
  }
}

/** utils.ConvFFN(C, expansion 2): linear1 (1x1) -> drop -> h + dwc(h) (3x3 dw) -> GELU -> linear2 (1x1) -> drop. */
class ConvFFN extends Module implements Layer {
  readonly linear1: Conv2d;
  readonly linear2: Conv2d;
  readonly dwc: Conv2d;
  private readonly drop1: Dropout;
  private readonly act: GELU;
  private readonly drop2: Dropout;

  constructor(C: number, drop: number, expansion = 2) {
    super();
    const C2 = C * expansion;
    this.linear1 = this.child('linear1', new Conv2d(C, C2, 1));
    this.drop1 = this.child('drop1', new Dropout(drop));
    this.act = this.child('act', new GELU());
    this.linear2 = this.child('linear2', new Conv2d(C2, C, 1));
    this.drop2 = this.child('drop2', new Dropout(drop));
    this.dwc = this.child('dwc', new Conv2d(C2, C2, 3, { padding: 1, groups: C2 }));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const h = this.drop1.forward(this.linear1.forward(x));
      return this.drop2.forward(this.linear2.forward(this.act.forward(tf.add(h, this.dwc.forward(h)))));
    });
  }
}

/**
 * VSSBlock: x + drop_path(op(norm(x))); [+ drop_path(mlp(norm2(.)))]; [+ drop_path(convFFN(norm2(.)))].
 * With both an Mlp and the ConvFFN the official block keeps ONE norm2 (the second assignment
 * replaces the first), used by both.
 */
class VSSBlock extends Module implements Layer {
  readonly norm: LayerNorm;
  readonly op: SS2D;
  readonly norm2: LayerNorm | null = null;
  readonly mlp: Mlp | null = null;
  readonly convFFN: ConvFFN | null = null;
  private readonly dropPath: DropPath;

  constructor(dim: number, o: { eps: number; dropPath: number; ssm: SS2DArgs; mlpRatio: number; mlpAct: () => LayerModule; mlpDrop: number; convFFN: boolean; ffnDropout: number }) {
    super();
    this.norm = this.child('norm', new LayerNorm(dim, o.eps));
    this.op = this.child('op', new SS2D(o.ssm));
    this.dropPath = this.child('drop_path', new DropPath(o.dropPath));
    if (o.mlpRatio > 0 || o.convFFN) this.norm2 = this.child('norm2', new LayerNorm(dim, o.eps));
    if (o.mlpRatio > 0) this.mlp = this.child('mlp', new Mlp(dim, Math.trunc(dim * o.mlpRatio), o.mlpAct, o.mlpDrop));
    if (o.convFFN) this.convFFN = this.child('convFFN', new ConvFFN(dim, o.ffnDropout));
  }

  forward(input: Tensor): Tensor {
    return tf.tidy(() => {
      let x = tf.add(input, this.dropPath.forward(this.op.forward(this.norm.forward(input))));
      if (this.mlp) x = tf.add(x, this.dropPath.forward(this.mlp.forward(this.norm2!.forward(x))));
      if (this.convFFN) x = tf.add(x, this.dropPath.forward(this.convFFN.forward(this.norm2!.forward(x))));
      return x;
    });
  }
}

// ---- stages ------------------------------------------------------------------------------------

/** Settings the official code cannot run, or that no released model uses and that change the state dict. */
function checkSupported(c: MSVMambaConfig): void {
  const bad = (msg: string) => new Error(`msvmamba: ${msg}`);
  if (!['v1', 'v2'].includes(c.forward_type)) throw bad(`forward_type ${JSON.stringify(c.forward_type)} is not supported (v1, v2: the core every released model uses)`);
  if (!['None', 'multiscale_4scan_12'].includes(c.sscore_type)) throw bad(`sscore_type must be 'multiscale_4scan_12' or 'None', got ${JSON.stringify(c.sscore_type)}`);
  if (!(c.ssm_ratio > 0)) throw bad(`ssm_ratio must be > 0 (the official block has no SSM-free path), got ${c.ssm_ratio}`);
  if (c.ssm_rank_ratio > 0 && c.ssm_rank_ratio < c.ssm_ratio) throw bad(`ssm_rank_ratio ${c.ssm_rank_ratio} < ssm_ratio ${c.ssm_ratio} (the low-rank in_rank/out_rank path) is not supported`);
  if (c.ssm_simple_init) throw bad('ssm_simple_init=True (random A_logs/dt init) is not supported');
  if (c.sep_norm) throw bad('sep_norm=True (out_norm0/out_norm1) is not supported: no released model uses it');
  if (!Number.isInteger(c.ssm_conv) || c.ssm_conv < 2) throw bad(`ssm_conv must be an integer >= 2 (the depthwise conv the multi-scale branch needs), got ${c.ssm_conv}`);
  if (c.sscore_type === 'multiscale_4scan_12') {
    if (!c.add_conv) throw bad('add_conv=False (low-res routes on the raw pre-conv map) is not supported: the multiscale scan owns conv2d_b1');
    if (c.ms_split.length !== 2 || c.ms_split[0] !== 1 || c.ms_split[1] !== 3) throw bad(`ms_split must be [1, 3] (the official forward only runs that split), got [${c.ms_split}]`);
    if (c.scan === 'multiscale' && c.ssm_act_layer.replace(/^nn\./, '').toLowerCase() !== 'silu') {
      throw bad(`ssm_act_layer ${JSON.stringify(c.ssm_act_layer)}: the multiscale scan activates conv2d_b1 with SiLU (every released model)`);
    }
  }
}

// ---- model -------------------------------------------------------------------------------------

export class MSVMamba extends VSSMBackbone {
  readonly family = 'msvmamba';
  readonly config: MSVMambaConfig;
  readonly numClasses: number;
  readonly dims: number[];
  readonly featureInfo: FeatureInfo[];
  readonly patch_embed: Sequential;
  readonly layers: ModuleList<VSSLayer>;
  readonly classifier: VSSMClassifier | null;

  constructor(kwargs: Partial<MSVMambaConfig> & Record<string, unknown> = {}) {
    super();
    checkKwargs('msvmamba', kwargs, MSVMAMBA_DEFAULTS, IGNORED_KWARGS);
    const c = { ...MSVMAMBA_DEFAULTS, ...kwargs } as MSVMambaConfig;
    this.config = c;
    checkSupported(c);
    const nl = c.depths.length;
    this.dims = stageDims('msvmamba', c.dims, nl);
    const eps = layerNormEps('msvmamba', 'norm_layer', c.norm_layer);
    const ssmAct = activation('msvmamba', 'ssm_act_layer', c.ssm_act_layer);
    const mlpAct = activation('msvmamba', 'mlp_act_layer', c.mlp_act_layer);
    this.numClasses = c.num_classes;
    const dpr = dropPathRates(c.drop_path_rate, c.depths.reduce((a, b) => a + b, 0));

    if (c.patchembed_version !== 'v1' && c.patchembed_version !== 'v2') throw new Error(`msvmamba: patchembed_version must be v1 or v2, got ${JSON.stringify(c.patchembed_version)}`);
    this.patch_embed = this.child('patch_embed', makePatchEmbed('msvmamba', c.patchembed_version, c.in_chans, this.dims[0], c.patch_size, c.patch_norm, layerNorm(eps)));
    const layers: VSSLayer[] = [];
    let at = 0;
    for (let i = 0; i < nl; i++) {
      const dim = this.dims[i];
      const ssm: SS2DArgs = {
        dModel: dim, dState: c.ssm_d_state, ssmRatio: c.ssm_ratio, dtRank: c.ssm_dt_rank, act: ssmAct,
        dConv: c.ssm_conv, convBias: c.ssm_conv_bias, dropout: c.ssm_drop_rate, addSE: c.add_se,
        multiscale: c.sscore_type === 'multiscale_4scan_12' && c.ms_stage.includes(i), scan: c.scan, scanOptions: c.scan_options,
      };
      const blocks = Array.from({ length: c.depths[i] }, () => new VSSBlock(dim, {
        eps, dropPath: dpr[at++], ssm, mlpRatio: c.mlp_ratio, mlpAct, mlpDrop: c.mlp_drop_rate, convFFN: c.convFFN, ffnDropout: c.ffn_dropout,
      }));
      layers.push(new VSSLayer(blocks, stageDownsample('msvmamba', c.downsample_version, this.dims, i, layerNorm(eps))));
    }
    this.layers = this.child('layers', new ModuleList(layers));
    this.featureInfo = stageFeatureInfo(this.dims, c.patch_size);
    this.classifier = this.buildHead(c.out_indices, c.num_classes, layerNorm(eps));
  }

  /** VSSM._load_from_state_dict's legacy renames. */
  checkpointFilter<T>(dict: Map<string, T>): Map<string, T> {
    return vssmLegacyRenames(dict);
  }
}

// ---- variants as data --------------------------------------------------------------------------

/** configs/ms_vssm/vssm_*_224_ms.yaml on top of config.py's defaults */
const MS = {
  patch_size: 4, in_chans: 3, num_classes: 1000, ssm_d_state: 1, ssm_ratio: 2.0, ssm_rank_ratio: 2.0, ssm_dt_rank: 'auto',
  ssm_act_layer: 'silu', ssm_conv: 3, ssm_conv_bias: true, ssm_drop_rate: 0.0, forward_type: 'v2', mlp_ratio: 0.0,
  drop_path_rate: 0.2, patch_norm: true, norm_layer: 'ln', downsample_version: 'v1', patchembed_version: 'v1',
  sscore_type: 'multiscale_4scan_12', add_conv: true, add_se: true, convFFN: true, ffn_dropout: 0.0,
  ms_stage: [0, 1, 2, 3], ms_split: [1, 3], up_sample: 'interpolate',
};

const pretrained = (variant: string, folder: string): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, url: `https://drive.google.com/drive/folders/${folder}`, inputSize: [3, 224, 224],
  mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 0.875, interpolation: 'bicubic', numClasses: 1000, checkpointKey: 'model',
}];

/** Parameter counts: official constructor, exact. FLOPs: the configs' comments (fvcore with the selective-scan rule). */
const VARIANTS = {
  msvmamba_nano: { config: { ...MS, dims: 48, depths: [1, 2, 5, 2] }, officialParams: 6_864_136, publishedFlops: 0.88e9, pretrained: pretrained('msvmamba_nano', '1J41w3ApitQhp2O3wHmJoOs4U032uqebK') },
  msvmamba_micro: { config: { ...MS, dims: 64, depths: [1, 2, 5, 2] }, officialParams: 11_879_272, publishedFlops: 1.532e9, pretrained: pretrained('msvmamba_micro', '1jfl2GmuKcUB8sPwRlyHK_wT0MjqgljYk') },
  msvmamba_tiny: { config: { ...MS, dims: 96, depths: [1, 2, 9, 2] }, officialParams: 33_046_312, publishedFlops: 4.613e9, pretrained: pretrained('msvmamba_tiny', '1ddNWk89ohcxxMuVEaJ2Y5A6xeBKgA7lU') },
  // the golden checkpoint's structure (tests/fixtures/golden/families/index.json): fast tests
  test_msvmamba: { config: { ...MS, dims: 16, depths: [1, 1, 2, 1], num_classes: 10 }, officialParams: 395_594 },
};

registerFamily('msvmamba', {
  paper: 'Multi-Scale VMamba: Hierarchy in Hierarchy Visual State Space Model (Shi et al., NeurIPS 2024, arXiv 2405.14174)',
  upstream: 'YuHengsss/MSVMamba@c394019 classification/models/vmamba.py (VSSM, sscore_type multiscale_4scan_12)',
  defaults: MSVMAMBA_DEFAULTS,
  create: (kwargs) => new MSVMamba(kwargs),
}, VARIANTS);
