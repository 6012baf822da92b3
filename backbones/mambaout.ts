// MambaOut: Do We Really Need Mamba for Vision? (Yu & Wang, CVPR 2025, arXiv 2405.07992).
// Port of yuweihao/MambaOut @9f2f234 models/mambaout.py (StemLayer, DownsampleLayer, MlpHead,
// GatedCNNBlock, MambaOut). Activations are NHWC, as the official blocks are (the official stem
// reads NCHW images; ours reads NHWC like every family here).
// MambaOut has NO state-space model: it is the paper's Gated CNN baseline (the Mamba block with the
// SSM removed), so there is no scan to replace and `scan` is not an accepted argument. It is
// registered so the ablation tools can compare any SSM family against it.
// Parameter counts equal the official constructor exactly (checked for all five variants).
import { tf, type Tensor } from '../core/tf.ts';
import { Module, Linear, Conv2d, LayerNorm, GELU, Dropout, DropPath, Identity, Sequential, ModuleList, type Layer, type LayerModule } from '../core/nn/index.ts';
import { IMAGENET_MEAN, IMAGENET_STD, collectIntermediates, type Backbone, type FeatureInfo, type ForwardIntermediatesOptions, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';
import { activation, dropPathRates, layerNormEps } from './common.ts';

// ---- config (the official MambaOut constructor's keyword names and defaults) --------------------

export const MAMBAOUT_DEFAULTS = {
  in_chans: 3, num_classes: 1000, depths: [3, 3, 9, 3] as number | number[], dims: [96, 192, 384, 576] as number | number[],
  /** only the official stem + three DownsampleLayers exist */
  downsample_layers: 'DOWNSAMPLE_LAYERS_FOUR_STAGES',
  /** the blocks' norm (the stem, downsample and head norms are fixed at eps 1e-6 upstream) */
  norm_layer: 'partial(nn.LayerNorm, eps=1e-6)',
  /** the blocks' activation (the stem and MlpHead keep nn.GELU upstream) */
  act_layer: 'nn.GELU',
  conv_ratio: 1.0, kernel_size: 7, drop_path_rate: 0.0,
  /** the norm after global pooling */
  output_norm: 'partial(nn.LayerNorm, eps=1e-6)',
  /** 'MlpHead' (every released model) or 'nn.Linear' (keys head.weight/bias) */
  head_fn: 'MlpHead',
  head_dropout: 0.0,
};
export type MambaOutConfig = typeof MAMBAOUT_DEFAULTS;

/** accepted and ignored: factory switches of the official `mambaout_*` functions */
const IGNORED_KWARGS = ['pretrained'];
/** fixed LayerNorm of StemLayer, DownsampleLayer and MlpHead (their defaults; MambaOut never passes norm_layer to them) */
const FIXED_EPS = 1e-6;

// ---- blocks ------------------------------------------------------------------------------------

/**
 * GatedCNNBlock: x + drop_path(fc2(act(g) * cat(i, dwconv(c)))) with [g, i, c] = fc1(norm(x)) split
 * into (hidden, hidden - conv, conv) channels, hidden = int(8/3 * dim), conv = int(conv_ratio * dim).
 */
class GatedCNNBlock extends Module implements Layer {
  readonly norm: LayerNorm;
  readonly fc1: Linear;
  readonly conv: Conv2d;
  readonly fc2: Linear;
  private readonly act: LayerModule;
  private readonly dropPath: LayerModule;
  private readonly split: [number, number, number];

  constructor(dim: number, o: { eps: number; act: () => LayerModule; kernelSize: number; convRatio: number; dropPath: number }) {
    super();
    const hidden = Math.trunc((8 / 3) * dim);
    const convCh = Math.trunc(o.convRatio * dim);
    if (convCh < 1 || convCh > hidden) throw new Error(`mambaout: conv_ratio ${o.convRatio} gives ${convCh} conv channels for dim ${dim} (must be 1..${hidden})`);
    this.split = [hidden, hidden - convCh, convCh];
    this.norm = this.child('norm', new LayerNorm(dim, o.eps));
    this.fc1 = this.child('fc1', new Linear(dim, 2 * hidden, { init: 'trunc_normal' }));
    this.act = this.child('act', o.act());
    this.conv = this.child('conv', new Conv2d(convCh, convCh, o.kernelSize, { padding: o.kernelSize >> 1, groups: convCh }));
    this.fc2 = this.child('fc2', new Linear(hidden, dim, { init: 'trunc_normal' }));
    // parameter-free, but a child so train()/eval() reaches it
    this.dropPath = this.child('drop_path', o.dropPath > 0 ? new DropPath(o.dropPath) : new Identity());
  }

  /** (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [g, i, c] = tf.split(this.fc1.forward(this.norm.forward(x)), this.split, 3);
      const ic = this.split[1] > 0 ? tf.concat([i, this.conv.forward(c)], 3) : this.conv.forward(c);
      return tf.add(x, this.dropPath.forward(this.fc2.forward(tf.mul(this.act.forward(g), ic))));
    });
  }
}

// ---- stages ------------------------------------------------------------------------------------

/** StemLayer: conv 3x3 s2 (in -> C/2) -> LN -> GELU -> conv 3x3 s2 (C/2 -> C) -> LN. Reduction 4. */
class StemLayer extends Module implements Layer {
  readonly conv1: Conv2d;
  readonly norm1: LayerNorm;
  readonly conv2: Conv2d;
  readonly norm2: LayerNorm;
  private readonly act: GELU;

  constructor(inCh: number, outCh: number) {
    super();
    this.conv1 = this.child('conv1', new Conv2d(inCh, outCh >> 1, 3, { stride: 2, padding: 1 }));
    this.norm1 = this.child('norm1', new LayerNorm(outCh >> 1, FIXED_EPS));
    this.act = this.child('act', new GELU());
    this.conv2 = this.child('conv2', new Conv2d(outCh >> 1, outCh, 3, { stride: 2, padding: 1 }));
    this.norm2 = this.child('norm2', new LayerNorm(outCh, FIXED_EPS));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.norm2.forward(this.conv2.forward(this.act.forward(this.norm1.forward(this.conv1.forward(x))))));
  }
}

/** DownsampleLayer: conv 3x3 s2 p1 (bias) -> LN. */
class DownsampleLayer extends Module implements Layer {
  readonly conv: Conv2d;
  readonly norm: LayerNorm;

  constructor(inCh: number, outCh: number) {
    super();
    this.conv = this.child('conv', new Conv2d(inCh, outCh, 3, { stride: 2, padding: 1 }));
    this.norm = this.child('norm', new LayerNorm(outCh, FIXED_EPS));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.norm.forward(this.conv.forward(x)));
  }
}

