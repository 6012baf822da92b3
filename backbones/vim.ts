// Vim: Vision Mamba — Efficient Visual Representation Learning with Bidirectional State Space Model
// (Zhu et al., ICML 2024, arXiv 2401.09417). Port of hustvl/Vim@dd0358a vim/models_mamba.py
// (VisionMamba, Block, PatchEmbed, create_block, _init_weights, segm_init_weights) with the mixer of
// mamba-1p1p1/mamba_ssm/modules/mamba_simple.py (backbones/mamba-mixer.ts). Input images are NHWC.
//
// forward_features: patch_embed (conv k=patch, stride) -> flatten row-major (h*W + w) -> class token
// inserted at M // 2 (the middle; position 0 with use_middle_cls_token=False) -> + pos_embed ->
// pos_drop -> 24 Blocks "Add -> Norm -> Mixer" with the fused residual:
//   layer 0: residual = x; layer i > 0: residual = residual + drop_path_i(hidden); hidden = mixer(norm(residual))
// -> norm_f(residual + drop_path(hidden)) -> the class token (or last token / mean / max) -> head.
// residual_in_fp32 / fused_add_norm change nothing in fp32 arithmetic (both paths compute the same sum).
// Block i's drop_path rate is [0, linspace(0, drop_path_rate, depth)...][i]; the model-level
// drop_path(drop_path_rate) drops the last mixer output before norm_f.
//
// Init (as the official constructor): patch_embed.proj lecun_normal (truncated normal, std
// sqrt(1/fan_in)/0.8796, +-2 std) and zero bias; head trunc_normal(0.02), zero bias; pos_embed and
// cls_token trunc_normal(0.02); mixers as Mamba (A_log = log(1..N), D = 1, dt init) with out_proj
// kaiming_uniform(a=sqrt 5) / sqrt(n_residuals_per_layer * depth) (`rescale_prenorm_residual`).
//
// Parameter counts: the variants table holds the exact counts of the official constructors, worked
// out from the code (per layer: in_proj 2*Di*C, 2 x [conv1d Di*4 + Di, x_proj (R+2N)*Di,
// dt_proj Di*R + Di, A_log Di*N, D Di], out_proj C*Di, norm C; plus patch_embed, cls_token,
// pos_embed (M+1)*C, head, norm_f): Vim-Ti 7,148,008, Vim-S 25,796,584, Vim-B 97,598,440, equal to
// the counts printed from the instantiated official code in models.md (7.148M / 25.797M / 97.598M).
// Logits parity with the official code: tests/family-vim.test.ts loads a test_vim checkpoint made
// by the unmodified official VisionMamba/Mamba (tests/fixtures/golden/make_vim_golden.py: its CUDA and
// Triton kernels replaced by the repository's own pure-PyTorch reference functions) and matches its
// logits to ~2e-7; float64 transcriptions of the official code cover the other configurations.
//
// Scan: Vim's pair of 1-D scans is fixed by the checkpoint: the backward direction has its own
// `_b` parameters and its own causal conv1d over the reversed sequence, and the class token sits at
// a sequence position, so `scan=` is not a Vim keyword (the registry's 'bidirectional' strategy is
// this pair for 2-D SS2D blocks, where both directions share one 2-D conv). LBVim (backbones/lbvim.ts)
// takes `scan=`.
import { tf, type Tensor, type Variable } from '../core/tf.ts';
import { Module, Linear, Conv2d, RMSNorm, LayerNorm, Identity, Dropout, DropPath, ModuleList, truncNormal, type LayerModule } from '../core/nn/index.ts';
import { MambaMixer, MAMBA_SSM_DEFAULTS, type MambaMixerConfig, type MambaSsmCfg } from './mamba-mixer.ts';
import { IMAGENET_MEAN, IMAGENET_STD, type Backbone, type FeatureInfo, type ForwardIntermediatesOptions, type PretrainedCfg } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';

// ---- config (VisionMamba's keyword names and defaults) -------------------------------------------

