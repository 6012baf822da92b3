// LocalMamba / LocalVMamba: Visual State Space Model with Windowed Selective Scan (Huang et al.,
// arXiv 2403.09338). Port of hunto/LocalMamba@75e5d1f classification/lib/models/local_vmamba.py
// (VSSM, VSSBlock, SS2D, MultiScanVSSM, BiAttn, PatchMerging2D, Backbone_LocalVSSM) with
// mamba/multi_mamba.py (MultiScan) and mamba/local_scan.py (local_scan_bchw, local_reverse).
// Activations are NHWC.
//
// The SS2D is VMamba's v0 block (z = act(z) first, dwconv + act, out_norm, * z) whose core scans
// each block's own 4 directions (the searched lists of the released configs, one list per block)
// with the registered 'window' strategy: every direction zero-padded to the longest, windows padded
// to whole windows (zero tokens), each direction's un-scanned output through one shared BiAttn, then
// summed (merge=biattn, keys `op.multi_scan.attn.*`), and LocalMamba's 'v' un-scan copied
// (official_reverse: its inverse is wrong when H != W; square inputs are unaffected).
//
// Quirks copied from the official constructor: `d_state` is not a VSSM argument (it falls into
// **kwargs and is ignored, so released models run ssm_d_state=16); directions=None builds the search
// supernet (all 8 directions, multi_scan.norms (LayerNorm without affine) and multi_scan.weights,
// merged as softmax(weights)-weighted sum of the normalised BiAttn outputs).
// Any registered scan can replace 'window' (`scan: 'hilbert'`, `scan_options`): the block then has the
// strategy's parameters and merge instead of the per-block directions and BiAttn.
//
// Parameter counts (official constructor, 1000 classes): local_vssm_tiny 25,527,160,
// local_vssm_small 49,748,536 (tests/fixtures/golden/families/index.json).
import { tf, type Tensor } from '../core/tf.ts';
import {
  Module, Linear, Conv2d, LayerNorm, GELU, SiLU, ReLU, Dropout, DropPath, Sequential, ModuleList,
  normal, type Layer, type LayerModule,
} from '../core/nn/index.ts';
import '../scans/index.ts'; // registers the strategies the SS2D core can take
import { SS2DCore, ParamGroup, createSSMParams, projectAndScan, resolveRank, toMap, type CoreFactory } from '../scans/core.ts';
import { scans, type ScanOptions, type ScanStrategy } from '../scans/registry.ts';
import { BiAttn, officialUnscan } from '../scans/window.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type FeatureInfo, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';
import { VSSLayer, VSSMClassifier, dropPathRates, layerNorm, makePatchEmbed, stageDims } from './common.ts';
import { VSSMBackbone, stageDownsample, stageFeatureInfo } from './vssm-backbone.ts';

// ---- config (the official VSSM constructor's keyword names and defaults) ------------------------

export const LOCALVMAMBA_DEFAULTS = {
  patch_size: 4, in_chans: 3, num_classes: 1000, depths: [2, 2, 9, 2] as number[], dims: [96, 192, 384, 768] as number | number[],
  ssm_d_state: 16, ssm_ratio: 2.0, ssm_dt_rank: 'auto' as number | 'auto', ssm_act_layer: 'silu', ssm_conv: 3, ssm_conv_bias: true,
  ssm_drop_rate: 0.0, ssm_simple_init: false,
  drop_path_rate: 0.1, patch_norm: true, norm_layer: 'LN',
  /** one list of scan directions per block (h, h_flip, v, v_flip, w2, w2_flip, w7, w7_flip); null = search supernet */
  directions: null as string[][] | null,
  // ssm-vision additions: the scan strategy of every SS2D, and Backbone_LocalVSSM's out_indices (mmdet/mmseg)
  scan: 'window', scan_options: {} as ScanOptions, out_indices: null as number[] | null,
};
export type LocalVMambaConfig = typeof LOCALVMAMBA_DEFAULTS;

