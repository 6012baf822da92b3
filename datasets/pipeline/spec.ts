// Transform pipelines are described by plain data (a PipelineSpec) so that worker threads rebuild
// exactly the same pipeline from a message. Defaults follow timm (classification), ultralytics
// (detection) and mmseg's ADE20K recipe (segmentation).
import type { Interpolation } from '../io/decode.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../transforms/color.ts';

export interface ClassifyTrainSpec {
  kind: 'classify-train';
  size: number;
  scale: [number, number];
  ratio: [number, number];
  hflip: number;
  vflip: number;
  /** 'random' picks bilinear or bicubic per image (timm --train-interpolation random) */
  interpolation: Interpolation | 'random';
  /** timm RandAugment string such as 'rand-m9-mstd0.5-inc1'; null for none */
  autoAugment: string | null;
  /** brightness/contrast/saturation[/hue]; used only when autoAugment is off (as timm) */
  colorJitter: number | number[] | null;
  /** Random Erasing probability (timm --reprob), mode and max count */
  reprob: number;
  remode: 'const' | 'rand' | 'pixel';
  recount: number;
  mean: number[];
  std: number[];
}

export interface ClassifyEvalSpec {
  kind: 'classify-eval';
  size: number;
  cropPct: number;
  interpolation: Interpolation;
  mean: number[];
  std: number[];
}

export interface DetectTrainSpec {
  kind: 'detect-train';
  size: number;
  /** probability of a 2x2 mosaic */
  mosaic: number;
  /** RandomPerspective scale gain (zoom in [1 - scale, 1 + scale]) and translate fraction */
  scale: number;
  translate: number;
  /** RandomHSV gains [h, s, v] */
  hsv: [number, number, number];
  fliplr: number;
  flipud: number;
  mean: number[];
  std: number[];
  /** also produce (N, H, W) instance masks from polygons / RLE */
  instanceMasks: boolean;
}

export interface DetectEvalSpec {
  kind: 'detect-eval';
  size: number;
  scaleup: boolean;
  mean: number[];
  std: number[];
  instanceMasks: boolean;
}

export interface SegmentTrainSpec {
  kind: 'segment-train';
  /** crop size [h, w] */
  size: [number, number];
  /** RandomResize base scale [long edge, short edge] (mmseg ADE20K: 2048 x 512) */
  baseSize: [number, number];
  ratioRange: [number, number];
  catMaxRatio: number;
  hflip: number;
  /** mmseg PhotoMetricDistortion */
  photometric: boolean;
  mean: number[];
  std: number[];
}

export interface SegmentEvalSpec {
  kind: 'segment-eval';
  /** output [h, w]: resized keeping the ratio to fit, padded right/bottom (mask: ignore) */
  size: [number, number];
  mean: number[];
  std: number[];
}

export type PipelineSpec = ClassifyTrainSpec | ClassifyEvalSpec | DetectTrainSpec | DetectEvalSpec | SegmentTrainSpec | SegmentEvalSpec;
export type PipelineKind = PipelineSpec['kind'];

const mean = [...IMAGENET_MEAN], std = [...IMAGENET_STD];

export function classifyTrain(o: Partial<Omit<ClassifyTrainSpec, 'kind'>> = {}): ClassifyTrainSpec {
  return {
    kind: 'classify-train', size: 224, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], hflip: 0.5, vflip: 0,
    interpolation: 'bilinear', autoAugment: null, colorJitter: 0.4, reprob: 0, remode: 'pixel', recount: 1,
    mean, std, ...o,
  };
}

export function classifyEval(o: Partial<Omit<ClassifyEvalSpec, 'kind'>> = {}): ClassifyEvalSpec {
  return { kind: 'classify-eval', size: 224, cropPct: 0.875, interpolation: 'bilinear', mean, std, ...o };
}

export function detectTrain(o: Partial<Omit<DetectTrainSpec, 'kind'>> = {}): DetectTrainSpec {
  return {
    kind: 'detect-train', size: 640, mosaic: 1, scale: 0.5, translate: 0.1, hsv: [0.015, 0.7, 0.4], fliplr: 0.5, flipud: 0,
    mean: [0, 0, 0], std: [1, 1, 1], instanceMasks: false, ...o,
  };
}

export function detectEval(o: Partial<Omit<DetectEvalSpec, 'kind'>> = {}): DetectEvalSpec {
  return { kind: 'detect-eval', size: 640, scaleup: true, mean: [0, 0, 0], std: [1, 1, 1], instanceMasks: false, ...o };
}

export function segmentTrain(o: Partial<Omit<SegmentTrainSpec, 'kind'>> = {}): SegmentTrainSpec {
  return {
    kind: 'segment-train', size: [512, 512], baseSize: [2048, 512], ratioRange: [0.5, 2], catMaxRatio: 0.75, hflip: 0.5,
    photometric: true, mean, std, ...o,
  };
}

export function segmentEval(o: Partial<Omit<SegmentEvalSpec, 'kind'>> = {}): SegmentEvalSpec {
  return { kind: 'segment-eval', size: [512, 512], mean, std, ...o };
}

/** Checks a spec's numbers (a message names the field). */
export function validateSpec(s: PipelineSpec): void {
  const bad = (f: string, why: string): never => {
    throw new Error(`pipeline ${s.kind}: ${f} ${why}`);
  };
  const pos = (f: string, v: number) => (Number.isFinite(v) && v > 0) || bad(f, `must be > 0, got ${v}`);
  const prob = (f: string, v: number) => (v >= 0 && v <= 1) || bad(f, `must be in [0, 1], got ${v}`);
  if (Array.isArray(s.size)) s.size.forEach((v, i) => pos(`size[${i}]`, v));
  else pos('size', s.size);
  if (s.mean.length !== 3 || s.std.length !== 3) bad('mean/std', 'need 3 values each');
  s.std.forEach((v, i) => pos(`std[${i}]`, v));
  if (s.kind === 'classify-train') {
    if (!(s.scale[0] > 0 && s.scale[0] <= s.scale[1] && s.scale[1] <= 1)) bad('scale', `must satisfy 0 < min <= max <= 1, got ${s.scale}`);
    if (!(s.ratio[0] > 0 && s.ratio[0] <= s.ratio[1])) bad('ratio', `must satisfy 0 < min <= max, got ${s.ratio}`);
    prob('hflip', s.hflip);
    prob('vflip', s.vflip);
    prob('reprob', s.reprob);
  } else if (s.kind === 'classify-eval') {
    if (!(s.cropPct > 0 && s.cropPct <= 1)) bad('cropPct', `must be in (0, 1], got ${s.cropPct}`);
  } else if (s.kind === 'detect-train') {
    prob('mosaic', s.mosaic);
    prob('fliplr', s.fliplr);
    prob('flipud', s.flipud);
    if (!(s.scale >= 0 && s.scale < 1)) bad('scale', `must be in [0, 1), got ${s.scale}`);
    if (!(s.translate >= 0 && s.translate <= 0.5)) bad('translate', `must be in [0, 0.5], got ${s.translate}`);
  } else if (s.kind === 'segment-train') {
    prob('hflip', s.hflip);
    if (!(s.ratioRange[0] > 0 && s.ratioRange[0] <= s.ratioRange[1])) bad('ratioRange', `must satisfy 0 < min <= max, got ${s.ratioRange}`);
  }
}
