// The YOLOv8 detection loss (ultralytics/utils/loss.py `v8DetectionLoss`, `BboxLoss`):
//   cls = sum(BCEWithLogits(pred_scores, target_scores)) / tss,   tss = max(sum(target_scores), 1)
//   box = sum_fg (1 - CIoU(pred, target)) * w / tss,              w = sum of the anchor's target scores
//   dfl = sum_fg mean_sides(DFL(pred_dist, ltrb target)) * w / tss
// with the task-aligned assignment (assigner.ts) and gains box 7.5, cls 0.5, dfl 1.5; the returned
// loss is (box + cls + dfl) * batch_size as ultralytics back-propagates it. Boxes in the loss are in
// grid units (pixels / stride); the assigner sees pixels.
import { tf, type Tensor } from '../../core/tf.ts';
import type { Detect } from './detect.ts';
import { bbox2dist, bboxIou, dist2bbox, stopGradient } from './boxes.ts';
import { assignNoGrad, YOLOV8_ASSIGNER, type AssignerOptions } from './assigner.ts';

export interface LossGains {
  box: number;
  cls: number;
  dfl: number;
}

export const YOLOV8_GAINS: LossGains = { box: 7.5, cls: 0.5, dfl: 1.5 };

/** Ground truth of a batch in ultralytics' flat layout (datasets/ Batch): boxes xyxy in input pixels. */
export interface FlatTargets {
  /** (N*4) x1 y1 x2 y2 */
  boxes: ArrayLike<number>;
  /** (N) */
  classes: ArrayLike<number>;
  /** (N) image of each box */
  batchIndex: ArrayLike<number>;
}

export interface PackedTargets {
  /** max boxes of one image */
  M: number;
  /** (B, M, 4) */
  boxes: Float32Array;
  /** (B, M) */
  labels: Int32Array;
  /** (B, M): 1 where the slot holds a box whose coordinates do not sum to 0 (ultralytics' mask_gt) */
  mask: Float32Array;
}

/** v8DetectionLoss.preprocess: per-image slots padded to the largest count (host arrays, no tensors) */
export function packTargets(t: FlatTargets, batchSize: number): PackedTargets {
  const n = t.classes.length;
  const counts = new Int32Array(batchSize);
  for (let i = 0; i < n; i++) {
    const b = t.batchIndex[i];
    if (!(b >= 0 && b < batchSize)) throw new Error(`packTargets: box ${i} belongs to image ${b}, the batch has ${batchSize}`);
    counts[b]++;
  }
  const M = n ? Math.max(...counts) : 0;
  const boxes = new Float32Array(batchSize * M * 4), labels = new Int32Array(batchSize * M), mask = new Float32Array(batchSize * M);
  const fill = new Int32Array(batchSize);
  for (let i = 0; i < n; i++) {
    const b = t.batchIndex[i];
    const slot = b * M + fill[b]++;
    let s = 0;
    for (let k = 0; k < 4; k++) {
      boxes[slot * 4 + k] = t.boxes[i * 4 + k];
      s += t.boxes[i * 4 + k];
    }
    labels[slot] = t.classes[i];
    mask[slot] = s > 0 ? 1 : 0;
  }
  return { M, boxes, labels, mask };
}

/**
 * BboxLoss._df_loss: per side, cross entropy to floor(t) weighted floor(t)+1 - t plus cross entropy to
 * floor(t)+1 weighted t - floor(t) (both weights are relu(1 - |k - t|) over the bins k), mean over the
 * four sides. predDist (..., 4, R) logits, ltrb (..., 4) in [0, R - 1.01] -> (...).
 */
export function dflLoss(predDist: Tensor, ltrb: Tensor): Tensor {
  return tf.tidy(() => {
    const R = predDist.shape[predDist.rank - 1] as number;
    const bins = tf.range(0, R, 1, 'float32');
    const w = tf.relu(tf.sub(1, tf.abs(tf.sub(bins, ltrb.expandDims(-1))))); // (..., 4, R)
    return tf.mean(tf.neg(tf.sum(tf.mul(w, tf.logSoftmax(predDist)), -1)), -1);
  });
}