export const VIM_DEFAULTS = {
  img_size: 224, patch_size: 16, stride: 16, depth: 24, embed_dim: 192, d_state: 16, channels: 3, num_classes: 1000,
  ssm_cfg: null as Partial<MambaSsmCfg> | null, drop_rate: 0.0, drop_path_rate: 0.1, norm_epsilon: 1e-5, rms_norm: true,
  initializer_cfg: null as InitializerCfg | null, fused_add_norm: true, residual_in_fp32: true,
  ft_seq_len: null as number | null, pt_hw_seq_len: 14, // RoPE only
  if_bidirectional: false, final_pool_type: 'none', if_abs_pos_embed: true, if_rope: false, if_rope_residual: false,
  flip_img_sequences_ratio: -1.0, if_bimamba: false, bimamba_type: 'v2', if_cls_token: true, if_divide_out: true,
  init_layer_scale: null as number | null, use_double_cls_token: false, use_middle_cls_token: true,
};
export type VimConfig = typeof VIM_DEFAULTS;

/**
 * Swallowed by the official **kwargs: `pretrained` (factories), `drop_block_rate` (main.py passes it),
 * `if_devide_out` (the Vim-B factory's misspelling; if_divide_out keeps its default True), and the
 * device/dtype factory arguments.
 */
export const VIM_IGNORED_KWARGS = ['pretrained', 'drop_block_rate', 'if_devide_out', 'device', 'dtype'];

/** `_init_weights` keyword arguments (initializer_range only concerns nn.Embedding, which Vim has none of). */
export interface InitializerCfg { initializer_range?: number; rescale_prenorm_residual?: boolean; n_residuals_per_layer?: number }
const INITIALIZER_DEFAULTS: Required<InitializerCfg> = { initializer_range: 0.02, rescale_prenorm_residual: true, n_residuals_per_layer: 1 };

// ---- the model's resolved structure (shared with LBVim, whose BiVisionMamba is a fork) ----------

export type ClsMode = 'none' | 'middle' | 'head';

export interface SequenceOrders {
  /** per layer: the sequence positions the mixer reads, in order (null = the sequence as it is) */
  layers: Array<Int32Array | null>;
  /** where the official code's final sequence position j sits in ours (null = same), for the pooled token */
  final: Int32Array | null;
}

export interface VimSpec {
  family: string;
  config: Record<string, unknown>;
  imgSize: number; patchSize: number; stride: number; depth: number; embedDim: number; channels: number; numClasses: number;
  dropRate: number; dropPathRate: number; normEps: number; rmsNorm: boolean; absPosEmbed: boolean;
  cls: ClsMode;
  /** the class token is the output (else final_pool_type over all tokens) */
  returnCls: boolean;
  pool: 'none' | 'mean' | 'max';
  /** the Mamba mixer of layer i */
  mixer(i: number): MambaMixerConfig;
  /** LBVim's layer-wise orders for a gh x gw grid with L tokens (absent: every layer reads the sequence as it is) */
  orders?(gh: number, gw: number, L: number): SequenceOrders;
}

/** lecun_normal_ (timm): truncated normal, std = sqrt(1 / fan_in) / .87962566103423978, cut at +-2 std. */
function lecunNormal(shape: number[], fanIn: number): Tensor {
  const std = Math.sqrt(1 / fanIn) / 0.87962566103423978;
  return truncNormal(shape, std, -2 * std, 2 * std);
}

function setValue(v: Variable, value: Tensor): void {
  v.assign(value);
  value.dispose();
}

// ---- blocks ------------------------------------------------------------------------------------

/** PatchEmbed: proj Conv2d(in, C, k=patch, stride), flatten(2).transpose(1, 2), norm = Identity. */
class PatchEmbed extends Module {
  readonly proj: Conv2d;

  constructor(inChans: number, C: number, patch: number, stride: number) {
    super();
    this.proj = this.child('proj', new Conv2d(inChans, C, patch, { stride }));
    setValue(this.proj.weight, lecunNormal(this.proj.weight.shape, inChans * patch * patch));
    setValue(this.proj.bias!, tf.zeros([C]));
    this.child('norm', new Identity());
  }

  /** x (B, H, W, in) -> tokens (B, gh*gw, C) in row-major order, and the grid */
  forward(x: Tensor): { tokens: Tensor; gh: number; gw: number } {
    const y = this.proj.forward(x);
    const [B, gh, gw, C] = y.shape;
    return { tokens: y.reshape([B, gh * gw, C]), gh, gw };
  }
}

/** Block: mixer, norm (RMSNorm or LayerNorm), drop_path; the fused "Add -> Norm -> Mixer" runs in the model. */
class Block extends Module {
  readonly mixer: MambaMixer;
  readonly norm: LayerModule;
  readonly drop_path: DropPath;

