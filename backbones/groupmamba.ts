// GroupMamba: Parameter-Efficient and Accurate Group Visual State Space Model (Shaker et al.,
// arXiv 2407.13772). Port of Amshaker/GroupMamba@c1800ed classification/models/groupmamba.py
// (GroupMamba, Stem, DownSamples, Block_mamba, GroupMambaLayer, PVT2FFN, ClassBlock, FFN) with
// ss2d.py (SS2D = VMamba's SS2Dv2, forward v2) and csms6s.py (CrossScan_1..4 / CrossMerge_1..4).
// Activations are NHWC (the official token sequences (B, H*W, C) are row-major maps).
//
// The modulated group mamba layer: LayerNorm -> channel affinity a = sigmoid(fc2(relu(fc1(mean x))));
// channels split in 4 quarters, quarter g through its own complete SS2D (d_state 1, ssm_ratio 1,
// d_conv 3, one direction: row-major, column-major, reversed row-major, reversed column-major), the
// outputs concatenated, * skip_scale * x (the normalised input) * a, the *same* LayerNorm again, proj.
// Each per-group SS2D is VMamba's SS2D (backbones/vmamba.ts) on the 'cross' scan with one direction;
// `scan: '<name>'` gives every group that registered strategy instead (`scan_options` its options),
// which changes the groups' SSM parameter shapes to the strategy's (official checkpoints then do not load).
// (The registered 'grouped' strategy is the same layer with the four SSMs fused into one core; the
// released checkpoints hold four separate SS2D modules, so this family builds those.)
//
// Head: forward_cls prepends the token mean as a class token and runs one ClassBlock on it alone (a
// 1x1 map), norm{last}, then `head` and the distillation head `dist_head`. The official forward
// returns the tuple (head, dist_head) in training and their average in eval; here `forward` always
// returns the average (what eval reports and what a label-only loss should train) and `forwardHeads`
// returns both for a DeiT-style distillation loss.
// LayerNorm eps: `norm_layer` (the factories pass partial(nn.LayerNorm, eps=1e-6)) for Block_mamba.norm2,
// the ClassBlock norms and norm1..4; 1e-5 (plain nn.LayerNorm) in Stem, DownSamples and GroupMambaLayer.
//
// Parameter counts (official constructor, 1000 classes): groupmamba_tiny 23,361,917, groupmamba_small
// 34,781,555, groupmamba_base 57,150,838 (tests/fixtures/golden/families/index.json). The README gives
// no FLOPs.
import { tf, type Tensor } from '../core/tf.ts';
import {
  Module, Linear, Conv2d, LayerNorm, BatchNorm2d, GELU, SiLU, ReLU, DropPath, Sequential, ModuleList, normal, type Layer,
} from '../core/nn/index.ts';
import { SS2D } from './vmamba.ts';
import type { ScanOptions } from '../scans/registry.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type Backbone, type FeatureInfo, type ForwardIntermediatesOptions, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';
import { dropPathRates } from './common.ts';

// ---- config (the official GroupMamba constructor's keyword names and defaults) ------------------

export const GROUPMAMBA_DEFAULTS = {
  in_chans: 3, num_classes: 1000, stem_hidden_dim: 32, embed_dims: [64, 128, 348, 448] as number[], mlp_ratios: [8, 8, 4, 4] as number[],
  drop_path_rate: 0.0,
  /** 'nn.LayerNorm' (eps 1e-5) or 'partial(nn.LayerNorm, eps=1e-6)', as the official factories write it */
  norm_layer: 'nn.LayerNorm', depths: [3, 4, 6, 3] as number[], num_stages: 4, distillation: true,
  // ssm-vision additions: a registered scan for every group's SS2D instead of the official one-direction cross scans
  scan: null as string | null, scan_options: {} as ScanOptions,
};
export type GroupMambaConfig = typeof GROUPMAMBA_DEFAULTS;

const IGNORED_KWARGS = ['pretrained'];

/** CrossScan_1..4 of the four groups, in the 'cross' strategy's vocabulary. */
const GROUP_DIRECTIONS = ['h', 'v', 'h_flip', 'v_flip'];

