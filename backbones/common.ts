// Pieces shared by the VMamba-derived families (VMamba's VSSM and its forks EfficientVMamba, MSVMamba,
// LocalVMamba: patch embeds, downsamples (PatchMerging2D, strided convs), Mlp, the layers.i
// (blocks, downsample) stage, the classifier and the legacy key renames), and the parsing of
// the official constructors' class-valued keyword arguments (`norm_layer`, `act_layer`), which
// upstream configs write as Python expressions ("partial(nn.LayerNorm, eps=1e-6)", "nn.GELU").
import { tf, type Tensor } from '../core/tf.ts';
import { Module, Linear, Conv2d, LayerNorm, GELU, SiLU, ReLU, Identity, Dropout, Sequential, type Layer, type LayerModule } from '../core/nn/index.ts';

/** Builds the norm of a given width: LayerNorm(c, eps), LayerNorm2d, BatchNorm2d ... */
export type NormFactory = (channels: number) => LayerModule;

/** nn.LayerNorm with the given eps, as a NormFactory. */
export const layerNorm = (eps = 1e-5): NormFactory => (c) => new LayerNorm(c, eps);

// ---- class-valued kwargs -----------------------------------------------------------------------

/**
 * LayerNorm eps of a `norm_layer`-style argument: 'ln' / 'LN' / 'nn.LayerNorm' (PyTorch default
 * 1e-5) or 'partial(nn.LayerNorm, eps=1e-6)'. Anything else is an error naming the argument.
 */
export function layerNormEps(family: string, key: string, value: unknown): number {
  if (typeof value === 'string') {
    const v = value.trim();
    if (/^(nn\.)?(LayerNorm|ln)$/i.test(v)) return 1e-5;
    const m = /^partial\(\s*(?:nn\.)?LayerNorm\s*,\s*eps\s*=\s*([0-9.eE+-]+)\s*\)$/.exec(v);
    if (m && Number.isFinite(Number(m[1])) && Number(m[1]) > 0) return Number(m[1]);
  }
  throw new Error(`${family}: ${key} must be a LayerNorm ('ln', 'nn.LayerNorm' or 'partial(nn.LayerNorm, eps=1e-6)'), got ${JSON.stringify(value)}`);
}

const ACTS: Record<string, () => LayerModule> = { gelu: () => new GELU(), silu: () => new SiLU(), relu: () => new ReLU() };

/** An activation argument: 'gelu' / 'nn.GELU', 'silu' / 'nn.SiLU', 'relu' / 'nn.ReLU'. */
export function activation(family: string, key: string, value: unknown): () => LayerModule {
  const name = typeof value === 'string' ? value.trim().replace(/^nn\./, '').toLowerCase() : '';
  const f = ACTS[name];
  if (!f) throw new Error(`${family}: ${key} must be one of gelu, silu, relu (or nn.GELU, nn.SiLU, nn.ReLU), got ${JSON.stringify(value)}`);
  return f;
}

/** `dims` as the official constructors read it: an int C gives [C, 2C, 4C, ...] over the stages. */
export function stageDims(family: string, dims: number | number[], stages: number): number[] {
  const out = typeof dims === 'number' ? Array.from({ length: stages }, (_, i) => Math.trunc(dims * 2 ** i)) : [...dims];
  if (out.length !== stages) throw new Error(`${family}: dims has ${out.length} entries for ${stages} stages (depths)`);
  if (out.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`${family}: dims must be positive integers, got [${out}]`);
  return out;
}

/** torch.linspace(0, rate, total): the stochastic-depth rate of every block. */
export function dropPathRates(rate: number, total: number): number[] {
  return Array.from({ length: total }, (_, i) => (total > 1 ? (rate * i) / (total - 1) : 0));
}

// ---- VSSM layers -------------------------------------------------------------------------------

/**
 * VSSM patch embed. v1: Conv2d(in, C, p, stride p) -> Permute (a no-op in NHWC) -> norm; keys 0, 2.
 * v2: Conv2d(in, C/2, k=p/2+1, s=p/2, p=1) -> norm -> GELU -> Conv2d(C/2, C, same) -> norm; keys 0, 2, 5, 7.
 */
export function makePatchEmbed(family: string, version: string, inChans: number, C: number, p: number, patchNorm: boolean, norm: NormFactory): Sequential {
  const n = (c: number) => (patchNorm ? norm(c) : new Identity());
  if (version === 'v1') return new Sequential(new Conv2d(inChans, C, p, { stride: p }), new Identity(), n(C));
  if (version === 'v2') {
    const stride = p >> 1;
    const k = stride + 1;
    return new Sequential(
      new Conv2d(inChans, C >> 1, k, { stride, padding: 1 }), new Identity(), n(C >> 1), new Identity(), new GELU(),
      new Conv2d(C >> 1, C, k, { stride, padding: 1 }), new Identity(), n(C),
    );
  }
  throw new Error(`${family}: unknown patchembed_version '${version}' (v1, v2)`);
}

