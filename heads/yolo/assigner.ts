// TaskAlignedAssigner (TOOD, Feng et al. 2021) as YOLOv8 runs it (ultralytics/utils/tal.py, topk 10,
// alpha 0.5, beta 6.0, eps 1e-9), on the device with no GPU->CPU sync. For GT g and anchor a:
//   candidate       : the anchor centre lies strictly inside g (min distance to a side > eps)
//   align(g, a)     : s^alpha * IoU^beta, s = predicted score of g's class, IoU = CIoU clamped at 0
//   positive        : candidate and among the topk align values of g (torch.topk over all anchors)
//   several GTs     : an anchor claimed by more than one keeps the GT of max IoU (argmax over all GTs)
//   targets         : the assigned GT's box and one-hot class, scaled by
//                     max over g of align(g, a) * maxIoU(g) / (maxAlign(g) + eps) (over g's positives)
// Ties in the top-k (equal align values, mostly zeros) may pick other anchors than torch's kernel;
// a zero-align anchor picked that way carries zero target score, so the loss only differs when such
// an anchor is also claimed by another GT.
import { tf, type Tensor } from '../../core/tf.ts';
import { bboxIou, type CustomGradientFunc } from './boxes.ts';

export interface AssignerOptions {
  topk: number;
  alpha: number;
  beta: number;
  eps: number;
}

export const YOLOV8_ASSIGNER: AssignerOptions = { topk: 10, alpha: 0.5, beta: 6.0, eps: 1e-9 };

export interface AssignerInputs {
  /** (B, A, C) predicted class probabilities (sigmoid) */
  pdScores: Tensor;
  /** (B, A, 4) predicted boxes, xyxy, pixels */
  pdBboxes: Tensor;
  /** (A, 2) anchor centres, pixels */
  anchors: Tensor;
  /** (B, M) float32 class of each GT slot (0 in padding slots) */
  gtLabels: Tensor;
  /** (B, M, 4) xyxy pixels (zeros in padding slots) */
  gtBboxes: Tensor;
  /** (B, M) 1 for real GTs, 0 for padding */
  maskGt: Tensor;
}

export interface Assignment {
  /** (B, A, 4) assigned GT box (xyxy pixels); meaningful where fg */
  targetBboxes: Tensor;
  /** (B, A, C) normalised alignment at the assigned class, 0 elsewhere */
  targetScores: Tensor;
  /** (B, A) 1 for positive anchors */
  fg: Tensor;
  /** (B, A) int32 index of the assigned GT slot (0 where none); assign() only */
  targetGtIdx?: Tensor;
}

/**
 * float 0/1 from a condition. Not tf.cast: on webgpu a cast of int32/bool to float32 only relabels the
 * buffer (tfjs-backend-webgpu Cast -> identity), and a Transpose of such a tensor fails WGSL validation
 * (an i32 buffer bound as f32) and silently yields zeros.
 */
function mask01(cond: Tensor): Tensor {
  return tf.where(cond, tf.fill(cond.shape, 1, 'float32'), tf.fill(cond.shape, 0, 'float32'));
}

/** float one-hot (..., depth) of class values (float32) or indices (int32, compared as int32) */
function oneHotF(values: Tensor, depth: number): Tensor {
  return mask01(tf.equal(values.expandDims(-1), tf.range(0, depth, 1, values.dtype === 'int32' ? 'int32' : 'float32')));
}

function safePow(x: Tensor, p: number): Tensor {
  if (p === 1) return x;
  if (p === 0.5) return tf.sqrt(x);
  if (Number.isInteger(p) && p > 0) {
    let y = x;
    for (let i = 1; i < p; i++) y = tf.mul(y, x);
    return y;
  }
  return tf.where(tf.greater(x, 0), tf.pow(tf.maximum(x, 1e-30), p), tf.zerosLike(x));
}