/** eps of a `norm_layer` argument: nn.LayerNorm, LayerNorm, ln -> 1e-5; partial(nn.LayerNorm, eps=X) -> X. */
export function layerNormEps(spec: string): number {
  const s = spec.replace(/\s+/g, '');
  if (/^(nn\.)?LayerNorm$|^ln$/i.test(s)) return 1e-5;
  const m = /^partial\((?:nn\.)?LayerNorm,eps=([0-9.eE+-]+)\)$/.exec(s);
  if (m && Number.isFinite(Number(m[1])) && Number(m[1]) > 0) return Number(m[1]);
  throw new Error(`groupmamba: norm_layer '${spec}' is not supported: use 'nn.LayerNorm' or 'partial(nn.LayerNorm, eps=1e-6)'`);
}

/** nn.Conv2d with GroupMamba's _init_weights: weight ~ N(0, sqrt(2 / fan_out)), fan_out = k*k*out/groups; bias 0. */
function conv(inC: number, outC: number, k: number, opts: { stride?: number; padding?: number; groups?: number; bias?: boolean } = {}): Conv2d {
  const c = new Conv2d(inC, outC, k, opts);
  const w = normal(c.weight.shape, Math.sqrt(2 / ((k * k * outC) / (opts.groups ?? 1))));
  c.weight.assign(w);
  w.dispose();
  if (c.bias) c.bias.assign(tf.zerosLike(c.bias));
  return c;
}

const linear = (i: number, o: number) => new Linear(i, o, { init: 'trunc_normal' });

class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return tf.sigmoid(x); }
}

// ---- blocks ------------------------------------------------------------------------------------

/** GroupMambaLayer(dim, dim): the modulated group mamba layer; keys fc1, fc2, norm, mamba_g1..4, proj, skip_scale. */
export class GroupMambaLayer extends Module implements Layer {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly norm: LayerNorm;
  readonly groups: SS2D[];
  readonly proj: Linear;
  readonly skip_scale: tf.Variable;
  private readonly relu: ReLU;
  private readonly sigmoid: Sigmoid;

  constructor(readonly dim: number, scan: string | null, scanOptions: ScanOptions, reduction = 16) {
    super();
    if (dim % 4) throw new Error(`groupmamba: width ${dim} cannot be split into 4 channel groups (torch.chunk would give groups wider than the SS2D's d_model ${Math.floor(dim / 4)})`);
    const r = Math.floor(dim / reduction);
    if (r < 1) throw new Error(`groupmamba: width ${dim} // ${reduction} = 0 channels for the channel-affinity fc1; widths must be >= ${reduction}`);
    this.fc1 = this.child('fc1', linear(dim, r));
    this.fc2 = this.child('fc2', linear(r, dim));
    this.relu = this.child('relu', new ReLU());
    this.sigmoid = this.child('sigmoid', new Sigmoid());
    this.norm = this.child('norm', new LayerNorm(dim));
    this.groups = GROUP_DIRECTIONS.map((dir, g) => this.child(`mamba_g${g + 1}`, new SS2D({
      d_model: dim / 4, d_state: 1, ssm_ratio: 1, dt_rank: 'auto', act_layer: () => new SiLU(), d_conv: 3, conv_bias: true,
      dropout: 0, initialize: 'v0', forward_type: 'v2',
      scan: scan ?? 'cross', scan_options: scan ? scanOptions : { directions: [dir] },
    })));
    this.proj = this.child('proj', linear(dim, dim));
    this.skip_scale = this.param('skip_scale', tf.ones([1]));
  }

  /** x (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [B, , , C] = x.shape;
      const xn = this.norm.forward(x);
      const a = this.sigmoid.forward(this.fc2.forward(this.relu.forward(this.fc1.forward(tf.mean(xn, [1, 2]))))).reshape([B, 1, 1, C]);
      const parts = tf.split(xn, 4, 3).map((xg, g) => this.groups[g].forward(xg));
      const y = tf.mul(tf.mul(tf.mul(tf.concat(parts, 3), this.skip_scale), xn), a);
      return this.proj.forward(this.norm.forward(y));
    });
  }
}

/** DWConv: dwconv = depthwise 3x3 with bias. */
class DWConv extends Module implements Layer {
  readonly dwconv: Conv2d;

  constructor(dim: number) {
    super();
    this.dwconv = this.child('dwconv', conv(dim, dim, 3, { padding: 1, groups: dim }));
  }

  forward(x: Tensor): Tensor {
    return this.dwconv.forward(x);
  }
}

/** PVT2FFN: fc1 -> dwconv -> GELU -> fc2 (FFN, the ClassBlock's MLP, has no dwconv). */
class FFN extends Module implements Layer {
  readonly fc1: Linear;
  readonly dwconv: DWConv | null;
  readonly fc2: Linear;
  private readonly act: GELU;