/** accepted and ignored: `d_state` falls into VSSM's **kwargs (the released factories pass it); training switches */
const IGNORED_KWARGS = ['d_state', 'use_checkpoint', 'pretrained'];

/** MultiScan.ALL_CHOICES, the search space (and the directions of the supernet). */
export const ALL_CHOICES = ['h', 'h_flip', 'v', 'v_flip', 'w2', 'w2_flip', 'w7', 'w7_flip'];

function act(name: string): () => LayerModule {
  const table: Record<string, () => LayerModule> = { silu: () => new SiLU(), gelu: () => new GELU(), relu: () => new ReLU() };
  const f = table[name.toLowerCase()];
  if (!f) throw new Error(`localvmamba: unknown ssm_act_layer '${name}' (silu, gelu, relu)`);
  return f;
}

// ---- the search supernet's merge (directions=None) ----------------------------------------------

/**
 * MultiScanVSSM in search mode: the 8 directions of 'window', each un-scanned output through the
 * shared BiAttn, then MultiScan.forward's search branch: norms[k] (LayerNorm, no affine) and the sum
 * weighted by softmax(weights) over k. Keys: multi_scan.weights (8, 1, 1, 1), multi_scan.attn.*.
 */
const searchCore: CoreFactory = (sink, strategy, o, cfg) => {
  const dirs = o.directions as string[];
  const K = dirs.length, D = cfg.dInner;
  const params = createSSMParams(sink, K, D, cfg.dState, resolveRank(cfg.dtRank, D), cfg);
  const ms = sink.child('multi_scan', new ParamGroup()).sink;
  const norms = ms.child('norms', new ModuleList(dirs.map(() => new LayerNorm(D, 1e-5, { affine: false }))));
  const weights = ms.param('weights', normal([K, 1, 1, 1], 1e-3, 0, cfg.rng));
  const attn = ms.child('attn', new BiAttn(D));
  return {
    K,
    forward(x) {
      const [Bn, H, W] = x.shape;
      const P = H * W;
      return tf.tidy(() => {
        const y = officialUnscan(projectAndScan(x, params, strategy.plan(H, W, o)), dirs, H, W); // (B, D, K, P)
        const yk = attn.forward(y.transpose([0, 2, 3, 1]).reshape([Bn * K, P, D])).reshape([Bn, K, P, D]);
        const w = tf.softmax(weights.reshape([K])); // (K)
        const parts = tf.unstack(yk, 1).map((t, k) => tf.mul(norms.items[k].forward(t), tf.slice(w, [k], [1])));
        return toMap(tf.addN(parts).transpose([0, 2, 1]), H, W);
      });
    },
  };
};

/** 'window' with the supernet merge (a strategy object: plans and options are window's). */
function searchStrategy(): ScanStrategy {
  return { ...scans.get('window'), core: searchCore };
}

// ---- blocks ------------------------------------------------------------------------------------

interface SS2DArgs {
  d_model: number; d_state: number; ssm_ratio: number; dt_rank: number | 'auto'; act_layer: () => LayerModule;
  d_conv: number; conv_bias: boolean; dropout: number; scan: string | ScanStrategy; scan_options: ScanOptions;
}

/**
 * LocalMamba's SS2D: in_proj (no bias) -> x | z; with a conv (d_conv > 1): z = act(z), x = act(dwconv(x));
 * without: act on both halves. core (scan + merge) -> out_norm -> * z -> out_proj -> dropout.
 * Keys: x_proj_weight (K, R+2N, D), dt_projs_weight (K, D, R), dt_projs_bias (K, D), A_logs (K*D, N),
 * Ds (K*D), out_norm, in_proj (2D, C), conv2d (D, 1, k, k) + bias, out_proj (C, D), multi_scan.attn.*.
 */
export class LocalSS2D extends Module {
  readonly core: SS2DCore;
  readonly out_norm: LayerNorm;
  readonly in_proj: Linear;
  readonly conv2d: Conv2d | null;
  readonly out_proj: Linear;
  private readonly act: LayerModule;
  private readonly dropout: Dropout;

