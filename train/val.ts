// `ssmv val`: top-1, top-5 and mean cross-entropy of a weights file on an ImageFolder split, through
// timm's eval pipeline (resize to imgsz / crop_pct, centre crop). Class indices follow the train
// split's folders when there is one (the labels the model was trained with).
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setBackend, type BackendInfo } from '../core/backend.ts';
import { openImageFolder } from '../datasets/imagefolder.ts';
import { DataLoader } from '../datasets/loader.ts';
import { classifyEval } from '../datasets/pipeline/spec.ts';
import { createModel, backbones } from '../backbones/index.ts';
import { evaluate, type Classifier } from './evaluate.ts';
import { LoaderSource, resolveWorkers } from './classify-data.ts';
import { loadWeightsStrict } from './classify-deps.ts';

export interface ValOptions {
  model: string;
  weights: string;
  data: string;
  split: string;
  batch: number;
  imgsz: number;
  crop_pct: number;
  interpolation: 'bicubic' | 'bilinear';
  workers: number;
  backend: string;
  /** load the EMA weights of a .pth that holds both (model_ema) */
  ema: boolean;
}

export interface ValResult {
  model: string;
  weights: string;
  data: string;
  split: string;
  images: number;
  classes: number;
  /** percentages, as timm's validate.py */
  top1: number;
  top5: number;
  loss: number;
  seconds: number;
  backend: string;
}

export async function validateClassifier(o: ValOptions): Promise<ValResult & { backendInfo: BackendInfo }> {
  if (!o.model) throw new Error('model: give the model name (ssmv info lists them)');
  backbones.get(o.model.split('.')[0]); // unknown model: "did you mean"
  if (!o.weights) throw new Error('weights: give the weights file (.safetensors or .pth), e.g. runs/train/best.safetensors');
  if (!existsSync(o.weights)) throw new Error(`weights: file '${o.weights}' does not exist`);
  if (!o.data) throw new Error('data: give the ImageFolder root (holds <split>/<class>/*.jpg)');
  if (!existsSync(o.data) || !statSync(o.data).isDirectory()) throw new Error(`data: folder '${o.data}' does not exist`);
  const splitDir = join(o.data, o.split);
  if (!existsSync(splitDir)) throw new Error(`split: folder '${splitDir}' does not exist`);
  const backendInfo = await setBackend(o.backend);
  // the label order of training: the train split's class folders when present
  let classes: string[] | undefined;
  if (o.split !== 'train' && existsSync(join(o.data, 'train'))) classes = [...(await openImageFolder({ root: o.data, split: 'train' })).classes];
  const ds = await openImageFolder({ root: o.data, split: o.split, classes });
  const model = createModel(o.model, { num_classes: ds.classes.length }) as unknown as Classifier;
  try {
    try {
      loadWeightsStrict(model, o.weights, o.model, { ema: o.ema });
    } catch (e) {
      throw new Error(`${(e as Error).message} (the data has ${ds.classes.length} classes)`);
    }
    const loader = new DataLoader({ dataset: ds, pipeline: classifyEval({ size: o.imgsz, cropPct: o.crop_pct, interpolation: o.interpolation }), batchSize: o.batch, workers: resolveWorkers(o.workers, availableParallelism()) });
    const source = new LoaderSource(loader, ds.classes);
    try {
      const r = await evaluate(model, source);
      return {
        model: o.model, weights: o.weights, data: o.data, split: o.split, images: r.images, classes: ds.classes.length,
        top1: round(r.top1 * 100), top5: round(r.top5 * 100), loss: round(r.loss), seconds: round(r.seconds),
        backend: backendInfo.backend, backendInfo,
      };
    } finally {
      await source.close();
    }
  } finally {
    model.dispose();
  }
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

export function formatVal(r: ValResult): string {
  return [
    `model    ${r.model}  (${r.weights})`,
    `data     ${join(r.data, r.split)}: ${r.images} images, ${r.classes} classes`,
    `top-1    ${r.top1.toFixed(2)} %`,
    `top-5    ${r.top5.toFixed(2)} %`,
    `loss     ${r.loss.toFixed(4)}`,
    `time     ${r.seconds.toFixed(1)} s (${(r.images / Math.max(1e-9, r.seconds)).toFixed(1)} img/s on ${r.backend})`,
  ].join('\n') + '\n';
}
