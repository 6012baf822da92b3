// Normalisation layers with PyTorch's formulas. Activations are NHWC, so LayerNorm2d (channel-first
// LayerNorm over C in PyTorch) is the same computation as LayerNorm over the last dim here.
import { tf, type Tensor } from '../tf.ts';
import { Module } from './module.ts';
import { recordFlops } from './flop-trace.ts';
import { layerNorm, layerNormReference, LAYER_NORM_KERNEL } from '../kernels/layer-norm/index.ts';
import { hasKernel } from '../kernels/kernel-util.ts';

/** nn.LayerNorm(C, eps) over the last dim: (x - mean) / sqrt(var_biased + eps) * weight + bias. */
export class LayerNorm extends Module {
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;

  constructor(readonly normalizedShape: number, readonly eps = 1e-5, { affine = true, bias = true }: { affine?: boolean; bias?: boolean } = {}) {
    super();
    this.weight = affine ? this.param('weight', tf.ones([normalizedShape]), { noDecay: true }) : null;
    this.bias = affine && bias ? this.param('bias', tf.zeros([normalizedShape]), { noDecay: true }) : null;
  }

  forward(x: Tensor): Tensor {
    recordFlops('layer_norm', x.size * (this.weight ? 5 : 4)); // fvcore norm_flop_counter
    if (!hasKernel(LAYER_NORM_KERNEL)) return layerNormReference(x, this.weight, this.bias, this.eps);
    // fused kernels (core/kernels/layer-norm): one pass forward, one backward, saves x and row stats only
    return tf.tidy(() => layerNorm(x, this.weight ?? tf.ones([this.normalizedShape]), this.bias ?? tf.zeros([this.normalizedShape]), this.eps));
  }
}

/** VMamba's LayerNorm2d (channel-first in PyTorch): on NHWC activations it normalises the last dim. */
export class LayerNorm2d extends LayerNorm {}

/** RMSNorm (Mamba/Vim): x * rsqrt(mean(x^2) + eps) * weight; no bias. */
export class RMSNorm extends Module {
  readonly weight: tf.Variable;

  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param('weight', tf.ones([dim]), { noDecay: true });
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.eps))), this.weight));
  }
}

/**
 * nn.BatchNorm2d on NHWC. Training: normalise with the batch's biased variance, update
 * running_mean/var with momentum (running_var gets the unbiased variance), count
 * num_batches_tracked. Eval: running statistics.
 */
export class BatchNorm2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;

  constructor(readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super();
    this.weight = this.param('weight', tf.ones([numFeatures]), { noDecay: true });
    this.bias = this.param('bias', tf.zeros([numFeatures]), { noDecay: true });
    this.runningMean = this.buffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.buffer('running_var', tf.ones([numFeatures]));
    this.numBatchesTracked = this.buffer('num_batches_tracked', tf.scalar(0, 'int32'), 'int64');
  }

  forward(x: Tensor): Tensor {
    // fvcore batchnorm_flop_jit: 5/elem in training (norm_flop_counter), 2/elem (affine) in eval
    recordFlops('batch_norm', x.size * (this.training ? 5 : 2));
    return tf.tidy(() => {
      const axes = [...Array(x.rank - 1).keys()]; // every axis but C
      let mean: Tensor;
      let variance: Tensor;
      if (this.training) {
        const m = tf.moments(x, axes);
        mean = m.mean;
        variance = m.variance;
        const n = x.size / this.numFeatures;
        const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
        const mom = this.momentum;
        // running-stat updates: no loss depends on them, so no gradient flows through them.
        // (assign takes a reference to the new data; tidy may dispose the tensor object)
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - mom), tf.mul(mean, mom)));
        this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - mom), tf.mul(unbiased, mom)));
        this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
      } else {
        mean = this.runningMean;
        variance = this.runningVar;
      }
      const scale = tf.mul(this.weight, tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(tf.sub(x, mean), scale), this.bias);
    });
  }
}