/** MlpHead: fc1 (C -> 4C) -> GELU -> LN(4C) -> dropout -> fc2 (4C -> classes). */
class MlpHead extends Module implements Layer {
  readonly fc1: Linear;
  readonly norm: LayerNorm;
  readonly fc2: Linear;
  private readonly act: GELU;
  private readonly headDropout: Dropout;

  constructor(dim: number, numClasses: number, dropout: number) {
    super();
    const hidden = 4 * dim;
    this.fc1 = this.child('fc1', new Linear(dim, hidden, { init: 'trunc_normal' }));
    this.act = this.child('act', new GELU());
    this.norm = this.child('norm', new LayerNorm(hidden, FIXED_EPS));
    this.fc2 = this.child('fc2', new Linear(hidden, numClasses, { init: 'trunc_normal' }));
    this.headDropout = this.child('head_dropout', new Dropout(dropout));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.fc2.forward(this.headDropout.forward(this.norm.forward(this.act.forward(this.fc1.forward(x))))));
  }
}

// ---- model -------------------------------------------------------------------------------------

export class MambaOut extends Module implements Backbone {
  readonly family = 'mambaout';
  readonly config: MambaOutConfig;
  readonly numClasses: number;
  readonly dims: number[];
  readonly featureInfo: FeatureInfo[];
  readonly downsample_layers: ModuleList<LayerModule>;
  readonly stages: ModuleList<Sequential>;
  readonly norm: LayerNorm;
  readonly head: LayerModule;