export interface LossResult {
  /** scalar: (box + cls + dfl) * batch size, differentiable */
  loss: Tensor;
  /** (3) [box, cls, dfl] after the gains, per batch (ultralytics' loss_items) */
  items: Tensor;
  /** positive anchors in the batch (a tensor: read it when logging) */
  numFg: Tensor;
}

export class V8DetectionLoss {
  constructor(readonly head: Detect, readonly gains: LossGains = YOLOV8_GAINS, readonly assigner: AssignerOptions = YOLOV8_ASSIGNER) {}

  /** DFL expectation with the fixed projection 0..reg_max-1: (B, A, 4 reg_max) -> (B, A, 4) */
  private expect(predDist: Tensor): Tensor {
    const R = this.head.regMax;
    const [B, A] = predDist.shape;
    const proj = tf.range(0, R, 1, 'float32').reshape([R, 1]);
    return tf.matMul(tf.softmax(predDist.reshape([B * A * 4, R])), proj).reshape([B, A, 4]);
  }

  /**
   * levels: the head's training outputs, per level (B, H_i, W_i, 4 reg_max + nc).
   * Everything stays on the device: no GPU->CPU sync.
   */
  compute(levels: Tensor[], targets: FlatTargets): LossResult {
    const head = this.head;
    const R = head.regMax, nc = head.nc;
    const B = levels[0].shape[0];
    const sizes = levels.map((l) => [l.shape[1], l.shape[2]] as [number, number]);
    const packed = packTargets(targets, B);
    return tf.tidy(() => {
      const { points, strides } = head.anchors(sizes); // (A, 2) grid units, (A, 1)
      const flat = head.flatten(levels);
      const A = flat.shape[1] as number;
      const [predDist, predScores] = tf.split(flat, [4 * R, nc], 2);
      const predBboxes = dist2bbox(this.expect(predDist), points); // (B, A, 4) xyxy, grid units
      const M = packed.M;
      const gtBboxes = tf.tensor3d(packed.boxes, [B, M, 4]);
      const { targetBboxes, targetScores, fg } = assignNoGrad({
        pdScores: stopGradient(tf.sigmoid(predScores)),
        pdBboxes: stopGradient(tf.mul(predBboxes, strides)),
        anchors: tf.mul(points, strides),
        gtLabels: tf.tensor2d(Float32Array.from(packed.labels), [B, M]),
        gtBboxes,
        maskGt: tf.tensor2d(packed.mask, [B, M]),
      }, this.assigner);
      const tss = tf.maximum(tf.sum(targetScores), 1);
      // BCEWithLogits: max(x, 0) - x t + log(1 + exp(-|x|))
      const bce = tf.add(tf.sub(tf.relu(predScores), tf.mul(predScores, targetScores)), tf.log1p(tf.exp(tf.neg(tf.abs(predScores)))));
      const lcls = tf.div(tf.sum(bce), tss);
      const target = tf.div(targetBboxes, strides); // grid units
      const weight = tf.mul(tf.sum(targetScores, 2), fg); // (B, A), zero off the positives
      const iou = bboxIou(predBboxes, target, { ciou: true });
      const lbox = tf.div(tf.sum(tf.mul(tf.sub(1, iou), weight)), tss);
      const ce = dflLoss(predDist.reshape([B, A, 4, R]), bbox2dist(points, target, R - 1)); // (B, A)
      const ldfl = tf.div(tf.sum(tf.mul(ce, weight)), tss);
      const items = tf.stack([tf.mul(lbox, this.gains.box), tf.mul(lcls, this.gains.cls), tf.mul(ldfl, this.gains.dfl)]);
      const loss = tf.mul(tf.sum(items), B);
      return { loss, items: stopGradient(items), numFg: tf.sum(fg) };
    });
  }
}
