// Validation of a YOLO model (ultralytics/models/yolo/detect/val.py DetectionValidator, as run during
// training on the EMA model): letterboxed batches -> forward (eval mode) -> the three losses on the raw
// head outputs -> class-aware NMS (conf 0.001, iou 0.7, max_det 300, one candidate per class above
// conf) on the read-back predictions -> boxes back to source pixels (scale_boxes, clipped) ->
//   mAP50, mAP50-95: eval/coco (pycocotools' COCOeval, maxDets 100) against the annotation file
//                    (COCO data) or a ground truth built from the labels (YAML / VOC data);
//   precision, recall: ultralytics' ap_per_class at the max mean-F1 confidence (train/yolo/metrics.ts).
import { tf } from '../../core/tf.ts';
import type { DataLoader } from '../../datasets/loader.ts';
import type { Dataset } from '../../datasets/types.ts';
import { COCO } from '../../eval/coco/coco.ts';
import { evaluateCoco } from '../../eval/coco/evaluate.ts';
import type { CocoAnnotation, CocoDataset, CocoImage, CocoResult } from '../../eval/coco/types.ts';
import type { MambaYOLO } from '../../backbones/mamba-yolo.ts';
import { nonMaxSuppression, toSourceBoxes, type NmsOptions, NMS_VAL } from '../../heads/yolo/nms.ts';
import type { V8DetectionLoss } from '../../heads/yolo/loss.ts';
import { trainTargets, type DataKind } from './data.ts';
import { matchPredictions, precisionRecall } from './metrics.ts';

export interface YoloValResult {
  precision: number;
  recall: number;
  map50: number;
  map5095: number;
  /** mean [box, cls, dfl] over the batches (after the gains), when a loss was given */
  loss: [number, number, number] | null;
  /** pycocotools' 12 numbers and printed summary */
  stats: number[];
  text: string;
  detections: CocoResult[];
  images: number;
  instances: number;
  seconds: number;
}

export interface ValOptions extends Partial<NmsOptions> {
  lossFn?: V8DetectionLoss;
}

export async function validateYolo(model: MambaYOLO, loader: DataLoader, ds: Dataset, kind: DataKind, o: ValOptions = {}): Promise<YoloValResult> {
  const t0 = performance.now();
  const nms: NmsOptions = { ...NMS_VAL, ...Object.fromEntries(Object.entries(o).filter(([k, v]) => k !== 'lossFn' && v !== undefined)) };
  const nc = model.numClasses;
  const useFile = kind === 'coco' && typeof ds.meta.annFile === 'string';
  const catIds = useFile ? (ds.meta.categoryIds as number[]) : null;
  const gtImages: CocoImage[] = [], gtAnns: CocoAnnotation[] = [];
  const detections: CocoResult[] = [];
  const tp50: number[] = [], confs: number[] = [], predCls: number[] = [], targetCls: number[] = [];
  const lossSum = [0, 0, 0];
  let batches = 0, images = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of loader.epoch(0)) {
      const [B, H, W] = batch.shape;
      const x = tf.tensor4d(batch.images, batch.shape);
      const [decoded, items] = tf.tidy(() => {
        const levels = model.head.forwardLevels(model.forwardIntermediates(x));
        const sizes = levels.map((l) => [l.shape[1], l.shape[2]] as [number, number]);
        const flat = model.head.flatten(levels);
        const out = model.head.decode(flat, sizes);
        return o.lossFn ? [out, o.lossFn.compute(levels, trainTargets(batch)).items] : [out];
      }) as [tf.Tensor, tf.Tensor | undefined];
      x.dispose();
      const pred = await decoded.data(); // GPU->CPU sync: the predictions of the batch, read once for NMS
      const it = items ? await items.data() : null; // GPU->CPU sync: the three validation losses
      tf.dispose(items ? [decoded, items] : [decoded]);
      if (it) for (let k = 0; k < 3; k++) lossSum[k] += it[k];
      batches++;
      const A = decoded.shape[1] as number, no = 4 + nc;
      for (let b = 0; b < B; b++) {
        const info = batch.info[b];
        const [sh, sw] = info.sourceSize ?? [H, W];
        const map = info.affine ?? { sx: 1, sy: 1, tx: 0, ty: 0 };
        const det = nonMaxSuppression(pred.subarray(b * A * no, (b + 1) * A * no), A, nc, nms);
        toSourceBoxes(det.boxes, map, sw, sh);
        const imageId = useFile ? info.id : info.index + 1;
        // ground truth of this image in source pixels (the letterboxed labels mapped back)
        const gtBoxes: number[] = [], gtCls: number[] = [];
        const n = batch.boxClasses?.length ?? 0;
        for (let i = 0; i < n; i++) {
          if (batch.boxBatchIndex![i] !== b || batch.iscrowd?.[i] || batch.difficult?.[i]) continue;
          const src = toSourceBoxes(batch.boxes!.slice(4 * i, 4 * i + 4), map, sw, sh);
          gtBoxes.push(...src);
          gtCls.push(batch.boxClasses![i]);
        }
        if (!useFile) {
          gtImages.push({ id: imageId, width: sw, height: sh, file_name: info.file });
          gtCls.forEach((c, k) => {
            const [x1, y1, x2, y2] = gtBoxes.slice(4 * k, 4 * k + 4);
            gtAnns.push({ id: gtAnns.length + 1, image_id: imageId, category_id: c + 1, bbox: [x1, y1, x2 - x1, y2 - y1], area: (x2 - x1) * (y2 - y1), iscrowd: 0 });
          });
        }
        for (let k = 0; k < det.count; k++) {
          const [x1, y1, x2, y2] = det.boxes.subarray(4 * k, 4 * k + 4);
          const c = det.classes[k];
          detections.push({ image_id: imageId, category_id: catIds ? catIds[c] : c + 1, bbox: [x1, y1, x2 - x1, y2 - y1].map((v) => Math.round(v * 1000) / 1000), score: Math.round(det.scores[k] * 1e5) / 1e5 });
        }
        const correct = matchPredictions(det.boxes, det.classes, gtBoxes, gtCls);
        for (let k = 0; k < det.count; k++) {
          tp50.push(correct[0][k]);
          confs.push(det.scores[k]);
          predCls.push(det.classes[k]);
        }
        targetCls.push(...gtCls);
        images++;
      }
    }
  } finally {
    if (wasTraining) model.train();
  }
  const gt: COCO | CocoDataset = useFile
    ? new COCO(ds.meta.annFile as string)
    : { images: gtImages, annotations: gtAnns, categories: Array.from({ length: nc }, (_, c) => ({ id: c + 1, name: model.names[c] ?? String(c) })) };
  const warnings: string[] = [];
  const coco = evaluateCoco(gt, detections, 'bbox', { allowEmpty: true, onWarning: (m) => warnings.push(m) });
  const pr = precisionRecall(tp50, confs, predCls, targetCls);
  return {
    precision: pr.precision, recall: pr.recall, map50: Math.max(0, coco.stats[1]), map5095: Math.max(0, coco.stats[0]),
    loss: o.lossFn && batches ? [lossSum[0] / batches, lossSum[1] / batches, lossSum[2] / batches] : null,
    stats: coco.stats, text: coco.text, detections, images, instances: targetCls.length, seconds: (performance.now() - t0) / 1000,
  };
}
