// The segmentation task of the trainer (TaskHooks): UperNet's loss on a batch's label maps (255 =
// ignore), the loss parts averaged per epoch, and validation as mmseg's IoUMetric (eval/seg-metrics.ts)
// at the pipeline's output size: mIoU, mAcc, aAcc as fractions.
import { tf, type Tensor } from '../core/tf.ts';
import type { Batch, Dataset } from '../datasets/types.ts';
import type { DataLoader } from '../datasets/loader.ts';
import type { UperNet } from '../heads/upernet.ts';
import { SegMetric, type SegMetricResult } from '../eval/seg-metrics.ts';
import type { EpochMetrics, TaskHooks } from './trainer.ts';
import { LossParts } from './loss-parts.ts';

function labelsOf(batch: Batch): Tensor {
  if (!batch.masks) throw new Error('segmentation batch has no label maps (masks)');
  const [B, H, W] = batch.shape;
  return tf.tensor3d(Int32Array.from(batch.masks), [B, H, W], 'int32');
}

/** mIoU of the model over a loader (labels already reduced: 255 ignore). */
export async function evaluateSegmentor(model: UperNet, loader: DataLoader, classes: readonly string[]): Promise<SegMetricResult> {
  const wasTraining = model.training;
  model.eval();
  const metric = new SegMetric({ numClasses: model.cfg.num_classes, ignoreIndex: model.cfg.ignore_index, classNames: classes });
  try {
    for await (const batch of loader.epoch(0)) {
      const x = tf.tensor4d(batch.images, batch.shape);
      const pred = model.predict(x);
      x.dispose();
      const p = await pred.data(); // GPU->CPU sync: the batch's predicted label maps
      pred.dispose();
      metric.update(p, batch.masks!);
    }
  } finally {
    model.train(wasTraining);
  }
  return metric.compute();
}

export class SegmentTask implements TaskHooks {
  readonly parts = new LossParts();
  lastEval: SegMetricResult | null = null;

  constructor(readonly model: UperNet, readonly val: { loader: DataLoader; dataset: Dataset } | null, readonly classes: readonly string[]) {}

  loss(batch: Batch): tf.Scalar {
    const x = tf.tensor4d(batch.images, batch.shape);
    const { total, parts } = this.model.loss(x, labelsOf(batch));
    this.parts.add(parts);
    return total;
  }

  async validate(): Promise<EpochMetrics> {
    const m: EpochMetrics = await this.parts.epochMeans('train/'); // GPU->CPU sync: the epoch's loss parts
    if (!this.val) return m;
    const r = await evaluateSegmentor(this.model, this.val.loader, this.classes);
    this.lastEval = r;
    Object.assign(m, { 'metrics/mIoU': r.mIoU, 'metrics/mAcc': r.mAcc, 'metrics/aAcc': r.aAcc });
    return m;
  }

  fitness(m: EpochMetrics): number {
    return m['metrics/mIoU'] ?? -(m['train/loss'] ?? Infinity);
  }
}
