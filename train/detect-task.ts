// The detection task of the trainer (TaskHooks): Mask R-CNN's two passes per batch (proposals and
// targets, then the taped loss), the loss parts averaged per epoch, and validation with the project's
// COCO evaluator (bbox and segm AP, pycocotools' numbers) on the val annotation file: detections are
// mapped back to source-image pixels through each image's letterbox map, masks pasted at the source
// size (mmdet _do_paste_mask) and RLE-encoded.
import { tf, type Tensor } from '../core/tf.ts';
import type { Batch, Dataset } from '../datasets/types.ts';
import type { DataLoader } from '../datasets/loader.ts';
import type { MaskRCNN, DetTargets } from '../heads/mask_rcnn.ts';
import { gtFromBatch } from '../heads/det/gt.ts';
import { pasteMask } from '../heads/det/mask-paste.ts';
import { evaluateCoco } from '../eval/coco/evaluate.ts';
import { rleEncode, rleToJson } from '../eval/coco/rle.ts';
import type { EpochMetrics, TaskHooks } from './trainer.ts';
import { LossParts } from './loss-parts.ts';

export interface CocoDetection {
  image_id: number | string;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
  segmentation?: { size: [number, number]; counts: string };
}

/** One batch's detections as COCO results in source-image pixels. */
export async function cocoResults(model: MaskRCNN, batch: Batch, categoryIds: readonly number[], withMasks: boolean): Promise<CocoDetection[]> {
  const x = tf.tensor4d(batch.images, batch.shape);
  let dets;
  try {
    dets = await model.predict(x, { masks: withMasks });
  } finally {
    x.dispose();
  }
  const S = model.roi_head.maskSize, thr = model.cfg.roi.mask_thr;
  const out: CocoDetection[] = [];
  dets.forEach((d, b) => {
    const info = batch.info[b];
    const [h, w] = info.sourceSize ?? [batch.shape[1], batch.shape[2]];
    const a = info.affine ?? { sx: 1, sy: 1, tx: 0, ty: 0 };
    for (let i = 0; i < d.labels.length; i++) {
      const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
      const x1 = clip((d.boxes[4 * i] - a.tx) / a.sx, w), y1 = clip((d.boxes[4 * i + 1] - a.ty) / a.sy, h);
      const x2 = clip((d.boxes[4 * i + 2] - a.tx) / a.sx, w), y2 = clip((d.boxes[4 * i + 3] - a.ty) / a.sy, h);
      const r: CocoDetection = { image_id: info.id, category_id: categoryIds[d.labels[i]], bbox: [x1, y1, x2 - x1, y2 - y1], score: d.scores[i] };
      if (withMasks && d.masks) {
        const m = pasteMask(d.masks.subarray(i * S * S, (i + 1) * S * S), S, [x1, y1, x2, y2], h, w, thr);
        r.segmentation = rleToJson(rleEncode(m, h, w)) as CocoDetection['segmentation'];
      }
      out.push(r);
    }
  });
  return out;
}

export interface DetectEval {
  bbox: number[];
  segm: number[] | null;
  detections: number;
  warnings: string[];
}

/** Runs the model over a loader and scores it with COCOeval (bbox, and segm when masks are predicted). */
export async function evaluateDetector(model: MaskRCNN, loader: DataLoader, dataset: Dataset, withMasks: boolean): Promise<DetectEval> {
  const wasTraining = model.training;
  model.eval();
  const results: CocoDetection[] = [];
  const catIds = dataset.meta.categoryIds as number[];
  try {
    for await (const batch of loader.epoch(0)) results.push(...(await cocoResults(model, batch, catIds, withMasks)));
  } finally {
    model.train(wasTraining);
  }
  const warnings: string[] = [];
  const annFile = dataset.meta.annFile as string;
  const opts = { allowEmpty: true, onWarning: (m: string) => warnings.push(m) };
  const bbox = evaluateCoco(annFile, results, 'bbox', opts).stats;
  const segm = withMasks ? evaluateCoco(annFile, results, 'segm', opts).stats : null;
  return { bbox, segm, detections: results.length, warnings };
}

export class DetectTask implements TaskHooks {
  readonly parts = new LossParts();
  /** gt boxes dropped (crowd, degenerate) since the start */
  dropped = 0;
  lastEval: DetectEval | null = null;

  constructor(readonly model: MaskRCNN, readonly val: { loader: DataLoader; dataset: Dataset } | null, readonly withMasks: boolean) {}

  async prepare(batch: Batch): Promise<DetTargets> {
    const { gts, dropped } = gtFromBatch(batch);
    this.dropped += dropped;
    if (!this.withMasks) for (const g of gts) g.masks = null;
    const x = tf.tensor4d(batch.images, batch.shape);
    try {
      return await this.model.prepare(x, gts);
    } finally {
      x.dispose();
    }
  }

  loss(batch: Batch, prepared: unknown): tf.Scalar {
    const x = tf.tensor4d(batch.images, batch.shape);
    const { total, parts } = this.model.loss(x, prepared as DetTargets);
    this.parts.add(parts as Record<string, Tensor>);
    return total;
  }

  async validate(): Promise<EpochMetrics> {
    const m: EpochMetrics = await this.parts.epochMeans('train/'); // GPU->CPU sync: the epoch's loss parts
    if (!this.val) return m;
    const r = await evaluateDetector(this.model, this.val.loader, this.val.dataset, this.withMasks);
    this.lastEval = r;
    const names = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'];
    names.forEach((n, i) => { m[`metrics/bbox_${n}`] = r.bbox[i]; });
    if (r.segm) names.forEach((n, i) => { m[`metrics/segm_${n}`] = r.segm![i]; });
    m['val/detections'] = r.detections;
    return m;
  }

  fitness(m: EpochMetrics): number {
    return m['metrics/bbox_mAP'] ?? -(m['train/loss'] ?? Infinity);
  }
}