/** VSSM downsample: v1 PatchMerging2D; v2 Conv2d k2 s2 -> norm; v3 Conv2d k3 s2 p1 -> norm (keys 1, 3); none. */
export function makeDownsample(family: string, version: string, dim: number, outDim: number, norm: NormFactory): LayerModule {
  switch (version) {
    case 'v1': return new PatchMerging2D(dim, outDim, norm);
    case 'v2': return new Sequential(new Identity(), new Conv2d(dim, outDim, 2, { stride: 2 }), new Identity(), norm(outDim));
    case 'v3': return new Sequential(new Identity(), new Conv2d(dim, outDim, 3, { stride: 2, padding: 1 }), new Identity(), norm(outDim));
    case 'none': return new Identity();
    default: throw new Error(`${family}: unknown downsample_version '${version}' (v1, v2, v3, none)`);
  }
}

/** PatchMerging2D (VSSM downsample v1): pad odd sides, concat [x(0::2,0::2), x(1::2,0::2), x(0::2,1::2), x(1::2,1::2)], norm(4C), reduction (no bias). */
export class PatchMerging2D extends Module implements Layer {
  readonly reduction: Linear;
  readonly norm: LayerModule;

  constructor(dim: number, outDim: number, norm: NormFactory = layerNorm()) {
    super();
    this.reduction = this.child('reduction', new Linear(4 * dim, outDim, { bias: false, init: 'trunc_normal' }));
    this.norm = this.child('norm', norm(4 * dim));
  }

  /** (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), outDim) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let [B, H, W, C] = x.shape;
      let h = x;
      if (H % 2 || W % 2) h = tf.pad(h, [[0, 0], [0, H % 2], [0, W % 2], [0, 0]]);
      H += H % 2;
      W += W % 2;
      // (B, H/2, a, W/2, c, C) -> (B, H/2, W/2, c, a, C): channel block c*2 + a gives x0, x1, x2, x3
      const merged = h.reshape([B, H / 2, 2, W / 2, 2, C]).transpose([0, 1, 3, 4, 2, 5]).reshape([B, H / 2, W / 2, 4 * C]);
      return this.reduction.forward(this.norm.forward(merged));
    });
  }
}

/** timm/VMamba Mlp: fc1 -> act -> drop -> fc2 -> drop (Linear2d in channel-first models: same weights). */
export class Mlp extends Module implements Layer {
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly act: LayerModule;
  private readonly drop: Dropout;

  constructor(dim: number, hidden: number, act: () => LayerModule = () => new GELU(), drop = 0) {
    super();
    this.fc1 = this.child('fc1', new Linear(dim, hidden, { init: 'trunc_normal' }));
    this.act = this.child('act', act());
    this.fc2 = this.child('fc2', new Linear(hidden, dim, { init: 'trunc_normal' }));
    this.drop = this.child('drop', new Dropout(drop));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.drop.forward(this.fc2.forward(this.drop.forward(this.act.forward(this.fc1.forward(x))))));
  }
}

/** layers.i = Sequential(blocks=Sequential(block...), downsample) */
export class VSSLayer extends Module {
  readonly blocks: Sequential;
  readonly downsample: LayerModule;

  constructor(blocks: LayerModule[], downsample: LayerModule) {
    super();
    this.blocks = this.child('blocks', new Sequential(...blocks));
    this.downsample = this.child('downsample', downsample);
  }

  /** the blocks: (B, H, W, C) -> same */
  body(x: Tensor): Tensor { return this.blocks.forward(x); }

  /** the downsample after them */
  down(x: Tensor): Tensor { return this.downsample.forward(x); }
}

/** VSSM classifier = Sequential(norm, permute, avgpool, flatten, head): (B, H, W, C) -> (B, classes). */
export class VSSMClassifier extends Module implements Layer {
  readonly norm: LayerModule;
  readonly head: Linear;

  constructor(C: number, numClasses: number, norm: NormFactory = layerNorm()) {
    super();
    this.norm = this.child('norm', norm(C));
    this.head = this.child('head', new Linear(C, numClasses, { init: 'trunc_normal' }));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.head.forward(tf.mean(this.norm.forward(x), [1, 2])));
  }
}

/**
 * VSSM._load_from_state_dict's renames of checkpoints from the earlier training code
 * (`patch_embed.proj` -> `patch_embed.0`, `ln_1` -> `norm`, `self_attention` -> `op`, top-level
 * `norm`/`head` -> `classifier.*`), plus leading `module.` prefixes left by nested DDP wrappers
 * (EfficientVMamba's loader strips `module.module.`).
 */
export function vssmLegacyRenames<T>(dict: Map<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [k, v] of dict) {
    let key = k
      .replace(/^(module\.)+/, '')
      .replace(/^patch_embed\.proj\./, 'patch_embed.0.')
      .replace(/^patch_embed\.norm\./, 'patch_embed.2.')
      .replace(/^(layers\.\d+\.blocks\.\d+)\.ln_1\./, '$1.norm.')
      .replace(/^(layers\.\d+\.blocks\.\d+)\.self_attention\./, '$1.op.');
    if (/^(norm|head)\./.test(key)) key = `classifier.${key}`;
    out.set(key, v);
  }
  return out;
}
