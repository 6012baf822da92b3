// The config of `ssmv train task=detect|segment`: one flat typed object (CLI keys = config.json keys).
// Keys left undefined take the task's recipe, the VMamba papers' downstream settings (models.md 9):
//   detect  (mmdet Mask R-CNN 1x): AdamW lr 1e-4, wd 0.05, linear warmup 1000 updates from 0.001 lr,
//           lr x0.1 at epochs 8 and 11 of 12, batch 16 (2 x 8 GPUs), 800 px;
//   segment (mmseg UperNet 160k): AdamW lr 6e-5, wd 0.01, warmup 1500 updates from 1e-6 lr, then poly
//           (power 1) to 0, 512 x 512 crops, batch 16 (4 x 4 GPUs).
import type { ArgSchema, ArgSpec } from '../cli/args.ts';
import { BACKEND_NAMES } from '../core/backend.ts';
import { configFromSchema, keyError as bad, RUN_OUTPUT_SPECS, spec, type RunOutputConfig } from './config-schema.ts';

export type DenseTask = 'detect' | 'segment';

export interface DenseConfig extends RunOutputConfig {
  task: DenseTask;
  model: string;
  head: string | undefined;
  head_preset: string;
  data: string;
  train_split: string | undefined;
  val_split: string | undefined;
  pretrained: string;
  weights: string;
  resume: string;
  epochs: number;
  batch: number;
  accum: number;
  imgsz: number | undefined;
  workers: number;
  worker_kind: string;
  backend: string;
  seed: number;
  lr: number | undefined;
  weight_decay: number | undefined;
  betas: number[];
  eps: number;
  warmup_iters: number | undefined;
  warmup_ratio: number | undefined;
  milestones: number[];
  gamma: number;
  poly_power: number;
  min_lr: number;
  clip_grad: number;
  hflip: number;
  reduce_zero_label: boolean;
  drop_path: number | undefined;
  val: boolean;
  plots: boolean;
}

export const DENSE_SCHEMA = {
  task: spec('string', 'detect', 'task', ['detect', 'segment']),
  model: spec('string', 'vmamba_tiny_s1l8', 'backbone name (ssmv info lists them)'),
  head: spec('string', undefined, 'registered head (default mask_rcnn for detect, upernet for segment)'),
  head_preset: spec('string', 'paper', "head configuration: 'paper' (the papers' setting) or 'tiny' (small channels, few proposals)"),
  data: spec('string', '', 'detect: COCO root (annotations/instances_<split>.json, <split>/ or images/<split>/); segment: ADE20K-style root (images/<split>/, annotations/<split>/)'),
  train_split: spec('string', undefined, "training split (default 'train' for detect, 'training' for segment)"),
  val_split: spec('string', undefined, "validation split (default 'val' / 'validation'; '' = none)"),
  pretrained: spec('string', '', 'backbone weights (.pth/.safetensors, e.g. ImageNet classification): backbone keys loaded, the rest reported'),
  weights: spec('string', '', 'weights of the whole model (strict) to fine-tune from'),
  resume: spec('string', '', 'continue a run exactly: runs/<name>/last'),
  epochs: spec('int', 12, 'epochs'),
  batch: spec('int', 2, 'images per micro-batch'),
  accum: spec('int', 1, 'micro-batches per optimizer update'),
  imgsz: spec('int', undefined, 'square input size (default 800 for detect, 512 for segment)'),
  workers: spec('int', -1, 'data loading workers, threads or processes (worker_kind) (-1 = one per core, less one above 2 cores, at most 32; 0 = in the main thread)'),
  worker_kind: spec('string', 'auto', 'data workers: process (child processes: sharp scales across them), thread (worker threads) or auto (process on more than 2 cores)', ['auto', 'thread', 'process']),
  backend: spec('string', 'auto', 'tensor backend', BACKEND_NAMES),
  seed: spec('int', 0, 'random seed'),
  lr: spec('number', undefined, 'AdamW learning rate (default 1e-4 detect, 6e-5 segment)'),
  weight_decay: spec('number', undefined, 'decoupled weight decay (default 0.05 detect, 0.01 segment; none on norms and biases)'),
  betas: spec('numbers', [0.9, 0.999], 'AdamW betas'),
  eps: spec('number', 1e-8, 'AdamW epsilon'),
  warmup_iters: spec('int', undefined, 'linear warmup updates (default 1000 detect, 1500 segment)'),
  warmup_ratio: spec('number', undefined, 'lr at the start of the warmup / lr (default 0.001 detect, 1e-6 segment)'),
  milestones: spec('numbers', [8, 11], 'detect: epochs after which the lr is multiplied by gamma'),
  gamma: spec('number', 0.1, 'detect: lr factor at each milestone'),
  poly_power: spec('number', 1.0, 'segment: power of the poly decay'),
  min_lr: spec('number', 0, 'segment: lr at the end of the poly decay'),
  clip_grad: spec('number', 0, 'max global gradient norm (0 = off, as the mmdet/mmseg configs)'),
  hflip: spec('number', 0.5, 'horizontal flip probability'),
  reduce_zero_label: spec('boolean', true, 'segment: label 0 (ADE20K "other") is ignored and the rest move down by one; false keeps 0 as class "background"'),
  drop_path: spec('number', undefined, "backbone stochastic depth (default: the backbone config's)"),
  ...RUN_OUTPUT_SPECS,
  val: spec('boolean', true, 'evaluate after every epoch (COCO bbox + segm AP, or mIoU)'),
  plots: spec('boolean', true, 'write loss/metric/lr PNG plots'),
} satisfies Record<keyof DenseConfig, ArgSpec> satisfies ArgSchema;