  constructor(dim: number, hidden: number, withDwconv: boolean) {
    super();
    this.fc1 = this.child('fc1', linear(dim, hidden));
    this.dwconv = withDwconv ? this.child('dwconv', new DWConv(hidden)) : null;
    this.act = this.child('act', new GELU());
    this.fc2 = this.child('fc2', linear(hidden, dim));
  }

  /** (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.fc1.forward(x);
      if (this.dwconv) h = this.dwconv.forward(h);
      return this.fc2.forward(this.act.forward(h));
    });
  }
}

interface LayerArgs { scan: string | null; scanOptions: ScanOptions; eps: number }

/** Block_mamba: x + drop_path(attn(x)); x + drop_path(mlp(norm2(x))) (the layer norms its input itself). */
class BlockMamba extends Module implements Layer {
  readonly norm2: LayerNorm;
  readonly attn: GroupMambaLayer;
  readonly mlp: FFN;
  private readonly dropPath: DropPath;

  constructor(dim: number, mlpRatio: number, dropPath: number, a: LayerArgs) {
    super();
    this.norm2 = this.child('norm2', new LayerNorm(dim, a.eps));
    this.attn = this.child('attn', new GroupMambaLayer(dim, a.scan, a.scanOptions));
    this.mlp = this.child('mlp', new FFN(dim, Math.trunc(dim * mlpRatio), true));
    this.dropPath = this.child('drop_path', new DropPath(dropPath));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const h = tf.add(x, this.dropPath.forward(this.attn.forward(x)));
      return tf.add(h, this.dropPath.forward(this.mlp.forward(this.norm2.forward(h))));
    });
  }
}

/** ClassBlock on the class token alone: cls + norm1(attn(cls)) (as a 1x1 map); + mlp(norm2(cls)). */
class ClassBlock extends Module implements Layer {
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly attn: GroupMambaLayer;
  readonly mlp: FFN;

  constructor(dim: number, mlpRatio: number, a: LayerArgs) {
    super();
    this.norm1 = this.child('norm1', new LayerNorm(dim, a.eps));
    this.norm2 = this.child('norm2', new LayerNorm(dim, a.eps));
    this.attn = this.child('attn', new GroupMambaLayer(dim, a.scan, a.scanOptions));
    this.mlp = this.child('mlp', new FFN(dim, Math.trunc(dim * mlpRatio), false));
  }

  /** cls (B, 1, 1, C) -> (B, 1, 1, C) */
  forward(cls: Tensor): Tensor {
    return tf.tidy(() => {
      const h = tf.add(cls, this.norm1.forward(this.attn.forward(cls)));
      return tf.add(h, this.mlp.forward(this.norm2.forward(h)));
    });
  }
}

// ---- stages ------------------------------------------------------------------------------------

/** Stem: conv = [7x7 s2 (no bias), BN, ReLU, 3x3 (no bias), BN, ReLU, 3x3 (no bias), BN, ReLU]; proj 3x3 s2; LayerNorm (1e-5). */
class Stem extends Module implements Layer {
  readonly conv: Sequential;
  readonly proj: Conv2d;
  readonly norm: LayerNorm;

  constructor(inC: number, hidden: number, outC: number) {
    super();
    this.conv = this.child('conv', new Sequential(
      conv(inC, hidden, 7, { stride: 2, padding: 3, bias: false }), new BatchNorm2d(hidden), new ReLU(),
      conv(hidden, hidden, 3, { padding: 1, bias: false }), new BatchNorm2d(hidden), new ReLU(),
      conv(hidden, hidden, 3, { padding: 1, bias: false }), new BatchNorm2d(hidden), new ReLU(),
    ));
    this.proj = this.child('proj', conv(hidden, outC, 3, { stride: 2, padding: 1 }));
    this.norm = this.child('norm', new LayerNorm(outC));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.norm.forward(this.proj.forward(this.conv.forward(x))));
  }
}

/** DownSamples: proj 3x3 s2 p1 (bias) -> LayerNorm (1e-5). */
class DownSamples extends Module implements Layer {
  readonly proj: Conv2d;
  readonly norm: LayerNorm;

  constructor(inC: number, outC: number) {
    super();
    this.proj = this.child('proj', conv(inC, outC, 3, { stride: 2, padding: 1 }));
    this.norm = this.child('norm', new LayerNorm(outC));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.norm.forward(this.proj.forward(x)));
  }
}

// ---- model -------------------------------------------------------------------------------------

