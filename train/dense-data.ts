// The data of `ssmv train task=detect|segment`: COCO instances (boxes + polygon/RLE masks) through the
// detection pipelines, or ADE20K-style label maps through mmseg's pipelines, with ImageNet mean/std.
//   detect train: letterbox to imgsz + horizontal flip (no mosaic / scale / translate / HSV: mmdet's
//     Resize + RandomFlip), instance masks rendered at the input size; images without boxes left out
//     (mmdet filter_empty_gt); val: letterbox, every image (COCOeval needs them all);
//   segment train: RandomResize (4 imgsz x imgsz base, ratio 0.5-2), RandomCrop (cat_max_ratio 0.75),
//     flip, PhotoMetricDistortion; val: resized to fit imgsz x imgsz, padded with ignore.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataLoader } from '../datasets/loader.ts';
import { openCoco } from '../datasets/coco.ts';
import { openAde20k } from '../datasets/ade20k.ts';
import { detectEval, detectTrain, segmentEval, segmentTrain } from '../datasets/pipeline/spec.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../datasets/transforms/color.ts';
import type { Dataset } from '../datasets/types.ts';
import type { BatchSource } from './data.ts';
import { LoaderSource, resolveWorkers } from './classify-data.ts';
import type { DenseConfig, ResolvedDense } from './dense-config.ts';
import { parseWorkerKind } from '../datasets/worker/kind.ts';

export interface DenseData {
  train: BatchSource;
  /** validation loader (keeps order and the last partial batch) and its dataset */
  val: { loader: DataLoader; dataset: Dataset } | null;
  classes: readonly string[];
  trainSet: Dataset;
  describe: Record<string, unknown>;
}

async function classesWithBackground(root: string): Promise<string[] | undefined> {
  const file = join(root, 'classes.txt');
  if (!existsSync(file)) return undefined;
  return ['background', ...(await readFile(file, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean)];
}

export async function openDenseData(cfg: DenseConfig, r: ResolvedDense, cores: number, opts: { instanceMasks: boolean }): Promise<DenseData> {
  const root = cfg.data;
  if (!root) throw new Error(`data: give the dataset root, e.g. data=path/to/${cfg.task === 'detect' ? 'coco' : 'ADEChallengeData2016'} (see ssmv train task=${cfg.task} --help)`);
  if (!existsSync(root)) throw new Error(`data: folder '${root}' does not exist`);
  if (!statSync(root).isDirectory()) throw new Error(`data: '${root}' is not a folder`);
  const mean = [...IMAGENET_MEAN], std = [...IMAGENET_STD];
  const workers = resolveWorkers(cfg.workers, cores);
  const workerKind = parseWorkerKind(cfg.worker_kind);
  const s = r.imgsz;
  let train: Dataset, val: Dataset | null;
  let trainPipe, valPipe;
  if (cfg.task === 'detect') {
    train = await openCoco({ root, split: r.trainSplit, filterEmpty: true });
    val = r.valSplit ? await openCoco({ root, split: r.valSplit }) : null;
    if (!train.samples.length) throw new Error(`data: no training image of '${root}' split '${r.trainSplit}' has an annotation`);
    const masks = opts.instanceMasks && Boolean(train.meta.hasMasks);
    trainPipe = detectTrain({ size: s, mosaic: 0, scale: 0, translate: 0, hsv: [0, 0, 0], fliplr: cfg.hflip, flipud: 0, mean, std, instanceMasks: masks });
    valPipe = detectEval({ size: s, scaleup: true, mean, std, instanceMasks: false });
  } else {
    // without reduce_zero_label, label 0 is a class: a classes.txt (names of labels 1..) gets 'background' first
    const names = cfg.reduce_zero_label ? undefined : await classesWithBackground(root);
    train = await openAde20k({ root, split: r.trainSplit, reduceZeroLabel: cfg.reduce_zero_label, classes: names });
    val = r.valSplit ? await openAde20k({ root, split: r.valSplit, reduceZeroLabel: cfg.reduce_zero_label, classes: [...train.classes] }) : null;
    trainPipe = segmentTrain({ size: [s, s], baseSize: [4 * s, s], hflip: cfg.hflip, mean, std });
    valPipe = segmentEval({ size: [s, s], mean, std });
  }
  if (cfg.batch > train.samples.length) throw new Error(`batch: ${cfg.batch} is larger than the training set (${train.samples.length} images): lower batch=`);
  const trainLoader = new DataLoader({ dataset: train, pipeline: trainPipe, batchSize: cfg.batch, shuffle: true, seed: cfg.seed, dropLast: true, workers, workerKind });
  const valLoader = val ? new DataLoader({ dataset: val, pipeline: valPipe, batchSize: cfg.batch, workers, workerKind }) : null;
  return {
    train: new LoaderSource(trainLoader, train.classes),
    val: val && valLoader ? { loader: valLoader, dataset: val } : null,
    classes: train.classes,
    trainSet: train,
    describe: { root, task: cfg.task, train: { split: r.trainSplit, images: train.samples.length }, val: val ? { split: r.valSplit, images: val.samples.length } : null, workers, imgsz: s },
  };
}