/** The task's recipe for every key left undefined. */
export interface ResolvedDense {
  head: string;
  trainSplit: string;
  valSplit: string;
  imgsz: number;
  lr: number;
  weightDecay: number;
  warmupIters: number;
  warmupRatio: number;
}

export function resolveDense(c: DenseConfig): ResolvedDense {
  const det = c.task === 'detect';
  return {
    head: c.head ?? (det ? 'mask_rcnn' : 'upernet'),
    trainSplit: c.train_split ?? (det ? 'train' : 'training'),
    valSplit: c.val_split ?? (det ? 'val' : 'validation'),
    imgsz: c.imgsz ?? (det ? 800 : 512),
    lr: c.lr ?? (det ? 1e-4 : 6e-5),
    weightDecay: c.weight_decay ?? (det ? 0.05 : 0.01),
    warmupIters: c.warmup_iters ?? (det ? 1000 : 1500),
    warmupRatio: c.warmup_ratio ?? (det ? 1e-3 : 1e-6),
  };
}

export function denseConfigFrom(values: Record<string, unknown>): DenseConfig {
  return configFromSchema(DENSE_SCHEMA, values, checkDenseConfig);
}

/** Values the types cannot express; each error names its key. */
export function checkDenseConfig(c: DenseConfig): void {
  if (c.task !== 'detect' && c.task !== 'segment') bad('task', `must be detect or segment, got '${c.task}'`);
  if (c.epochs < 1) bad('epochs', `must be >= 1, got ${c.epochs}`);
  if (c.batch < 1) bad('batch', `must be >= 1, got ${c.batch}`);
  if (c.accum < 1) bad('accum', `must be >= 1, got ${c.accum}`);
  if (c.imgsz !== undefined && c.imgsz < 32) bad('imgsz', `must be >= 32, got ${c.imgsz}`);
  if (c.lr !== undefined && !(c.lr > 0)) bad('lr', `must be > 0, got ${c.lr}`);
  if (c.weight_decay !== undefined && c.weight_decay < 0) bad('weight_decay', `must be >= 0, got ${c.weight_decay}`);
  if (c.betas.length !== 2 || c.betas.some((b) => !(b >= 0 && b < 1))) bad('betas', `needs two values in [0, 1), got ${c.betas.join(',')}`);
  if (c.warmup_iters !== undefined && c.warmup_iters < 0) bad('warmup_iters', `must be >= 0, got ${c.warmup_iters}`);
  if (c.warmup_ratio !== undefined && !(c.warmup_ratio > 0 && c.warmup_ratio <= 1)) bad('warmup_ratio', `must be in (0, 1], got ${c.warmup_ratio}`);
  if (!(c.gamma > 0)) bad('gamma', `must be > 0, got ${c.gamma}`);
  if (c.hflip < 0 || c.hflip > 1) bad('hflip', `must be in [0, 1], got ${c.hflip}`);
  if (c.drop_path !== undefined && (c.drop_path < 0 || c.drop_path >= 1)) bad('drop_path', `must be in [0, 1), got ${c.drop_path}`);
  if (c.log_interval < 1) bad('log_interval', `must be >= 1, got ${c.log_interval}`);
}
