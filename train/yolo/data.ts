// The data of `ssmv train task=detect` for YOLO models: an ultralytics dataset YAML (labels/*.txt),
// a COCO instances JSON or a VOCdevkit folder, opened with datasets/ loaders; ultralytics'
// v8_transforms (mosaic, random perspective limited to scale + translate, HSV, flips) for training,
// one loader with mosaic and one without (close_mosaic), and the letterbox pipeline for validation.
// Label problems are reported as ultralytics reports them: a summary of images / backgrounds (empty
// or missing label files: image kept, no targets), "No labels found" when nothing is labelled.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { openYolo, labelPath } from '../../datasets/yolo.ts';
import { openCoco } from '../../datasets/coco.ts';
import { openVoc } from '../../datasets/voc.ts';
import { DataLoader } from '../../datasets/loader.ts';
import { detectEval, detectTrain } from '../../datasets/pipeline/spec.ts';
import type { Batch, Dataset } from '../../datasets/types.ts';
import { resolveWorkers } from '../classify-data.ts';
import type { YoloTrainConfig } from './config.ts';
import { parseWorkerKind } from '../../datasets/worker/kind.ts';

export type DataKind = 'yolo' | 'coco' | 'voc';

export interface YoloData {
  kind: DataKind;
  train: Dataset;
  val: Dataset | null;
  names: readonly string[];
  /** ultralytics-style scan summaries and warnings, one line each */
  messages: string[];
  describe: Record<string, unknown>;
}

export function dataKind(data: string): DataKind {
  if (/\.(ya?ml)$/i.test(data)) return 'yolo';
  if (/\.json$/i.test(data)) return 'coco';
  if (existsSync(data) && statSync(data).isDirectory()) return 'voc';
  throw new Error(`data: '${data}' is neither a dataset YAML (.yaml), a COCO instances JSON (.json) nor a VOCdevkit folder`);
}

/** COCO image folder of an annotation file: <root>/images/<split> or <root>/<split> (root = parent of annotations/) */
function cocoImages(annFile: string, given: string): string {
  if (given) return given;
  const m = /instances_(.+)\.json$/.exec(basename(annFile));
  const root = basename(dirname(annFile)) === 'annotations' ? dirname(dirname(annFile)) : dirname(annFile);
  const split = m ? m[1] : '';
  for (const d of [join(root, 'images', split), join(root, split)]) if (split && existsSync(d)) return d;
  throw new Error(`data: cannot find the images of '${annFile}' (looked for ${join(root, 'images', split)} and ${join(root, split)}): give train_images= / val_images=`);
}

/** verify_image_label's counts for a YOLO split: found, missing (background), empty (background) */
function scanSummary(ds: Dataset, split: string): string[] {
  const out: string[] = [];
  let missing = 0, empty = 0, boxes = 0;
  const missingSet = new Set<string>();
  for (const s of ds.samples) {
    const n = s.target.kind === 'boxes' ? s.target.classes.length : 0;
    boxes += n;
    if (n === 0) {
      if (existsSync(labelPath(s.file))) empty++;
      else {
        missing++;
        missingSet.add(s.file);
      }
    }
  }
  const bg = missing + empty;
  out.push(`${split}: ${ds.samples.length} images, ${bg} backgrounds${bg ? ` (${empty} empty label file${empty === 1 ? '' : 's'}, ${missing} without a label file)` : ''}, 0 corrupt`);
  if (!boxes) out.push(`WARNING: No labels found in ${split} (${ds.root}): training may not work correctly`);
  return out;
}