  constructor(a: SS2DArgs) {
    super();
    const D = Math.trunc(a.ssm_ratio * a.d_model);
    // dt_rank 'auto' is ceil(d_model / 16), the block width
    const R = a.dt_rank === 'auto' ? Math.ceil(a.d_model / 16) : a.dt_rank;
    this.core = new SS2DCore({ param: (n, v, o) => this.param(n, v, o), child: (n, m) => this.child(n, m) }, {
      scan: a.scan, options: a.scan_options, dInner: D, dState: a.d_state, dtRank: R,
    });
    this.out_norm = this.child('out_norm', new LayerNorm(D));
    this.in_proj = this.child('in_proj', new Linear(a.d_model, 2 * D, { bias: false, init: 'trunc_normal' }));
    this.act = this.child('act', a.act_layer());
    this.conv2d = a.d_conv > 1 ? this.child('conv2d', new Conv2d(D, D, a.d_conv, { groups: D, padding: (a.d_conv - 1) >> 1, bias: a.conv_bias })) : null;
    this.out_proj = this.child('out_proj', new Linear(D, a.d_model, { bias: false, init: 'trunc_normal' }));
    this.dropout = this.child('dropout', new Dropout(a.dropout));
  }

  /** x (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h: Tensor, z: Tensor, pre: Tensor;
      if (this.conv2d) {
        [h, z] = tf.split(this.in_proj.forward(x), 2, 3);
        z = this.act.forward(z);
        pre = h;
        h = this.act.forward(this.conv2d.forward(h));
      } else {
        [h, z] = tf.split(this.act.forward(this.in_proj.forward(x)), 2, 3);
        pre = h;
      }
      const norm = (t: Tensor) => this.out_norm.forward(t);
      const y = this.core.perVisitNorm ? this.core.forward(h, { preConv: pre, perVisitNorm: norm }) : norm(this.core.forward(h, { preConv: pre }));
      return this.dropout.forward(this.out_proj.forward(tf.mul(y, z)));
    });
  }
}

/** VSSBlock: x + drop_path(op(norm(x))) (no MLP branch). */
class VSSBlock extends Module implements Layer {
  readonly norm: LayerNorm;
  readonly op: LocalSS2D;
  private readonly dropPath: DropPath;

  constructor(dim: number, dropPath: number, ss2d: Omit<SS2DArgs, 'd_model'>) {
    super();
    this.norm = this.child('norm', new LayerNorm(dim));
    this.op = this.child('op', new LocalSS2D({ ...ss2d, d_model: dim }));
    this.dropPath = this.child('drop_path', new DropPath(dropPath));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(x, this.dropPath.forward(this.op.forward(this.norm.forward(x)))));
  }
}

// ---- stages ------------------------------------------------------------------------------------

// ---- model -------------------------------------------------------------------------------------

export class LocalVMamba extends VSSMBackbone {
  readonly family = 'localvmamba';
  readonly config: LocalVMambaConfig;
  readonly numClasses: number;
  readonly dims: number[];
  readonly featureInfo: FeatureInfo[];
  readonly patch_embed: Sequential;
  readonly layers: ModuleList<VSSLayer>;
  readonly classifier: VSSMClassifier | null;

