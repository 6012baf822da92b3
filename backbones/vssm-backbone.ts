// The model shell VMamba's VSSM / Backbone_VSSM and its forks (EfficientVMamba, MSVMamba, LocalVMamba)
// share: patch_embed -> layers.i (blocks, then downsample) -> classifier, or, built as a dense
// backbone (out_indices), outnorm{i} per returned stage and no classifier. The families build their
// own blocks and register their own children (the state-dict order stays theirs); this class holds
// the head construction and the forward / forwardFeatures / forwardIntermediates plumbing.
import { tf, type Tensor } from '../core/tf.ts';
import { Module, Identity, type ModuleList, type LayerModule } from '../core/nn/index.ts';
import { collectIntermediates, type Backbone, type FeatureInfo, type ForwardIntermediatesOptions } from './backbone.ts';
import { VSSMClassifier, makeDownsample, type NormFactory } from './common.ts';

/** One stage layers.i: its blocks, then its downsample (Identity after the last stage). */
export interface VSSStage extends Module {
  /** the blocks: (B, H, W, C) -> same */
  body(x: Tensor): Tensor;
  /** the downsample after them */
  down(x: Tensor): Tensor;
}

/** The downsample closing stage i of `dims`: makeDownsample(version) between stages, Identity after the last. */
export function stageDownsample(family: string, version: string, dims: readonly number[], i: number, norm: NormFactory): LayerModule {
  return i < dims.length - 1 ? makeDownsample(family, version, dims[i], dims[i + 1], norm) : new Identity();
}

/** featureInfo of a stride-`patchSize` stem followed by stages that each halve the map (or keep it, `halving` false). */
export function stageFeatureInfo(dims: readonly number[], patchSize: number, halving = true): FeatureInfo[] {
  return dims.map((channels, i) => ({ channels, reduction: halving ? patchSize * 2 ** i : patchSize, module: `layers.${i}` }));
}

export abstract class VSSMBackbone extends Module implements Backbone {
  abstract readonly family: string;
  abstract readonly config: { in_chans: number };
  abstract readonly numClasses: number;
  abstract readonly dims: number[];
  abstract readonly featureInfo: FeatureInfo[];
  abstract readonly patch_embed: LayerModule;
  abstract readonly layers: ModuleList<VSSStage>;
  abstract readonly classifier: VSSMClassifier | null;
  /** Backbone_VSSM's per-output norms (when out_indices is given) */
  readonly outnorms = new Map<number, LayerModule>();

  /**
   * The head, registered after the stages: with out_indices, outnorm{i} = norm(dims[i]) per listed
   * stage and no classifier (returns null); otherwise the classifier over the last stage.
   */
  protected buildHead(outIndices: readonly number[] | null, numClasses: number, norm: NormFactory): VSSMClassifier | null {
    const nl = this.dims.length;
    if (!outIndices) return this.child('classifier', new VSSMClassifier(this.dims[nl - 1], numClasses, norm));
    for (const i of outIndices) {
      if (!(Number.isInteger(i) && i >= 0 && i < nl)) throw new Error(`${this.family}: out_indices entry ${i} is not a stage index (0..${nl - 1})`);
      this.outnorms.set(i, this.child(`outnorm${i}`, norm(this.dims[i])));
    }
    return null;
  }

  /** (B, H, W, in_chans) -> the patch grid (B, H/p, W/p, C0) */
  protected embed(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.config.in_chans) {
      throw new Error(`${this.family}: input must be NHWC (B, H, W, ${this.config.in_chans}) float32, got shape [${x.shape}]`);
    }
    return this.patch_embed.forward(x);
  }

  /** Stage outputs before each downsample (NHWC), as Backbone_VSSM returns them (normed with outnorm{i} when norm). */
  forwardIntermediates(x: Tensor, opts: ForwardIntermediatesOptions = {}): Tensor[] {
    const defaults = this.outnorms.size ? [...this.outnorms.keys()] : undefined;
    return tf.tidy(() => collectIntermediates(this.family, this.dims.length, opts.indices ?? defaults, (last, wanted, emit) => {
      let h = this.embed(x);
      for (let i = 0; i <= last; i++) {
        const stage = this.layers.items[i];
        const o = stage.body(h);
        const on = this.outnorms.get(i);
        if (wanted(i)) emit(i, opts.norm !== false && on ? on.forward(o) : o);
        if (i < last) h = stage.down(o);
      }
    }));
  }

  /** (B, H, W, 3) -> (B, h, w, C_last) */
  forwardFeatures(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.embed(x);
      for (const stage of this.layers.items) h = stage.down(stage.body(h));
      return h;
    });
  }

  forward(x: Tensor): Tensor {
    if (!this.classifier) throw new Error(`${this.family}: built as a backbone (out_indices given): use forwardIntermediates`);
    return tf.tidy(() => this.classifier!.forward(this.forwardFeatures(x)));
  }
}
