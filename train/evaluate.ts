// Validation as timm/VMamba `validate`: mean cross-entropy (no smoothing), top-1 and top-5 over
// the whole set. Per-batch counts stay on the device; one read at the end.
import { tf, type Tensor } from '../core/tf.ts';
import type { Module } from '../core/nn/module.ts';
import type { BatchSource } from './data.ts';
import { evalCounts } from './loss.ts';

export interface Classifier extends Module {
  /** x (B, H, W, 3) NHWC -> logits (B, numClasses) */
  forward(x: Tensor): Tensor;
}

export interface EvalResult {
  /** mean cross-entropy */
  loss: number;
  /** fractions in [0, 1] */
  top1: number;
  top5: number;
  images: number;
  seconds: number;
}

export async function evaluate(model: Classifier, source: BatchSource, { onBatch }: { onBatch?: (done: number, total: number) => void } = {}): Promise<EvalResult> {
  const t0 = performance.now();
  const wasTraining = model.training;
  model.eval();
  let sums: Tensor = tf.zeros([3]); // [loss sum, top-1 hits, top-5 hits]
  let images = 0;
  let done = 0;
  try {
    for await (const batch of source.batches(0)) {
      if (!batch.labels) throw new Error('evaluate: the batch has no labels');
      const next = tf.tidy(() => {
        const x = tf.tensor4d(batch.images, batch.shape);
        const y = tf.tensor1d(batch.labels!, 'int32');
        return tf.add(sums, evalCounts(model.forward(x), y));
      });
      sums.dispose();
      sums = next;
      images += batch.shape[0];
      onBatch?.(++done, source.batchesPerEpoch);
    }
    const [lossSum, top1, top5] = await sums.data(); // GPU->CPU sync: once per evaluation
    const n = Math.max(1, images);
    return { loss: lossSum / n, top1: top1 / n, top5: top5 / n, images, seconds: (performance.now() - t0) / 1000 };
  } finally {
    sums.dispose();
    model.train(wasTraining);
  }
}