  constructor(kwargs: Partial<LocalVMambaConfig> & Record<string, unknown> = {}) {
    super();
    checkKwargs('localvmamba', kwargs, LOCALVMAMBA_DEFAULTS, IGNORED_KWARGS);
    const c = { ...LOCALVMAMBA_DEFAULTS, ...kwargs } as LocalVMambaConfig;
    this.config = c;
    const nl = c.depths.length;
    this.dims = stageDims('localvmamba', c.dims, nl);
    if (c.norm_layer.toLowerCase() !== 'ln') throw new Error(`localvmamba: norm_layer '${c.norm_layer}' is not supported (the official VSSM only builds 'LN')`);
    if (c.ssm_simple_init) throw new Error('localvmamba: ssm_simple_init=True (random A_logs/dt init) is not used by any released model and is not supported');
    this.numClasses = c.num_classes;
    const total = c.depths.reduce((a, b) => a + b, 0);
    if (c.directions && c.directions.length !== total) {
      throw new Error(`localvmamba: directions has ${c.directions.length} lists but the model has ${total} blocks (sum of depths ${JSON.stringify(c.depths)}): one list per block`);
    }
    const dpr = dropPathRates(c.drop_path_rate, total);
    const ssmAct = act(c.ssm_act_layer);
    // scan of block b: window with its direction list (or the supernet), else the named strategy as given
    if (c.scan === 'window' && c.scan_options && 'directions' in c.scan_options) {
      throw new Error("localvmamba: the window scan's directions come from the `directions` argument (one list per block), not scan_options.directions");
    }
    const scanOf = (b: number): { scan: string | ScanStrategy; scan_options: ScanOptions } => {
      if (c.scan !== 'window') return { scan: c.scan, scan_options: c.scan_options };
      const base = { merge: 'biattn', official_reverse: true, allow_oversize: true, ...c.scan_options };
      if (c.directions) return { scan: 'window', scan_options: { ...base, directions: c.directions[b] } };
      return { scan: searchStrategy(), scan_options: { ...base, directions: ALL_CHOICES } };
    };

    this.patch_embed = this.child('patch_embed', makePatchEmbed('localvmamba', 'v1', c.in_chans, this.dims[0], c.patch_size, c.patch_norm, layerNorm()));
    const layers: VSSLayer[] = [];
    let at = 0;
    for (let i = 0; i < nl; i++) {
      const blocks: VSSBlock[] = [];
      for (let d = 0; d < c.depths[i]; d++, at++) {
        blocks.push(new VSSBlock(this.dims[i], dpr[at], {
          d_state: c.ssm_d_state, ssm_ratio: c.ssm_ratio, dt_rank: c.ssm_dt_rank, act_layer: ssmAct,
          d_conv: c.ssm_conv, conv_bias: c.ssm_conv_bias, dropout: c.ssm_drop_rate, ...scanOf(at),
        }));
      }
      layers.push(new VSSLayer(blocks, stageDownsample('localvmamba', 'v1', this.dims, i, layerNorm())));
    }
    this.layers = this.child('layers', new ModuleList(layers));
    this.featureInfo = stageFeatureInfo(this.dims, c.patch_size);
    // Backbone_LocalVSSM (out_indices): outnorm{i} per returned stage, no classifier
    this.classifier = this.buildHead(c.out_indices, c.num_classes, layerNorm());
  }
}

// ---- variants as data --------------------------------------------------------------------------

/** local_vssm_tiny's searched directions, one list per block (depths 2, 2, 9, 2). */
const TINY_DIRECTIONS = [
  ['h', 'h_flip', 'w7', 'w7_flip'], ['h_flip', 'v_flip', 'w2', 'w2_flip'],
  ['h_flip', 'v_flip', 'w2_flip', 'w7'], ['h_flip', 'v', 'v_flip', 'w2'],
  ['h', 'h_flip', 'v_flip', 'w2_flip'], ['h_flip', 'v_flip', 'w2', 'w2_flip'], ['h', 'w2_flip', 'w7', 'w7_flip'],
  ['h', 'h_flip', 'v', 'v_flip'], ['h', 'v_flip', 'w7', 'w7_flip'], ['h_flip', 'v', 'w2', 'w7_flip'],
  ['v', 'v_flip', 'w2', 'w7_flip'], ['h', 'h_flip', 'v_flip', 'w2_flip'], ['v_flip', 'w2_flip', 'w7', 'w7_flip'],
  ['h_flip', 'v_flip', 'w2_flip', 'w7_flip'], ['h_flip', 'v', 'w7', 'w7_flip'],
];

