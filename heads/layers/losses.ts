// The losses of Mask R-CNN and UperNet as mmdet/mmseg reduce them, on tensors whose per-element
// weights and targets were prepared on the host:
//   weighted sums divided by an avg_factor (mmdet weight_reduce_loss with avg_factor: sum / avg_factor)
//   sigmoid BCE with logits (CrossEntropyLoss(use_sigmoid=True)): max(x, 0) - x*t + log(1 + exp(-|x|))
//   softmax CE (CrossEntropyLoss): -log_softmax(x)[label]; an out-of-range label (ignore) adds 0
import { tf, type Tensor } from '../../core/tf.ts';

/** elementwise BCE with logits (x and t of one shape) */
export function bceWithLogits(x: Tensor, t: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.softplus(tf.neg(tf.abs(x)))));
}

/** per-row softmax CE: logits (n, K), labels (n) int32; labels outside [0, K) give 0 (ignored). */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return tf.tidy(() => {
    const K = logits.shape[logits.rank - 1];
    const logp = tf.logSoftmax(tf.reshape(logits, [-1, K]) as tf.Tensor2D);
    return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(labels, [-1]) as tf.Tensor1D, K)), -1));
  });
}

/** sum(loss * weight) / max(avgFactor, eps) with a host-side weight array of loss's size. */
export function weightedSum(loss: Tensor, weight: Float32Array | null, avgFactor: number): Tensor {
  return tf.tidy(() => {
    const w = weight ? tf.mul(loss, tf.tensor(weight, loss.shape)) : loss;
    return tf.div(tf.sum(w), Math.max(avgFactor, Number.EPSILON));
  });
}