  constructor(dim: number, mixer: MambaMixerConfig, rmsNorm: boolean, eps: number, dropPath: number) {
    super();
    this.mixer = this.child('mixer', new MambaMixer(mixer));
    this.norm = this.child('norm', rmsNorm ? new RMSNorm(dim, eps) : new LayerNorm(dim, eps));
    this.drop_path = this.child('drop_path', new DropPath(dropPath));
  }
}

/** Applies an order to (B, L, C) along L, or undoes it (reverse and identity without a gather). */
function reorder(x: Tensor, order: Int32Array | null, undo: boolean): Tensor {
  if (!order) return x;
  const L = order.length;
  let rev = true;
  for (let j = 0; j < L && rev; j++) rev = order[j] === L - 1 - j;
  if (rev) return tf.reverse(x, 1);
  let idx = order;
  if (undo) {
    idx = new Int32Array(L);
    for (let j = 0; j < L; j++) idx[order[j]] = j;
  }
  return tf.gather(x, tf.tensor1d(idx, 'int32'), 1);
}

// ---- model -------------------------------------------------------------------------------------

export class VisionMamba extends Module implements Backbone {
  readonly family: string;
  readonly config: Record<string, unknown>;
  readonly spec: VimSpec;
  readonly numClasses: number;
  readonly embedDim: number;
  readonly featureInfo: FeatureInfo[];
  readonly patch_embed: PatchEmbed;
  readonly cls_token: Variable | null = null;
  readonly pos_embed: Variable | null = null;
  readonly pos_drop: Dropout | null = null;
  readonly head: LayerModule;
  readonly drop_path: DropPath;
  readonly layers: ModuleList<Block>;
  readonly norm_f: LayerModule;
  /** the patch grid of img_size */
  readonly grid: [number, number];
  private readonly orderCache = new Map<string, SequenceOrders>();

