// The data of `ssmv train task=classify`: an ImageFolder root with train/ and val/ class folders
// (datasets/imagefolder.ts), timm's training pipeline (RandomResizedCrop, flip, RandAugment, random
// erasing) and eval pipeline (resize + centre crop) from datasets/pipeline, batches from the worker-
// pool DataLoader with batch-level Mixup/CutMix. Input problems are reported here, naming the key.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openImageFolder } from '../datasets/imagefolder.ts';
import { DataLoader } from '../datasets/loader.ts';
import { classifyEval, classifyTrain } from '../datasets/pipeline/spec.ts';
import type { Batch, Dataset } from '../datasets/types.ts';
import type { TrainConfig } from './config.ts';
import type { BatchSource } from './data.ts';
import type { ClassifyData } from './classify.ts';
import { parseWorkerKind } from '../datasets/worker/kind.ts';

/** A datasets/ DataLoader seen as the trainer's BatchSource. */
export class LoaderSource implements BatchSource {
  readonly size: number;
  readonly batchesPerEpoch: number;
  readonly numClasses: number;
  constructor(readonly loader: DataLoader, readonly classes: readonly string[]) {
    this.size = loader.dataset.samples.length;
    this.batchesPerEpoch = loader.length;
    this.numClasses = classes.length;
  }
  batches(epoch: number, start = 0): AsyncIterable<Batch> {
    return this.loader.epoch(epoch, start);
  }
  close(): Promise<void> {
    return this.loader.close();
  }
}

/**
 * workers key: -1 = one per core, less one for the training process on machines of more than 2 cores
 * (15 worker processes loaded ~1,500-1,800 images/s on the 16-core GPU host, 8 about 1,350:
 * BENCHMARKS.md, Data pipeline), at most 32; 0 = in this thread.
 */
export function resolveWorkers(n: number, cores: number): number {
  if (n >= 0) return n;
  return cores <= 2 ? Math.max(1, cores) : Math.min(32, cores - 1);
}

function checkClasses(ds: Dataset, where: string): void {
  const counts = new Array<number>(ds.classes.length).fill(0);
  for (const s of ds.samples) if (s.target.kind === 'class') counts[s.target.label]++;
  const empty = ds.classes.filter((_, i) => counts[i] === 0);
  if (empty.length) {
    throw new Error(`data: class folder${empty.length > 1 ? 's' : ''} ${empty.slice(0, 3).map((c) => `'${join(where, c)}'`).join(', ')}${empty.length > 3 ? ` (and ${empty.length - 3} more)` : ''} ha${empty.length > 1 ? 've' : 's'} no images`);
  }
}

export async function openClassifyData(cfg: TrainConfig, cores: number): Promise<ClassifyData> {
  const root = cfg.data;
  if (!existsSync(root)) throw new Error(`data: folder '${root}' does not exist`);
  if (!statSync(root).isDirectory()) throw new Error(`data: '${root}' is not a folder (give an ImageFolder root: <data>/${cfg.train_split}/<class>/*.jpg)`);
  // <data>/train/<class>/..., or class folders directly under <data> (then no validation split)
  const trainDir = existsSync(join(root, cfg.train_split)) ? join(root, cfg.train_split) : root;
  const train = await openImageFolder({ root, split: trainDir === root ? undefined : cfg.train_split });
  if (train.meta.layout !== 'class-folders') throw new Error(`data: '${trainDir}' has no class folders (expected ${trainDir}/<class>/*.jpg)`);
  checkClasses(train, trainDir);
  if (train.classes.length < 2) throw new Error(`data: '${trainDir}' has ${train.classes.length} class folder; classification needs at least 2`);
  if (cfg.batch > train.samples.length) throw new Error(`batch: ${cfg.batch} is larger than the training set (${train.samples.length} images in '${trainDir}'): lower batch=`);
  const valDir = cfg.val_split && trainDir !== root ? join(root, cfg.val_split) : '';
  const val = valDir && existsSync(valDir) ? await openImageFolder({ root, split: cfg.val_split, classes: [...train.classes] }) : null;
  if (val && val.meta.layout === 'class-folders') checkClasses(val, valDir);
  const workers = resolveWorkers(cfg.workers, cores);
  const workerKind = parseWorkerKind(cfg.worker_kind);
  const trainLoader = new DataLoader({
    dataset: train,
    pipeline: classifyTrain({
      size: cfg.imgsz, scale: [cfg.scale[0], cfg.scale[1]], hflip: cfg.hflip, interpolation: cfg.interpolation,
      autoAugment: cfg.auto_augment || null, colorJitter: cfg.color_jitter || null, reprob: cfg.reprob,
    }),
    batchSize: cfg.batch, shuffle: true, seed: cfg.seed, dropLast: true, workers, workerKind,
    mixup: cfg.mixup > 0 || cfg.cutmix > 0
      ? { mixupAlpha: cfg.mixup, cutmixAlpha: cfg.cutmix, prob: cfg.mixup_prob, switchProb: cfg.mixup_switch_prob, mode: cfg.mixup_mode, labelSmoothing: cfg.smoothing, numClasses: train.classes.length }
      : undefined,
  });
  const valLoader = val
    ? new DataLoader({ dataset: val, pipeline: classifyEval({ size: cfg.imgsz, cropPct: cfg.crop_pct, interpolation: cfg.interpolation }), batchSize: cfg.batch, workers, workerKind })
    : null;
  return {
    train: new LoaderSource(trainLoader, train.classes),
    val: valLoader ? new LoaderSource(valLoader, train.classes) : null,
    classes: train.classes,
    describe: { root, train: { dir: trainDir, images: train.samples.length }, val: val ? { dir: valDir, images: val.samples.length } : null, workers },
  };
}
