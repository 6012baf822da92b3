// Batch -> tf tensors, for the trainer (kept apart from the loader so worker threads never load tfjs).
import { tf, type Tensor } from '../core/tf.ts';
import type { Batch } from './types.ts';

export interface BatchTensors {
  /** (B, H, W, 3) float32 */
  images: Tensor;
  /** (B) int32 */
  labels?: Tensor;
  /** (B, C) float32 soft targets (Mixup/CutMix/smoothing) */
  targets?: Tensor;
  /** (M, 4) float32 xyxy output pixels */
  boxes?: Tensor;
  /** (M) int32 */
  boxClasses?: Tensor;
  /** (M) int32 image index of each box */
  boxBatchIndex?: Tensor;
  /** (B, H, W) int32 class indices (ignore index kept) */
  masks?: Tensor;
  /** (M, H, W) float32 0/1 */
  instanceMasks?: Tensor;
}

/** One tensor per field; the caller disposes them (tf.dispose(Object.values(t))). */
export function toTensors(b: Batch): BatchTensors {
  const [B, H, W] = b.shape;
  const out: BatchTensors = { images: tf.tensor4d(b.images, b.shape, 'float32') };
  if (b.labels) out.labels = tf.tensor1d(b.labels, 'int32');
  if (b.targets) out.targets = tf.tensor2d(b.targets, [B, b.numClasses ?? b.targets.length / B], 'float32');
  if (b.boxes) {
    const m = b.boxClasses!.length;
    out.boxes = tf.tensor2d(b.boxes, [m, 4], 'float32');
    out.boxClasses = tf.tensor1d(b.boxClasses!, 'int32');
    out.boxBatchIndex = tf.tensor1d(b.boxBatchIndex!, 'int32');
  }
  // tfjs has no uint8 dtype: masks travel as int32 / float32
  if (b.masks) out.masks = tf.tensor3d(Int32Array.from(b.masks), [B, H, W], 'int32');
  if (b.instanceMasks) out.instanceMasks = tf.tensor3d(Float32Array.from(b.instanceMasks), [b.boxClasses!.length, H, W], 'float32');
  return out;
}