  constructor(spec: VimSpec) {
    super();
    const s = spec;
    this.spec = s;
    this.family = s.family;
    this.config = s.config;
    this.numClasses = s.numClasses;
    this.embedDim = s.embedDim;
    const C = s.embedDim;
    for (const [k, v] of Object.entries({ img_size: s.imgSize, patch_size: s.patchSize, stride: s.stride, depth: s.depth, embed_dim: C, channels: s.channels })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${s.family}: ${k} must be a positive integer, got ${v}`);
    }
    const g = Math.floor((s.imgSize - s.patchSize) / s.stride) + 1;
    if (g < 1) throw new Error(`${s.family}: img_size ${s.imgSize} is smaller than patch_size ${s.patchSize}`);
    this.grid = [g, g];
    const numTokens = s.cls === 'none' ? 0 : 1;

    this.patch_embed = this.child('patch_embed', new PatchEmbed(s.channels, C, s.patchSize, s.stride));
    if (s.cls !== 'none') this.cls_token = this.param('cls_token', truncNormal([1, 1, C], 0.02), { noDecay: true });
    if (s.absPosEmbed) {
      this.pos_embed = this.param('pos_embed', truncNormal([1, g * g + numTokens, C], 0.02), { noDecay: true });
      this.pos_drop = this.child('pos_drop', new Dropout(s.dropRate));
    }
    this.head = this.child('head', s.numClasses > 0 ? new Linear(numTokens > 0 && s.returnCls ? numTokens * C : C, s.numClasses, { init: 'trunc_normal' }) : new Identity());
    this.drop_path = this.child('drop_path', new DropPath(s.dropPathRate));
    // inter_dpr = [0.0] + linspace(0, drop_path_rate, depth): block i gets inter_dpr[i]
    const dpr = (i: number) => (i === 0 || s.depth < 2 ? 0 : (s.dropPathRate * (i - 1)) / (s.depth - 1));
    const blocks: Block[] = [];
    for (let i = 0; i < s.depth; i++) blocks.push(new Block(C, s.mixer(i), s.rmsNorm, s.normEps, dpr(i)));
    this.layers = this.child('layers', new ModuleList(blocks));
    this.norm_f = this.child('norm_f', s.rmsNorm ? new RMSNorm(C, s.normEps) : new LayerNorm(C, s.normEps));
    this.featureInfo = blocks.map((_, i) => ({ channels: C, reduction: s.stride, module: `layers.${i}` }));
  }

  /** Position of the class token in a sequence of M patches (-1 when none). */
  private clsPosition(M: number): number {
    return this.spec.cls === 'middle' ? Math.floor(M / 2) : this.spec.cls === 'head' ? 0 : -1;
  }

  private orders(gh: number, gw: number, L: number): SequenceOrders {
    if (!this.spec.orders) return { layers: new Array(this.spec.depth).fill(null), final: null };
    const key = `${gh}x${gw}`;
    let o = this.orderCache.get(key);
    if (!o) {
      o = this.spec.orders(gh, gw, L);
      this.orderCache.set(key, o);
    }
    return o;
  }

  /** patch_embed, class token, pos_embed, pos_drop: x (B, H, W, in) -> (B, L, C) */
  private embed(x: Tensor): { seq: Tensor; gh: number; gw: number } {
    const s = this.spec;
    if (x.rank !== 4 || x.shape[3] !== s.channels) {
      throw new Error(`${s.family}: input must be NHWC (B, H, W, ${s.channels}) float32, got shape [${x.shape}]`);
    }
    return tf.tidy(() => {
      const { tokens, gh, gw } = this.patch_embed.forward(x);
      const [B, M, C] = tokens.shape;
      let seq = tokens;
      if (this.cls_token) {
        const p = this.clsPosition(M);
        const cls = tf.broadcastTo(this.cls_token, [B, 1, C]);
        seq = tf.concat([tf.slice(tokens, [0, 0, 0], [B, p, C]), cls, tf.slice(tokens, [0, p, 0], [B, M - p, C])], 1);
      }
      if (this.pos_embed) {
        const want = this.pos_embed.shape[1];
        if (seq.shape[1] !== want) {
          throw new Error(`${s.family}: the input gives a ${gh}x${gw} patch grid (${seq.shape[1]} tokens) but pos_embed has ${want}: build the model with img_size matching the input (${s.imgSize} now)`);
        }
        seq = this.pos_drop!.forward(tf.add(seq, this.pos_embed));
      }
      return { seq, gh, gw };
    });
  }

  /**
   * The residual stream through the layers: stream_0 = embed(x); stream_{i+1} = stream_i +
   * drop_path(mixer_i(norm_i(stream_i))), the drop_path being block i+1's (the model's for the last
   * layer), which is the official fused-residual order. Calls `each(i, stream)` after layer i.
   */
  private run(x: Tensor, last: number, each?: (i: number, stream: Tensor, gh: number, gw: number) => void): { stream: Tensor; gh: number; gw: number } {
    const { seq, gh, gw } = this.embed(x);
    const orders = this.orders(gh, gw, seq.shape[1] as number);
    let stream = seq;
    for (let i = 0; i <= last; i++) {
      const layer = this.layers.items[i];
      const dp = i + 1 < this.layers.length ? this.layers.items[i + 1].drop_path : this.drop_path;
      const order = orders.layers[i];
      const prev = stream;
      stream = tf.tidy(() => {
        const h = reorder(layer.norm.forward(prev), order, false);
        const hidden = reorder(layer.mixer.forward(h), order, true);
        return tf.add(prev, dp.forward(hidden));
      });
      each?.(i, stream, gh, gw);
    }
    return { stream, gh, gw };
  }

  /** (B, L, C) -> the patch tokens as a map (B, gh, gw, C) (class token removed) */
  private toMap(stream: Tensor, gh: number, gw: number): Tensor {
    return tf.tidy(() => {
      const [B, L, C] = stream.shape;
      const p = this.clsPosition(gh * gw);
      const patches = p < 0 ? stream : tf.concat([tf.slice(stream, [0, 0, 0], [B, p, C]), tf.slice(stream, [0, p + 1, 0], [B, L - p - 1, C])], 1);
      return patches.reshape([B, gh, gw, C]);
    });
  }

  /**
   * timm-style intermediates of a plain model: the residual stream after each listed layer
   * (default all), patch tokens only, as (B, gh, gw, C) maps (reduction = stride). norm: true
   * applies norm_f (timm's forward_intermediates(norm=True)).
   */
  forwardIntermediates(x: Tensor, opts: ForwardIntermediatesOptions = {}): Tensor[] {
    const depth = this.layers.length;
    const indices = opts.indices ?? [...Array(depth).keys()];
    for (const i of indices) if (!(Number.isInteger(i) && i >= 0 && i < depth)) throw new Error(`${this.family}: feature index ${i} out of range 0..${depth - 1}`);
    if (!indices.length) return [];
    return tf.tidy(() => {
      const outs = new Map<number, Tensor>();
      this.run(x, Math.max(...indices), (i, stream, gh, gw) => {
        if (indices.includes(i)) outs.set(i, this.toMap(opts.norm === true ? this.norm_f.forward(stream) : stream, gh, gw));
      });
      return indices.map((i) => outs.get(i)!);
    });
  }

  /** The official forward_features: the pooled vector (B, C) (all tokens (B, L, C) for final_pool_type 'max'). */
  forwardFeatures(x: Tensor): Tensor {
    const s = this.spec;
    return tf.tidy(() => {
      const { stream, gh, gw } = this.run(x, this.layers.length - 1);
      const h = this.norm_f.forward(stream);
      const [B, L, C] = h.shape;
      const { final } = this.orders(gh, gw, L);
      const at = (j: number) => tf.slice(h, [0, final ? final[j] : j, 0], [B, 1, C]).reshape([B, C]);
      if (this.cls_token && s.returnCls) return at(this.clsPosition(L - 1));
      if (s.pool === 'none') return at(L - 1);
      if (s.pool === 'mean') return tf.mean(h, 1);
      return h; // 'max': the head runs on every token
    });
  }

  /** x (B, H, W, 3) -> logits (B, num_classes) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const f = this.forwardFeatures(x);
      const y = this.head.forward(f);
      return f.rank === 3 ? tf.max(y, 1) : y;
    });
  }
}

// ---- kwargs -> structure -----------------------------------------------------------------------

/** The checks and the mixer settings both VisionMamba and BiVisionMamba take from their kwargs. */
export function commonSpec(family: string, c: VimConfig): Omit<VimSpec, 'family' | 'config' | 'cls' | 'returnCls' | 'mixer' | 'orders'> & { mixerBase: Omit<MambaMixerConfig, 'bimamba_type' | 'lbm'> } {
  const no = (cond: boolean, what: string) => {
    if (cond) throw new Error(`${family}: ${what} is not supported (no released model uses it)`);
  };
  no(c.if_rope, 'if_rope=True (VisionRotaryEmbeddingFast)');
  no(c.if_bidirectional, "if_bidirectional=True (pairs of layers on flipped sequences)");
  no(c.flip_img_sequences_ratio > 0, 'flip_img_sequences_ratio > 0 (random sequence flips)');
  no(c.use_double_cls_token, 'use_double_cls_token=True');
  if (!['none', 'mean', 'max'].includes(c.final_pool_type)) {
    throw new Error(`${family}: final_pool_type '${c.final_pool_type}' is not supported ('none' = last token, 'mean', 'max'; 'all' returns no logits)`);
  }
  const ssm = { ...MAMBA_SSM_DEFAULTS, ...(c.ssm_cfg ?? {}) } as MambaSsmCfg;
  if (c.ssm_cfg) checkKwargs(`${family}: ssm_cfg`, c.ssm_cfg as Record<string, unknown>, MAMBA_SSM_DEFAULTS);
  const init = { ...INITIALIZER_DEFAULTS, ...(c.initializer_cfg ?? {}) };
  if (c.initializer_cfg) checkKwargs(`${family}: initializer_cfg`, c.initializer_cfg as Record<string, unknown>, INITIALIZER_DEFAULTS);
  return {
    imgSize: c.img_size, patchSize: c.patch_size, stride: c.stride, depth: c.depth, embedDim: c.embed_dim, channels: c.channels,
    numClasses: c.num_classes, dropRate: c.drop_rate, dropPathRate: c.drop_path_rate, normEps: c.norm_epsilon, rmsNorm: c.rms_norm,
    absPosEmbed: c.if_abs_pos_embed, pool: c.final_pool_type as VimSpec['pool'],
    mixerBase: {
      ...ssm, d_model: c.embed_dim, d_state: c.d_state, if_divide_out: c.if_divide_out, init_layer_scale: c.init_layer_scale,
      out_proj_scale: init.rescale_prenorm_residual ? 1 / Math.sqrt(init.n_residuals_per_layer * c.depth) : 1,
    },
  };
}

function vimSpec(kwargs: Record<string, unknown>): VimSpec {
  checkKwargs('vim', kwargs, VIM_DEFAULTS, VIM_IGNORED_KWARGS);
  const c = { ...VIM_DEFAULTS, ...kwargs } as VimConfig;
  if (c.if_bimamba) throw new Error("vim: if_bimamba=True (bimamba_type 'v1') is not supported (no released model uses it)");
  const { mixerBase, ...common } = commonSpec('vim', c);
  const bimamba = c.bimamba_type as MambaMixerConfig['bimamba_type'];
  return {
    ...common, family: 'vim', config: c,
    cls: !c.if_cls_token ? 'none' : c.use_middle_cls_token ? 'middle' : 'head',
    returnCls: true,
    mixer: () => ({ ...mixerBase, bimamba_type: bimamba, lbm: false }),
  };
}

// ---- variants as data --------------------------------------------------------------------------

/** The released factories' keyword arguments (`vim_*_patch16_224_bimambav2_final_pool_mean_abs_pos_embed_with_midclstok_div2`). */
const RELEASED = {
  patch_size: 16, depth: 24, rms_norm: true, residual_in_fp32: true, fused_add_norm: true, final_pool_type: 'mean', if_abs_pos_embed: true,
  if_rope: false, if_rope_residual: false, bimamba_type: 'v2', if_cls_token: true, if_divide_out: true, use_middle_cls_token: true,
};

const HF = 'https://huggingface.co/hustvl';
const pretrained = (variant: string, repo: string, file?: string): PretrainedCfg[] => [{
  tag: `${variant}.in1k`, url: `${HF}/${repo}`, file, inputSize: [3, 224, 224], mean: IMAGENET_MEAN, std: IMAGENET_STD,
  cropPct: 0.875, interpolation: 'bicubic', numClasses: 1000, checkpointKey: 'model',
}];

/**
 * drop_path_rate: the official training scripts' --drop-path (vim/scripts/pt-vim-*.sh, ft-vim-*.sh); Vim-B has none (constructor default).
 * publishedFlops: 1.5G / 5.1G as quoted by hunto/LocalMamba's README, computed by its VisionMamba.flops()
 * (5*L*D*N per scan direction, x_proj/dt_proj once, L = 196). eval/flops.ts (fvcore convention:
 * selective_scan_flop_jit 9*L*D*N + L*D per direction, every projection) gives 1.805G / 5.875G.
 */
const VARIANTS = {
  vim_tiny: { config: { ...RELEASED, embed_dim: 192, drop_path_rate: 0.0 }, officialParams: 7_148_008, publishedFlops: 1.5e9, pretrained: pretrained('vim_tiny', 'Vim-tiny-midclstok', 'vim_t_midclstok_76p1acc.pth') },
  vim_small: { config: { ...RELEASED, embed_dim: 384, drop_path_rate: 0.05 }, officialParams: 25_796_584, publishedFlops: 5.1e9, pretrained: pretrained('vim_small', 'Vim-small-midclstok') },
  vim_base: { config: { ...RELEASED, embed_dim: 768, d_state: 16, drop_path_rate: 0.1 }, officialParams: 97_598_440, pretrained: pretrained('vim_base', 'Vim-base-midclstok') },
  // Vim-Ti+ / Vim-S+: the stride-8 fine-tunes (27x27 patches, pos_embed (1, 730, C))
  vim_tiny_stride8: { config: { ...RELEASED, stride: 8, embed_dim: 192, drop_path_rate: 0.0 }, officialParams: 7_250_344, pretrained: pretrained('vim_tiny_stride8', 'Vim-tiny-midclstok') },
  vim_small_stride8: { config: { ...RELEASED, stride: 8, embed_dim: 384, drop_path_rate: 0.0 }, officialParams: 26_001_256, pretrained: pretrained('vim_small_stride8', 'Vim-small-midclstok') },
  // the released structure at toy size: fast tests (4x4 patches + the middle class token)
  test_vim: { config: { ...RELEASED, img_size: 32, patch_size: 8, stride: 8, depth: 3, embed_dim: 32, d_state: 4, num_classes: 10, drop_path_rate: 0.1 } },
};

registerFamily('vim', {
  paper: 'Vision Mamba: Efficient Visual Representation Learning with Bidirectional State Space Model (Zhu et al., ICML 2024, arXiv 2401.09417)',
  upstream: 'hustvl/Vim@dd0358a vim/models_mamba.py (VisionMamba), mamba-1p1p1/mamba_ssm/modules/mamba_simple.py (Mamba, bimamba_type v2)',
  defaults: VIM_DEFAULTS,
  create: (kwargs) => new VisionMamba(vimSpec(kwargs)),
}, VARIANTS);
