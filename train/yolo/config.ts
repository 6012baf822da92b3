// `ssmv train task=detect model=mamba_yolo_t ...`: the YOLO training config, one flat typed object
// whose keys are ultralytics' (ultralytics/cfg/default.yaml) so its commands paste in. Defaults are
// ultralytics' with the optimizer fixed to SGD as Mamba-YOLO's mbyolo_train.py sets it (lr0 0.01,
// momentum 0.937 Nesterov, weight decay 5e-4 on weights only, 3 warmup epochs with bias lr 0.1 and
// momentum 0.8, linear decay to lrf * lr0, mosaic closed for the last 10 epochs, letterbox 640).
import type { ArgSchema, ArgSpec } from '../../cli/args.ts';
import { BACKEND_NAMES } from '../../core/backend.ts';
import { configFromSchema, keyError as bad, schemaDefaults, spec } from '../config-schema.ts';

export interface YoloTrainConfig {
  task: 'detect';
  head: 'yolo';
  model: string;
  data: string;
  val_data: string;
  train_images: string;
  val_images: string;
  train_split: string;
  val_split: string;
  weights: string;
  resume: string;
  epochs: number;
  batch: number;
  imgsz: number;
  workers: number;
  worker_kind: string;
  backend: string;
  seed: number;
  optimizer: 'SGD';
  lr0: number;
  lrf: number;
  momentum: number;
  weight_decay: number;
  warmup_epochs: number;
  warmup_momentum: number;
  warmup_bias_lr: number;
  nbs: number;
  cos_lr: boolean;
  box: number;
  cls: number;
  dfl: number;
  close_mosaic: number;
  mosaic: number;
  hsv_h: number;
  hsv_s: number;
  hsv_v: number;
  translate: number;
  scale: number;
  fliplr: number;
  flipud: number;
  conf: number;
  iou: number;
  max_det: number;
  project: string;
  name: string;
  exist_ok: boolean;
  save_period: number;
  patience: number;
  val: boolean;
  plots: boolean;
}

export const YOLO_TRAIN_SCHEMA = {
  task: spec('string', 'detect', 'task', ['detect']),
  head: spec('string', 'yolo', 'detection head: the YOLOv8 Detect head of the Mamba-YOLO models', ['yolo']),
  model: spec('string', 'mamba_yolo_t', 'mamba_yolo_t | mamba_yolo_b | mamba_yolo_l | test_mamba_yolo'),
  data: spec('string', '', 'ultralytics dataset YAML, a COCO instances JSON, or a VOCdevkit folder'),
  val_data: spec('string', '', 'COCO: validation JSON (default: the train JSON name with train -> val)'),
  train_images: spec('string', '', 'COCO: image folder of the train JSON (default: images/<split> or <split> beside annotations/)'),
  val_images: spec('string', '', 'COCO: image folder of the validation JSON'),
  train_split: spec('string', 'trainval', 'VOC: ImageSets split to train on'),
  val_split: spec('string', 'test', 'VOC: split to validate on'),
  weights: spec('string', '', 'initial weights: ssmv checkpoint, .safetensors, or an ultralytics/Mamba-YOLO .pt'),
  resume: spec('string', '', 'continue a run exactly: runs/detect/<name>/weights/last'),
  epochs: spec('int', 100, 'epochs'),
  batch: spec('int', 16, 'images per batch'),
  imgsz: spec('int', 640, 'train/val image size (letterbox; a multiple of 32)'),
  workers: spec('int', -1, 'data loading workers, threads or processes (worker_kind) (-1 = one per core, less one above 2 cores, at most 32; 0 = in the main thread)'),
  worker_kind: spec('string', 'auto', 'data workers: process (child processes: sharp scales across them), thread (worker threads) or auto (process on more than 2 cores)', ['auto', 'thread', 'process']),
  backend: spec('string', 'auto', 'tensor backend', BACKEND_NAMES),
  seed: spec('int', 0, 'random seed'),
  optimizer: spec('string', 'SGD', 'optimizer (Mamba-YOLO trains with SGD)', ['SGD']),
  lr0: spec('number', 0.01, 'initial learning rate'),
  lrf: spec('number', 0.01, 'final learning rate = lr0 * lrf'),
  momentum: spec('number', 0.937, 'SGD momentum (Nesterov)'),
  weight_decay: spec('number', 5e-4, 'weight decay of conv/linear weights (scaled by batch * accumulate / nbs)'),
  warmup_epochs: spec('number', 3, 'warmup epochs (at least 100 iterations; 0 = off)'),
  warmup_momentum: spec('number', 0.8, 'momentum at the start of the warmup'),
  warmup_bias_lr: spec('number', 0.1, 'bias learning rate at the start of the warmup'),
  nbs: spec('int', 64, 'nominal batch size: gradients are accumulated over max(round(nbs / batch), 1) batches'),
  cos_lr: spec('boolean', false, 'cosine instead of linear learning-rate decay'),
  box: spec('number', 7.5, 'box (CIoU) loss gain'),
  cls: spec('number', 0.5, 'classification (BCE) loss gain'),
  dfl: spec('number', 1.5, 'distribution focal loss gain'),
  close_mosaic: spec('int', 10, 'turn mosaic off for the last N epochs'),
  mosaic: spec('number', 1.0, 'mosaic probability'),
  hsv_h: spec('number', 0.015, 'HSV hue gain'),
  hsv_s: spec('number', 0.7, 'HSV saturation gain'),
  hsv_v: spec('number', 0.4, 'HSV value gain'),
  translate: spec('number', 0.1, 'translation fraction'),
  scale: spec('number', 0.5, 'scale gain'),
  fliplr: spec('number', 0.5, 'horizontal flip probability'),
  flipud: spec('number', 0.0, 'vertical flip probability'),
  conf: spec('number', 0.001, 'validation confidence threshold'),
  iou: spec('number', 0.7, 'NMS IoU threshold'),
  max_det: spec('int', 300, 'detections per image'),
  project: spec('string', 'runs/detect', 'parent folder of run directories'),
  name: spec('string', 'train', 'run directory name (train, train2, ... unless exist_ok)'),
  exist_ok: spec('boolean', false, 'reuse <project>/<name> instead of incrementing'),
  save_period: spec('int', -1, 'also keep weights/epoch<N> every N epochs (-1 = off)'),
  patience: spec('int', 100, 'stop after this many epochs without a better fitness'),
  val: spec('boolean', true, 'validate after every epoch (COCO mAP)'),
  plots: spec('boolean', true, 'write results.png'),
} satisfies Record<keyof YoloTrainConfig, ArgSpec> satisfies ArgSchema;

