// Pieces shared by the VMamba-derived families (EfficientVMamba, MSVMamba: both fork VMamba's VSSM
// and keep its patch embed v1, PatchMerging2D, classifier and legacy key renames), and the parsing of
// the official constructors' class-valued keyword arguments (`norm_layer`, `act_layer`), which
// upstream configs write as Python expressions ("partial(nn.LayerNorm, eps=1e-6)", "nn.GELU").
import { tf, type Tensor } from '../core/tf.ts';
import { Module, Linear, Conv2d, LayerNorm, GELU, SiLU, ReLU, Identity, Sequential, type Layer, type LayerModule } from '../core/nn/index.ts';

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

/** VSSM patch embed v1: Sequential(Conv2d(in, C, p, stride p, bias), Permute (no-op in NHWC), LayerNorm | Identity). */
export function patchEmbedV1(inChans: number, C: number, patch: number, patchNorm: boolean, eps = 1e-5): Sequential {
  return new Sequential(new Conv2d(inChans, C, patch, { stride: patch }), new Identity(), patchNorm ? new LayerNorm(C, eps) : new Identity());
}

/** PatchMerging2D (VSSM downsample v1): pad odd sides, concat [x(0::2,0::2), x(1::2,0::2), x(0::2,1::2), x(1::2,1::2)], norm(4C), reduction (no bias). */
export class PatchMerging2D extends Module implements Layer {
  readonly reduction: Linear;
  readonly norm: LayerNorm;

  constructor(dim: number, outDim: number, eps = 1e-5) {
    super();
    this.reduction = this.child('reduction', new Linear(4 * dim, outDim, { bias: false, init: 'trunc_normal' }));
    this.norm = this.child('norm', new LayerNorm(4 * dim, eps));
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

/** VSSM classifier = Sequential(norm, permute, avgpool, flatten, head): (B, H, W, C) -> (B, classes). */
export class VSSMClassifier extends Module implements Layer {
  readonly norm: LayerNorm;
  readonly head: Linear;

  constructor(C: number, numClasses: number, eps = 1e-5) {
    super();
    this.norm = this.child('norm', new LayerNorm(C, eps));
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