/** The assignment; call it on values that need no gradient (see `assignNoGrad`). */
export function assign(inp: AssignerInputs, o: AssignerOptions = YOLOV8_ASSIGNER): Assignment {
  return tf.tidy(() => {
    const [B, A, C] = inp.pdScores.shape as [number, number, number];
    const M = inp.gtBboxes.shape[1] as number;
    if (M === 0) {
      return { targetBboxes: tf.zeros([B, A, 4]), targetScores: tf.zeros([B, A, C]), fg: tf.zeros([B, A]), targetGtIdx: tf.zeros([B, A], 'int32') };
    }
    const maskGt = inp.maskGt.reshape([B, M, 1]);
    // candidates: (B, M, A)
    const [gx1, gy1, gx2, gy2] = tf.split(inp.gtBboxes, 4, 2); // each (B, M, 1)
    const [ax, ay] = tf.split(inp.anchors, 2, 1).map((t) => t.reshape([1, 1, A]));
    const minDelta = tf.minimum(tf.minimum(tf.sub(ax, gx1), tf.sub(ay, gy1)), tf.minimum(tf.sub(gx2, ax), tf.sub(gy2, ay)));
    const maskInGts = mask01(tf.greater(minDelta, o.eps));
    const mask = tf.mul(maskInGts, maskGt);
    // score of each GT's class at every anchor: one-hot (B, M, C) x (B, C, A)
    const gtOneHot = oneHotF(inp.gtLabels, C);
    const bboxScores = tf.mul(tf.matMul(gtOneHot, inp.pdScores, false, true), mask);
    const overlaps = tf.mul(tf.relu(bboxIou(inp.gtBboxes.expandDims(2), inp.pdBboxes.expandDims(1), { ciou: true })), mask);
    const align = tf.mul(safePow(bboxScores, o.alpha), safePow(overlaps, o.beta));
    // top-k per GT over all anchors -> 0/1 mask (B, M, A); padding GTs select nothing
    const k = Math.min(o.topk, A);
    const { indices } = tf.topk(align, k);
    const flat = tf.add(tf.mul(tf.range(0, B * M, 1, 'int32'), tf.scalar(A, 'int32')).reshape([B, M, 1]), indices).reshape([B * M * k, 1]);
    const count = tf.scatterND(flat, tf.ones([B * M * k], 'float32'), [B * M * A]).reshape([B, M, A]);
    const maskTopk = mask01(tf.equal(count, 1));
    let maskPos = tf.mul(tf.mul(maskTopk, maskInGts), maskGt);
    // an anchor claimed by several GTs keeps the one of max overlap
    const multi = tf.greater(tf.sum(maskPos, 1, true), 1); // (B, 1, A)
    const isMax = oneHotF(tf.argMax(overlaps.transpose([0, 2, 1]), 2), M).transpose([0, 2, 1]); // (B, M, A)
    maskPos = tf.where(tf.broadcastTo(multi, [B, M, A]), isMax, maskPos);
    const fg = tf.sum(maskPos, 1); // (B, A)
    const targetGtIdx = tf.argMax(maskPos, 1); // (B, A) int32
    // gather the assigned GT by a one-hot product (exact: one term)
    const pick = oneHotF(targetGtIdx, M); // (B, A, M)
    const targetBboxes = tf.matMul(pick, inp.gtBboxes); // (B, A, 4)
    const targetLabels = tf.round(tf.matMul(pick, inp.gtLabels.reshape([B, M, 1]))).reshape([B, A]);
    let targetScores = tf.mul(oneHotF(targetLabels, C), fg.expandDims(2));
    // normalise by the best alignment and best IoU of each GT among its positives
    const alignPos = tf.mul(align, maskPos);
    const posAlignMax = tf.max(alignPos, 2, true); // (B, M, 1)
    const posOverlapsMax = tf.max(tf.mul(overlaps, maskPos), 2, true);
    const norm = tf.max(tf.div(tf.mul(alignPos, posOverlapsMax), tf.add(posAlignMax, o.eps)), 1); // (B, A)
    targetScores = tf.mul(targetScores, norm.expandDims(2));
    return { targetBboxes, targetScores, fg, targetGtIdx };
  });
}

/**
 * The assignment inside a graph being differentiated: its ops run outside the gradient tape (a
 * custom-gradient node whose gradient is zero), as the @torch.no_grad() assigner. The topk/scatter
 * kernels have no gradients, so they must not be recorded.
 */
export function assignNoGrad(inp: AssignerInputs, o: AssignerOptions = YOLOV8_ASSIGNER): Assignment {
  const [B, A, C] = inp.pdScores.shape as [number, number, number];
  const f = tf.customGrad(((scores: Tensor, boxes: Tensor) => {
    const a = assign({ ...inp, pdScores: scores, pdBboxes: boxes }, o);
    const packed = tf.concat([a.targetBboxes, a.targetScores, a.fg.expandDims(2)], 2);
    tf.dispose([a.targetBboxes, a.targetScores, a.fg, a.targetGtIdx!]);
    return { value: packed, gradFunc: () => [tf.zerosLike(scores), tf.zerosLike(boxes)] };
  }) as unknown as CustomGradientFunc) as (s: Tensor, b: Tensor) => Tensor;
  const packed = f(inp.pdScores, inp.pdBboxes);
  // (intermediates are left to the caller's tidy: they may be recorded on its gradient tape)
  const [targetBboxes, targetScores, fg] = tf.split(packed, [4, C, 1], 2);
  return { targetBboxes, targetScores, fg: fg.reshape([B, A]) };
}