export async function openYoloData(cfg: YoloTrainConfig): Promise<YoloData> {
  if (!cfg.data) throw new Error('data: give a dataset YAML, a COCO JSON or a VOCdevkit folder (see ssmv train task=detect --help)');
  if (!existsSync(cfg.data)) throw new Error(`data: '${cfg.data}' does not exist`);
  const kind = dataKind(cfg.data);
  const messages: string[] = [];
  // the val split is opened even with val=false: the final epoch is validated anyway (as ultralytics)
  let train: Dataset, val: Dataset | null = null;
  if (kind === 'yolo') {
    train = await openYolo({ data: cfg.data, split: 'train' });
    messages.push(...scanSummary(train, 'train'));
    try {
      val = await openYolo({ data: cfg.data, split: 'val' });
      messages.push(...scanSummary(val, 'val'));
    } catch (e) {
      if (!/no 'val' entry/.test((e as Error).message)) throw e;
      messages.push(`WARNING: ${cfg.data} has no 'val' split: no validation`);
    }
  } else if (kind === 'coco') {
    train = await openCoco({ annFile: cfg.data, imageDir: cocoImages(cfg.data, cfg.train_images) });
    const valFile = cfg.val_data || cfg.data.replace(/train/g, 'val');
    if (valFile !== cfg.data && existsSync(valFile)) val = await openCoco({ annFile: valFile, imageDir: cocoImages(valFile, cfg.val_images) });
    else messages.push(`WARNING: no validation JSON (looked for ${valFile}; give val_data=): no validation`);
    const empty = train.meta.emptyImages as number;
    messages.push(`train: ${train.samples.length} images, ${empty} backgrounds, 0 corrupt`);
  } else {
    train = await openVoc({ root: cfg.data, split: cfg.train_split, skipDifficult: true });
    val = await openVoc({ root: cfg.data, split: cfg.val_split, skipDifficult: true, years: existsSync(join(cfg.data, 'VOC2007')) && cfg.val_split === 'test' ? ['2007'] : undefined });
    messages.push(`train: ${train.samples.length} images (VOC ${cfg.train_split}, difficult objects left out as ultralytics' VOC.yaml does)`);
  }
  if (val && val.classes.join('\n') !== train.classes.join('\n')) throw new Error(`data: the train and val splits have different classes (${train.classes.length} vs ${val.classes.length})`);
  return {
    kind, train, val, names: train.classes, messages,
    describe: { kind, data: cfg.data, train: train.samples.length, val: val?.samples.length ?? 0, classes: train.classes.length },
  };
}

export interface YoloLoaders {
  /** mosaic on (epochs before close_mosaic) */
  train: DataLoader;
  /** mosaic off (the last close_mosaic epochs) */
  trainClosed: DataLoader;
  val: DataLoader | null;
}

export function yoloLoaders(d: YoloData, cfg: YoloTrainConfig, cores: number): YoloLoaders {
  const workers = resolveWorkers(cfg.workers, cores);
  const workerKind = parseWorkerKind(cfg.worker_kind);
  if (cfg.batch > d.train.samples.length) throw new Error(`batch: ${cfg.batch} is larger than the training set (${d.train.samples.length} images): lower batch=`);
  const aug = { size: cfg.imgsz, scale: cfg.scale, translate: cfg.translate, hsv: [cfg.hsv_h, cfg.hsv_s, cfg.hsv_v] as [number, number, number], fliplr: cfg.fliplr, flipud: cfg.flipud };
  const common = { dataset: d.train, batchSize: cfg.batch, shuffle: true, seed: cfg.seed, dropLast: false, workers, workerKind };
  return {
    train: new DataLoader({ ...common, pipeline: detectTrain({ ...aug, mosaic: cfg.mosaic }) }),
    trainClosed: new DataLoader({ ...common, pipeline: detectTrain({ ...aug, mosaic: 0 }) }),
    // ultralytics validates at batch * 2
    val: d.val ? new DataLoader({ dataset: d.val, pipeline: detectEval({ size: cfg.imgsz, scaleup: true }), batchSize: cfg.batch * 2, workers, workerKind }) : null,
  };
}

/** Training targets of a batch: crowd and difficult boxes left out (ultralytics trains on neither). */
export function trainTargets(b: Batch): { boxes: Float32Array; classes: Int32Array; batchIndex: Int32Array } {
  const n = b.boxClasses?.length ?? 0;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!(b.iscrowd?.[i]) && !(b.difficult?.[i])) keep.push(i);
  const boxes = new Float32Array(keep.length * 4), classes = new Int32Array(keep.length), batchIndex = new Int32Array(keep.length);
  keep.forEach((i, k) => {
    boxes.set(b.boxes!.subarray(4 * i, 4 * i + 4), 4 * k);
    classes[k] = b.boxClasses![i];
    batchIndex[k] = b.boxBatchIndex![i];
  });
  return { boxes, classes, batchIndex };
}
