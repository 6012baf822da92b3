// The backbone -> head contract (timm's feature_info + forward_intermediates). Heads read only this.
import type { Tensor } from '../core/tf.ts';
import type { Module } from '../core/nn/module.ts';

export interface FeatureInfo {
  /** channels of this output */
  channels: number;
  /** input-to-feature stride (4, 8, 16, 32 for hierarchical backbones; 16 everywhere for plain ones) */
  reduction: number;
  /** state-dict path of the module producing it, e.g. 'layers.2' */
  module: string;
}

export interface PretrainedCfg {
  /** tag of the weights (`vmamba_tiny_s2l5.in1k`) */
  tag: string;
  /** where the official weights are published (downloaded by the user; nothing is fetched at run time) */
  url?: string;
  file?: string;
  inputSize: [number, number, number];
  mean: [number, number, number];
  std: [number, number, number];
  cropPct: number;
  interpolation: 'bicubic' | 'bilinear';
  numClasses: number;
  /** which entry of the checkpoint holds the weights (`model`, `model_ema`, top level) */
  checkpointKey?: string;
}

export interface ForwardIntermediatesOptions {
  /** which feature outputs to return (indices into featureInfo); default all */
  indices?: number[];
  /** apply the backbone's per-output norms where the family has them (VMamba's outnorm{i}) */
  norm?: boolean;
}

export interface Backbone extends Module {
  readonly family: string;
  readonly numClasses: number;
  readonly featureInfo: FeatureInfo[];
  /** x (B, H, W, 3) NHWC float32 -> logits (B, numClasses) */
  forward(x: Tensor): Tensor;
  /** x -> the listed stage outputs, each (B, h, w, C) NHWC */
  forwardIntermediates(x: Tensor, opts?: ForwardIntermediatesOptions): Tensor[];
  /** official checkpoint key renames (legacy names); called by loadCheckpoint before loading */
  checkpointFilter?(dict: Map<string, unknown>): Map<string, unknown>;
}

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/**
 * The shared part of every forwardIntermediates: validates the requested feature indices (default
 * all `count`), runs `walk(last, wanted, emit)` — the family's stage loop up to the deepest index
 * asked for, emitting each wanted output — and returns the outputs in the order asked.
 */
export function collectIntermediates(
  family: string,
  count: number,
  indices: readonly number[] | undefined,
  walk: (last: number, wanted: (i: number) => boolean, emit: (i: number, t: Tensor) => void) => void,
): Tensor[] {
  const want = indices ?? [...Array(count).keys()];
  for (const i of want) if (!(Number.isInteger(i) && i >= 0 && i < count)) throw new Error(`${family}: feature index ${i} out of range 0..${count - 1}`);
  if (!want.length) return [];
  const outs = new Map<number, Tensor>();
  const set = new Set(want);
  walk(Math.max(...want), (i) => set.has(i), (i, t) => outs.set(i, t));
  return want.map((i) => outs.get(i)!);
}
