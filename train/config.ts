// The classification training config: one flat typed object whose keys are the CLI keys
// (`ssmv train key=value`) and the keys of the run's `config.json`. Defaults are VMamba's ImageNet
// recipe (MzeroMiko/VMamba classification/config.py + main.py, itself timm's/Swin's): AdamW,
// base lr 5e-4 per 512 images scaled linearly by the total batch (1e-3 at their 8 x 128), wd 0.05,
// 300 epochs with 20 of linear warmup from lr/1000, cosine to lr/100, per-iteration steps, label
// smoothing 0.1, Mixup 0.8 / CutMix 1.0, RandAugment m9, random erasing 0.25, EMA 0.9999, grad clip 5.
import type { ArgSchema, ArgSpec } from '../cli/args.ts';
import { BACKEND_NAMES } from '../core/backend.ts';
import { configFromSchema, keyError as bad, RUN_OUTPUT_SPECS, schemaDefaults, spec, type RunOutputConfig } from './config-schema.ts';

export interface TrainConfig extends RunOutputConfig {
  task: 'classify';
  model: string;
  data: string;
  train_split: string;
  val_split: string;
  weights: string;
  resume: string;
  epochs: number;
  batch: number;
  accum: number;
  imgsz: number;
  workers: number;
  worker_kind: string;
  backend: string;
  seed: number;
  optimizer: 'adamw' | 'sgd';
  lr: number | undefined;
  lr_base: number;
  lr_base_size: number;
  warmup_lr: number | undefined;
  min_lr: number | undefined;
  weight_decay: number;
  momentum: number;
  nesterov: boolean;
  betas: number[];
  eps: number;
  sched: 'cosine' | 'constant';
  warmup_epochs: number;
  clip_grad: number;
  smoothing: number;
  mixup: number;
  cutmix: number;
  mixup_prob: number;
  mixup_switch_prob: number;
  mixup_mode: 'batch' | 'pair' | 'elem';
  auto_augment: string;
  color_jitter: number;
  reprob: number;
  hflip: number;
  scale: number[];
  interpolation: 'bicubic' | 'bilinear';
  crop_pct: number;
  drop_path: number | undefined;
  model_ema: boolean;
  model_ema_decay: number;
  model_ema_warmup: boolean;
  val: boolean;
  plots: boolean;
}

/** every key of TrainConfig with its type, default and help (the CLI schema) */
export const TRAIN_SCHEMA = {
  task: spec('string', 'classify', 'task', ['classify']),
  model: spec('string', 'vmamba_tiny_s2l5', 'backbone name (ssmv info lists them)'),
  data: spec('string', '', 'ImageFolder root: <data>/<train_split>/<class>/*.jpg and <data>/<val_split>/...'),
  train_split: spec('string', 'train', 'training subfolder of data'),
  val_split: spec('string', 'val', 'validation subfolder of data ("" = no validation)'),
  weights: spec('string', '', 'initial weights (.safetensors or .pth) to fine-tune from'),
  resume: spec('string', '', 'continue a run exactly: runs/<name>/last'),
  epochs: spec('int', 300, 'epochs'),
  batch: spec('int', 128, 'images per micro-batch'),
  accum: spec('int', 1, 'micro-batches per optimizer update (gradient accumulation)'),
  imgsz: spec('int', 224, 'training/validation image size'),
  workers: spec('int', -1, 'data loading workers, threads or processes (worker_kind) (-1 = one per core, less one above 2 cores, at most 32; 0 = in the main thread)'),
  worker_kind: spec('string', 'auto', 'data workers: process (child processes: sharp scales across them), thread (worker threads) or auto (process on more than 2 cores)', ['auto', 'thread', 'process']),
  backend: spec('string', 'auto', 'tensor backend', BACKEND_NAMES),
  seed: spec('int', 0, 'random seed (init, data order, augmentation, drop path)'),
  optimizer: spec('string', 'adamw', 'optimizer', ['adamw', 'sgd']),
  lr: spec('number', undefined, 'peak learning rate (default lr_base * batch * accum / lr_base_size)'),
  lr_base: spec('number', 5e-4, 'learning rate per lr_base_size images (VMamba BASE_LR)'),
  lr_base_size: spec('int', 512, 'batch size lr_base refers to (linear scaling)'),
  warmup_lr: spec('number', undefined, 'lr at the start of the warmup (default lr / 1000)'),
  min_lr: spec('number', undefined, 'lr at the end of the cosine (default lr / 100)'),
  weight_decay: spec('number', 0.05, 'decoupled weight decay (none on norms, biases, A_logs, Ds, pos embeds)'),
  momentum: spec('number', 0.9, 'SGD momentum'),
  nesterov: spec('boolean', true, 'SGD Nesterov momentum'),
  betas: spec('numbers', [0.9, 0.999], 'AdamW betas'),
  eps: spec('number', 1e-8, 'AdamW epsilon'),
  sched: spec('string', 'cosine', 'lr schedule after the warmup, stepped per update', ['cosine', 'constant']),
  warmup_epochs: spec('number', 20, 'linear warmup epochs'),
  clip_grad: spec('number', 5.0, 'max global gradient norm (0 = off)'),
  smoothing: spec('number', 0.1, 'label smoothing'),
  mixup: spec('number', 0.8, 'Mixup alpha (0 = off)'),
  cutmix: spec('number', 1.0, 'CutMix alpha (0 = off)'),
  mixup_prob: spec('number', 1.0, 'probability of Mixup/CutMix per batch'),
  mixup_switch_prob: spec('number', 0.5, 'probability of CutMix when both are on'),
  mixup_mode: spec('string', 'batch', 'Mixup/CutMix parameters per batch, pair or element', ['batch', 'pair', 'elem']),
  auto_augment: spec('string', 'rand-m9-mstd0.5-inc1', 'timm RandAugment string ("" = off)'),
  color_jitter: spec('number', 0.4, 'colour jitter (used when auto_augment is off)'),
  reprob: spec('number', 0.25, 'random erasing probability'),
  hflip: spec('number', 0.5, 'horizontal flip probability'),
  scale: spec('numbers', [0.08, 1], 'RandomResizedCrop area range'),
  interpolation: spec('string', 'bicubic', 'resize interpolation', ['bicubic', 'bilinear']),
  crop_pct: spec('number', 0.875, 'validation centre-crop fraction'),
  drop_path: spec('number', undefined, 'stochastic depth rate (default: the model config\'s drop_path_rate)'),
  model_ema: spec('boolean', true, 'keep and evaluate an EMA of the weights'),
  model_ema_decay: spec('number', 0.9999, 'EMA decay'),
  model_ema_warmup: spec('boolean', false, 'EMA decay warmup (timm ModelEmaV3 use_warmup; for short runs)'),
  ...RUN_OUTPUT_SPECS,
  val: spec('boolean', true, 'validate after every epoch'),
  plots: spec('boolean', true, 'write loss/accuracy/lr PNG plots'),
} satisfies Record<keyof TrainConfig, ArgSpec> satisfies ArgSchema;