export class GroupMamba extends Module implements Backbone {
  readonly family = 'groupmamba';
  readonly config: GroupMambaConfig;
  readonly numClasses: number;
  readonly featureInfo: FeatureInfo[];
  /** per stage: patch_embed{i+1}, block{i+1}, norm{i+1} */
  readonly stages: Array<{ embed: Stem | DownSamples; blocks: ModuleList<BlockMamba>; norm: LayerNorm }> = [];
  readonly post_network: ModuleList<ClassBlock>;
  readonly head: Linear | null;
  readonly dist_head: Linear | null;

  constructor(kwargs: Partial<GroupMambaConfig> & Record<string, unknown> = {}) {
    super();
    checkKwargs('groupmamba', kwargs, GROUPMAMBA_DEFAULTS, IGNORED_KWARGS);
    const c = { ...GROUPMAMBA_DEFAULTS, ...kwargs } as GroupMambaConfig;
    this.config = c;
    const S = c.num_stages;
    for (const [k, v] of [['embed_dims', c.embed_dims], ['mlp_ratios', c.mlp_ratios], ['depths', c.depths]] as const) {
      if (!Array.isArray(v) || v.length < S) throw new Error(`groupmamba: ${k} needs an entry for each of the ${S} stages (num_stages), got ${JSON.stringify(v)}`);
    }
    this.numClasses = c.num_classes;
    const eps = layerNormEps(c.norm_layer);
    const a: LayerArgs = { scan: c.scan, scanOptions: c.scan_options, eps };
    const depths = c.depths.slice(0, S);
    const total = depths.reduce((x, y) => x + y, 0);
    const dpr = dropPathRates(c.drop_path_rate, total);
    let cur = 0;
    for (let i = 0; i < S; i++) {
      const dim = c.embed_dims[i];
      const embed = this.child(`patch_embed${i + 1}`, i === 0 ? new Stem(c.in_chans, c.stem_hidden_dim, dim) : new DownSamples(c.embed_dims[i - 1], dim));
      const blocks = this.child(`block${i + 1}`, new ModuleList(Array.from({ length: depths[i] }, (_, j) => new BlockMamba(dim, c.mlp_ratios[i], dpr[cur + j], a))));
      const norm = this.child(`norm${i + 1}`, new LayerNorm(dim, eps));
      cur += depths[i];
      this.stages.push({ embed, blocks, norm });
    }
    const C = c.embed_dims[S - 1];
    this.post_network = this.child('post_network', new ModuleList([new ClassBlock(C, c.mlp_ratios[S - 1], a)]));
    this.head = c.num_classes > 0 ? this.child('head', linear(C, c.num_classes)) : null;
    this.dist_head = c.distillation && c.num_classes > 0 ? this.child('dist_head', linear(C, c.num_classes)) : null;
    this.featureInfo = c.embed_dims.slice(0, S).map((channels, i) => ({ channels, reduction: 4 * 2 ** i, module: `block${i + 1}` }));
  }

  private checkInput(x: Tensor): void {
    if (x.rank !== 4 || x.shape[3] !== this.config.in_chans) {
      throw new Error(`groupmamba: input must be NHWC (B, H, W, ${this.config.in_chans}) float32, got shape [${x.shape}]`);
    }
  }

  private runBlocks(i: number, h: Tensor): Tensor {
    let o = h;
    for (const b of this.stages[i].blocks.items) o = b.forward(o);
    return o;
  }

  /**
   * Stage outputs (NHWC): the output of block{i+1} before norm{i+1}, as the official forward_features
   * computes them; norm: true applies norm{i+1} (what the next stage reads, or for the last stage the
   * norm the class token gets).
   */
  forwardIntermediates(x: Tensor, opts: ForwardIntermediatesOptions = {}): Tensor[] {
    this.checkInput(x);
    const S = this.stages.length;
    const indices = opts.indices ?? [...Array(S).keys()];
    for (const i of indices) if (!(Number.isInteger(i) && i >= 0 && i < S)) throw new Error(`groupmamba: feature index ${i} out of range 0..${S - 1}`);
    const last = Math.max(...indices);
    return tf.tidy(() => {
      const outs = new Map<number, Tensor>();
      let h = x;
      for (let i = 0; i <= last; i++) {
        const o = this.runBlocks(i, this.stages[i].embed.forward(h));
        const normed = i < S - 1 || opts.norm === true ? this.stages[i].norm.forward(o) : o;
        if (indices.includes(i)) outs.set(i, opts.norm === true ? normed : o);
        h = normed;
      }
      return indices.map((i) => outs.get(i)!);
    });
  }

