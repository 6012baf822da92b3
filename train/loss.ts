// Classification losses as timm defines them (timm/loss/cross_entropy.py), on logits (B, C):
//   crossEntropy(logits, labels, smoothing) = (1 - s) * nll + s * mean_c(-log p_c)
//       (LabelSmoothingCrossEntropy; s = 0 is nn.CrossEntropyLoss)
//   softTargetCrossEntropy(logits, targets) = mean_b sum_c -t_bc log p_bc   (SoftTargetCrossEntropy,
//       used with Mixup/CutMix, whose soft targets already carry the label smoothing)
import { tf, type Tensor } from '../core/tf.ts';

/** labels: (B) int32 class indices */
export function crossEntropy(logits: Tensor, labels: Tensor, smoothing = 0): Tensor {
  return tf.tidy(() => {
    const C = logits.shape[logits.rank - 1];
    const logp = tf.logSoftmax(logits as tf.Tensor2D, -1);
    const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(labels.toInt() as tf.Tensor1D, C)), -1)); // (B)
    if (smoothing === 0) return tf.mean(nll);
    const smooth = tf.neg(tf.mean(logp, -1)); // (B)
    return tf.mean(tf.add(tf.mul(nll, 1 - smoothing), tf.mul(smooth, smoothing)));
  });
}

/** targets: (B, C) probabilities (rows sum to 1) */
export function softTargetCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return tf.tidy(() => tf.mean(tf.sum(tf.mul(tf.neg(targets), tf.logSoftmax(logits as tf.Tensor2D, -1)), -1)));
}

/** Per-sample loss sum and top-1/top-5 hit counts of one batch, kept on device: (3) [lossSum, top1, top5]. */
export function evalCounts(logits: Tensor, labels: Tensor): Tensor {
  return tf.tidy(() => {
    const C = logits.shape[logits.rank - 1];
    const lab = labels.toInt() as tf.Tensor1D;
    const logp = tf.logSoftmax(logits as tf.Tensor2D, -1);
    const lossSum = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(lab, C))));
    // rank of the true class = number of classes with a strictly larger logit (ties count as hits,
    // as torch.topk usually resolves them in favour of the lower index; ties are measure-zero in practice)
    const trueLogit = tf.sum(tf.mul(logits, tf.oneHot(lab, C)), -1, true); // (B, 1)
    const rank = tf.sum(tf.cast(tf.greater(logits, trueLogit), 'float32'), -1); // (B)
    const top1 = tf.sum(tf.cast(tf.less(rank, 1), 'float32'));
    const top5 = tf.sum(tf.cast(tf.less(rank, Math.min(5, C)), 'float32'));
    return tf.stack([lossSum, top1, top5]);
  });
}