export function defaultYoloConfig(): YoloTrainConfig {
  return schemaDefaults<YoloTrainConfig>(YOLO_TRAIN_SCHEMA);
}

export function yoloConfigFrom(values: Record<string, unknown>): YoloTrainConfig {
  return configFromSchema(YOLO_TRAIN_SCHEMA, values, checkYoloConfig);
}

/** Values the types cannot express; each error names its key. */
export function checkYoloConfig(c: YoloTrainConfig): void {
  const prob = (k: keyof YoloTrainConfig) => { const v = c[k] as number; if (!(v >= 0 && v <= 1)) bad(k, `must be in [0, 1], got ${v}`); };
  if (c.epochs < 1) bad('epochs', `must be >= 1, got ${c.epochs}`);
  if (c.batch < 1) bad('batch', `must be >= 1, got ${c.batch}`);
  if (c.imgsz < 32 || c.imgsz % 32) bad('imgsz', `must be a multiple of 32 (the largest stride), got ${c.imgsz}`);
  if (!(c.lr0 > 0)) bad('lr0', `must be > 0, got ${c.lr0}`);
  if (!(c.lrf > 0 && c.lrf <= 1)) bad('lrf', `must be in (0, 1], got ${c.lrf}`);
  if (c.warmup_epochs < 0) bad('warmup_epochs', `must be >= 0, got ${c.warmup_epochs}`);
  if (c.nbs < 1) bad('nbs', `must be >= 1, got ${c.nbs}`);
  if (c.close_mosaic < 0) bad('close_mosaic', `must be >= 0, got ${c.close_mosaic}`);
  for (const k of ['mosaic', 'fliplr', 'flipud', 'conf', 'iou', 'momentum', 'warmup_momentum'] as const) prob(k);
  if (!(c.scale >= 0 && c.scale < 1)) bad('scale', `must be in [0, 1), got ${c.scale}`);
  if (!(c.translate >= 0 && c.translate <= 0.5)) bad('translate', `must be in [0, 0.5], got ${c.translate}`);
  if (c.max_det < 1) bad('max_det', `must be >= 1, got ${c.max_det}`);
}