  constructor(kwargs: Partial<MambaOutConfig> & Record<string, unknown> = {}) {
    super();
    if ('scan' in kwargs) throw new Error("mambaout: MambaOut has no state-space model, so there is no scan to choose ('scan' is not an argument)");
    checkKwargs('mambaout', kwargs, MAMBAOUT_DEFAULTS, IGNORED_KWARGS);
    const c = { ...MAMBAOUT_DEFAULTS, ...kwargs } as MambaOutConfig;
    this.config = c;
    // the official constructor wraps a scalar depths/dims into a one-stage list
    const depths = Array.isArray(c.depths) ? [...c.depths] : [c.depths];
    this.dims = Array.isArray(c.dims) ? [...c.dims] : [c.dims];
    const ns = depths.length;
    if (this.dims.length !== ns) throw new Error(`mambaout: dims has ${this.dims.length} entries for ${ns} stages (depths)`);
    if (ns > 4) throw new Error(`mambaout: at most 4 stages (the official DOWNSAMPLE_LAYERS_FOUR_STAGES), got ${ns}`);
    if (c.downsample_layers !== MAMBAOUT_DEFAULTS.downsample_layers) {
      throw new Error(`mambaout: downsample_layers must be the official '${MAMBAOUT_DEFAULTS.downsample_layers}' (StemLayer + 3 DownsampleLayer), got ${JSON.stringify(c.downsample_layers)}`);
    }
    if (!Number.isInteger(c.kernel_size) || c.kernel_size < 1 || c.kernel_size % 2 === 0) throw new Error(`mambaout: kernel_size must be an odd positive integer, got ${c.kernel_size}`);
    const eps = layerNormEps('mambaout', 'norm_layer', c.norm_layer);
    const outEps = layerNormEps('mambaout', 'output_norm', c.output_norm);
    const act = activation('mambaout', 'act_layer', c.act_layer);
    this.numClasses = c.num_classes;

    const down = [c.in_chans, ...this.dims];
    this.downsample_layers = this.child('downsample_layers', new ModuleList<LayerModule>(
      this.dims.map((_, i) => (i === 0 ? new StemLayer(down[0], down[1]) : new DownsampleLayer(down[i], down[i + 1]))),
    ));
    const dpr = dropPathRates(c.drop_path_rate, depths.reduce((a, b) => a + b, 0));
    let at = 0;
    this.stages = this.child('stages', new ModuleList(depths.map((depth, i) => new Sequential(
      ...Array.from({ length: depth }, () => new GatedCNNBlock(this.dims[i], { eps, act, kernelSize: c.kernel_size, convRatio: c.conv_ratio, dropPath: dpr[at++] })),
    ))));
    const last = this.dims[ns - 1];
    this.norm = this.child('norm', new LayerNorm(last, outEps));
    if (c.head_fn === 'MlpHead') this.head = this.child('head', new MlpHead(last, c.num_classes, c.head_dropout));
    else if (c.head_fn === 'nn.Linear' || c.head_fn === 'Linear') {
      // MambaOut passes head_dropout to head_fn when > 0, which nn.Linear does not take
      if (c.head_dropout > 0) throw new Error('mambaout: head_dropout > 0 needs head_fn MlpHead (the official code passes head_dropout to head_fn)');
      this.head = this.child('head', new Linear(last, c.num_classes, { init: 'trunc_normal' }));
    } else throw new Error(`mambaout: head_fn must be 'MlpHead' or 'nn.Linear', got ${JSON.stringify(c.head_fn)}`);
    this.featureInfo = this.dims.map((channels, i) => ({ channels, reduction: 4 * 2 ** i, module: `stages.${i}` }));
  }

  private check(x: Tensor): void {
    if (x.rank !== 4 || x.shape[3] !== this.config.in_chans) {
      throw new Error(`mambaout: input must be NHWC (B, H, W, ${this.config.in_chans}) float32, got shape [${x.shape}]`);
    }
  }

  /** Output of each stage (after its downsample layer and blocks), NHWC. */
  forwardIntermediates(x: Tensor, opts: ForwardIntermediatesOptions = {}): Tensor[] {
    this.check(x);
    return tf.tidy(() => collectIntermediates('mambaout', this.dims.length, opts.indices, (last, wanted, emit) => {
      let h = x;
      for (let i = 0; i <= last; i++) {
        h = this.stages.items[i].forward(this.downsample_layers.items[i].forward(h));
        if (wanted(i)) emit(i, h);
      }
    }));
  }