  /** forward_features: (B, H, W, 3) -> the normed class token (B, C) */
  forwardFeatures(x: Tensor): Tensor {
    this.checkInput(x);
    return tf.tidy(() => {
      const S = this.stages.length;
      let h = x;
      for (let i = 0; i < S; i++) {
        h = this.runBlocks(i, this.stages[i].embed.forward(h));
        if (i < S - 1) h = this.stages[i].norm.forward(h);
      }
      // forward_cls: the class token is the mean of the last stage's tokens; only it leaves the ClassBlock
      let cls = tf.mean(h, [1, 2], true); // (B, 1, 1, C)
      for (const blk of this.post_network.items) cls = blk.forward(cls);
      const [B, , , C] = h.shape as [number, number, number, number];
      return this.stages[S - 1].norm.forward(cls).reshape([B, C]);
    });
  }

  /** [head(x), dist_head(x)] (the official training-mode output); one entry without distillation */
  forwardHeads(x: Tensor): Tensor[] {
    return tf.tidy(() => {
      const f = this.forwardFeatures(x);
      if (!this.head) return [f];
      return this.dist_head ? [this.head.forward(f), this.dist_head.forward(f)] : [this.head.forward(f)];
    });
  }

  /** logits (B, num_classes): (head + dist_head) / 2 with distillation (the official eval output); features when num_classes = 0 */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const outs = this.forwardHeads(x);
      return outs.length === 2 ? tf.div(tf.add(outs[0], outs[1]), 2) : outs[0];
    });
  }
}

// ---- variants as data --------------------------------------------------------------------------

const LN6 = 'partial(nn.LayerNorm, eps=1e-6)';

// Weights: the README's per-model Google Drive links (also the authors' model-hub pages
// Abdelrahman-shaker/GroupMamba-{Tiny,Small,Base}); the file is a bare state dict (eval.py loads it
// into the EMA model directly), evaluated with bicubic resize and center crop 224/256.
const pretrained = (variant: string, driveId: string): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, url: `https://drive.google.com/file/d/${driveId}/view`, inputSize: [3, 224, 224], mean: IMAGENET_MEAN, std: IMAGENET_STD,
  cropPct: 0.875, interpolation: 'bicubic', numClasses: 1000,
}];

/** Configs as the factories groupmamba_tiny/_small/_base pass them; counts from the official constructors. */
const VARIANTS = {
  groupmamba_tiny: { config: { stem_hidden_dim: 32, embed_dims: [64, 128, 348, 448], mlp_ratios: [8, 8, 4, 4], norm_layer: LN6, depths: [3, 4, 9, 3] }, officialParams: 23_361_917, pretrained: pretrained('groupmamba_tiny', '1TrYYs0uGZbja_2ONQLyfiNdp8C5ZYP1o') },
  groupmamba_small: { config: { stem_hidden_dim: 64, embed_dims: [64, 128, 348, 512], mlp_ratios: [8, 8, 4, 4], norm_layer: LN6, depths: [3, 4, 16, 3] }, officialParams: 34_781_555, pretrained: pretrained('groupmamba_small', '1vTN9ynDcsDuOVrcT9GcQ5nBSk-hXySlh') },
  groupmamba_base: { config: { stem_hidden_dim: 64, embed_dims: [96, 192, 424, 512], mlp_ratios: [8, 8, 4, 4], norm_layer: LN6, depths: [3, 6, 21, 3] }, officialParams: 57_150_838, pretrained: pretrained('groupmamba_base', '1A_srBeDYpsinU5W3PAEADu1saoz413EU') },
  // the golden checkpoint's structure (tests/fixtures/golden/families/index.json): fast tests
  test_groupmamba: { config: { stem_hidden_dim: 8, embed_dims: [16, 32, 48, 64], mlp_ratios: [8, 8, 4, 4], depths: [1, 1, 2, 1], num_classes: 10, drop_path_rate: 0.1, norm_layer: LN6 }, officialParams: 219_731 },
};

registerFamily('groupmamba', {
  paper: 'GroupMamba: Parameter-Efficient and Accurate Group Visual State Space Model (Shaker et al., arXiv 2407.13772)',
  upstream: 'Amshaker/GroupMamba@c1800ed classification/models/groupmamba.py (GroupMamba)',
  defaults: GROUPMAMBA_DEFAULTS,
  create: (kwargs) => new GroupMamba(kwargs),
}, VARIANTS);