/** local_vssm_small's searched directions, one list per block (depths 2, 2, 27, 2). */
const SMALL_DIRECTIONS = [
  ['h', 'v', 'v_flip', 'w7_flip'], ['h', 'h_flip', 'v', 'w7'],
  ['h_flip', 'v', 'v_flip', 'w7'], ['h_flip', 'v', 'w2_flip', 'w7'],
  ['h_flip', 'v', 'w2_flip', 'w7'], ['h_flip', 'v_flip', 'w2', 'w7_flip'], ['h_flip', 'v', 'v_flip', 'w7'],
  ['h', 'v', 'v_flip', 'w7'], ['h', 'v', 'v_flip', 'w7'], ['h', 'v', 'v_flip', 'w7_flip'],
  ['h', 'h_flip', 'v', 'v_flip'], ['h', 'v', 'v_flip', 'w2'], ['v', 'v_flip', 'w2_flip', 'w7'],
  ['h', 'h_flip', 'v', 'w2'], ['h_flip', 'v', 'v_flip', 'w7_flip'], ['h', 'h_flip', 'v', 'v_flip'],
  ['h', 'v', 'v_flip', 'w7_flip'], ['h', 'v', 'v_flip', 'w7_flip'], ['h', 'h_flip', 'v_flip', 'w7'],
  ['h_flip', 'v_flip', 'w2_flip', 'w7'], ['h_flip', 'v', 'v_flip', 'w7_flip'], ['v', 'v_flip', 'w7', 'w7_flip'],
  ['h', 'v', 'v_flip', 'w7_flip'], ['h_flip', 'v', 'v_flip', 'w2'], ['h', 'v', 'v_flip', 'w2_flip'],
  ['h', 'h_flip', 'v', 'w7'], ['h', 'h_flip', 'w7', 'w7_flip'], ['h', 'v_flip', 'w2', 'w2_flip'],
  ['h', 'v_flip', 'w2', 'w7'], ['h', 'v', 'v_flip', 'w7_flip'],
  ['h_flip', 'v', 'w2_flip', 'w7'], ['h_flip', 'v_flip', 'w7', 'w7_flip'], ['h', 'v', 'w7', 'w7_flip'],
];

const RELEASES = 'https://github.com/hunto/LocalMamba/releases/download/v1.0.0';
const pretrained = (variant: string, file: string): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, url: `${RELEASES}/${file}`, file, inputSize: [3, 224, 224],
  mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 0.875, interpolation: 'bicubic', numClasses: 1000,
  checkpointKey: 'model', // CheckpointSaver: {'epoch', 'model', 'ema_model', 'optimizer'}
}];

/** Configs as the factories pass them (local_vssm_tiny / local_vssm_small), counts from the official constructors. */
const VARIANTS = {
  localvmamba_tiny: { config: { dims: [96, 192, 384, 768], depths: [2, 2, 9, 2], d_state: 16, drop_path_rate: 0.2, directions: TINY_DIRECTIONS }, officialParams: 25_527_160, publishedFlops: 5.7e9 },
  // the README's LocalVMamba-S checkpoint
  localvmamba_small: { config: { dims: [96, 192, 384, 768], depths: [2, 2, 27, 2], d_state: 16, drop_path_rate: 0.2, directions: SMALL_DIRECTIONS }, officialParams: 49_748_536, publishedFlops: 11.4e9, pretrained: pretrained('localvmamba_small', 'local_vssm_small.ckpt') },
  // the golden checkpoint's structure (tests/fixtures/golden/families/index.json): fast tests
  test_localvmamba: { config: { dims: [16, 32, 64, 128], depths: [1, 1, 2, 1], d_state: 16, drop_path_rate: 0.1, num_classes: 10, directions: TINY_DIRECTIONS.slice(0, 5) }, officialParams: 384_518 },
};

registerFamily('localvmamba', {
  paper: 'LocalMamba: Visual State Space Model with Windowed Selective Scan (Huang et al., arXiv 2403.09338)',
  upstream: 'hunto/LocalMamba@75e5d1f classification/lib/models/local_vmamba.py (VSSM)',
  defaults: LOCALVMAMBA_DEFAULTS,
  create: (kwargs) => new LocalVMamba(kwargs),
}, VARIANTS);