export function defaultTrainConfig(): TrainConfig {
  return schemaDefaults<TrainConfig>(TRAIN_SCHEMA);
}

/** config from parsed CLI values (already typed by cli/args.ts) */
export function trainConfigFrom(values: Record<string, unknown>): TrainConfig {
  return configFromSchema(TRAIN_SCHEMA, values, checkTrainConfig);
}

/** Values the types cannot express; each error names its key. */
export function checkTrainConfig(c: TrainConfig): void {
  if (c.epochs < 1) bad('epochs', `must be >= 1, got ${c.epochs}`);
  if (c.batch < 1) bad('batch', `must be >= 1, got ${c.batch}`);
  if (c.accum < 1) bad('accum', `must be >= 1, got ${c.accum}`);
  if (c.imgsz < 8) bad('imgsz', `must be >= 8, got ${c.imgsz}`);
  if (c.warmup_epochs < 0) bad('warmup_epochs', `must be >= 0, got ${c.warmup_epochs}`);
  if (c.lr !== undefined && !(c.lr > 0)) bad('lr', `must be > 0, got ${c.lr}`);
  if (c.betas.length !== 2 || c.betas.some((b) => !(b >= 0 && b < 1))) bad('betas', `needs two values in [0, 1), got ${c.betas.join(',')}`);
  if (c.smoothing < 0 || c.smoothing >= 1) bad('smoothing', `must be in [0, 1), got ${c.smoothing}`);
  if (c.model_ema_decay < 0 || c.model_ema_decay >= 1) bad('model_ema_decay', `must be in [0, 1), got ${c.model_ema_decay}`);
  if (c.drop_path !== undefined && (c.drop_path < 0 || c.drop_path >= 1)) bad('drop_path', `must be in [0, 1), got ${c.drop_path}`);
  if (c.scale.length !== 2 || !(c.scale[0] > 0 && c.scale[0] <= c.scale[1] && c.scale[1] <= 1)) bad('scale', `needs two values 0 < min <= max <= 1, got ${c.scale.join(',')}`);
  if (c.log_interval < 1) bad('log_interval', `must be >= 1, got ${c.log_interval}`);
}

/** VMamba main.py's linear scaling: lr, warmup_lr and min_lr, unless given. */
export function resolveLr(c: TrainConfig): { lr: number; warmupLr: number; minLr: number } {
  const lr = c.lr ?? (c.lr_base * c.batch * c.accum) / c.lr_base_size;
  return { lr, warmupLr: c.warmup_lr ?? lr / 1000, minLr: c.min_lr ?? lr / 100 };
}