  /** (B, H, W, 3) -> pooled, normalised features (B, C_last) */
  forwardFeatures(x: Tensor): Tensor {
    this.check(x);
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.dims.length; i++) h = this.stages.items[i].forward(this.downsample_layers.items[i].forward(h));
      return this.norm.forward(tf.mean(h, [1, 2]));
    });
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.head.forward(this.forwardFeatures(x)));
  }

  /**
   * Checkpoints in timm's layout (the `timm/mambaout_*.in1k` copies of the official weights) back to
   * the official names: the inverse of timm's checkpoint_filter_fn. Official files pass unchanged.
   */
  checkpointFilter<T>(dict: Map<string, T>): Map<string, T> {
    if (!dict.has('stem.conv1.weight')) return dict;
    const out = new Map<string, T>();
    for (const [k, v] of dict) {
      let key = k
        .replace(/^stem\./, 'downsample_layers.0.')
        .replace(/^stages\.(\d+)\.downsample\./, 'downsample_layers.$1.')
        .replace(/^stages\.(\d+)\.blocks\.(\d+)\./, 'stages.$1.$2.');
      if (key.startsWith('head.norm.')) key = key.slice('head.'.length); // timm moved the pooled norm into the head
      key = key
        .replace(/^head\.pre_logits\.fc\./, 'head.fc1.')
        .replace(/^head\.pre_logits\.norm\./, 'head.norm.')
        .replace(/^head\.fc\./, 'head.fc2.');
      out.set(key, v);
    }
    return out;
  }
}

// ---- variants as data --------------------------------------------------------------------------

const RELEASES = 'https://github.com/yuweihao/MambaOut/releases/download/model';
const pretrained = (variant: string): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, url: `${RELEASES}/${variant}.pth`, file: `${variant}.pth`, inputSize: [3, 224, 224],
  mean: IMAGENET_MEAN, std: IMAGENET_STD, cropPct: 1.0, interpolation: 'bicubic', numClasses: 1000,
  // bare state dicts (torch.hub.load_state_dict_from_url then load_state_dict)
}];

/**
 * The five released models (`mambaout_*` factories; drop_path_rate from scripts/train_mambaout_*.sh).
 * Parameter counts: the official constructor, exact. FLOPs: the paper's MACs (fvcore convention).
 */
const VARIANTS = {
  mambaout_femto: { config: { depths: [3, 3, 9, 3], dims: [48, 96, 192, 288], drop_path_rate: 0.025 }, officialParams: 7_304_536, publishedFlops: 1.2e9, pretrained: pretrained('mambaout_femto') },
  mambaout_kobe: { config: { depths: [3, 3, 15, 3], dims: [48, 96, 192, 288], drop_path_rate: 0.025 }, officialParams: 9_141_208, publishedFlops: 1.5e9, pretrained: pretrained('mambaout_kobe') },
  mambaout_tiny: { config: { depths: [3, 3, 9, 3], dims: [96, 192, 384, 576], drop_path_rate: 0.2 }, officialParams: 26_545_096, publishedFlops: 4.5e9, pretrained: pretrained('mambaout_tiny') },
  mambaout_small: { config: { depths: [3, 4, 27, 3], dims: [96, 192, 384, 576], drop_path_rate: 0.4 }, officialParams: 48_488_072, publishedFlops: 9.0e9, pretrained: pretrained('mambaout_small') },
  mambaout_base: { config: { depths: [3, 4, 27, 3], dims: [128, 256, 512, 768], drop_path_rate: 0.6 }, officialParams: 84_813_092, publishedFlops: 15.8e9, pretrained: pretrained('mambaout_base') },
  // the golden checkpoint's structure (tests/fixtures/golden/families/index.json): fast tests
  test_mambaout: { config: { depths: [1, 1, 2, 1], dims: [16, 32, 64, 96], num_classes: 10, drop_path_rate: 0.1 }, officialParams: 287_456 },
};

registerFamily('mambaout', {
  paper: 'MambaOut: Do We Really Need Mamba for Vision? (Yu & Wang, CVPR 2025, arXiv 2405.07992)',
  upstream: 'yuweihao/MambaOut@9f2f234 models/mambaout.py (MambaOut)',
  defaults: MAMBAOUT_DEFAULTS,
  create: (kwargs) => new MambaOut(kwargs),
}, VARIANTS);
