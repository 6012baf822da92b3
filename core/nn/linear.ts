// nn.Linear over the last dim. The weight keeps PyTorch's (out, in) layout and is applied with
// matMul(..., transposeB), so checkpoints load without a layout change.
import { tf, type Tensor } from '../tf.ts';
import { Module } from './module.ts';
import { kaimingUniformA5, truncNormal } from './init.ts';
import { linear } from '../kernels/weight-grad/index.ts';

export class Linear extends Module {
  readonly weight: tf.Variable; // (out, in)
  readonly bias: tf.Variable | null; // (out)

  /**
   * init 'default': PyTorch's nn.Linear (kaiming_uniform a=sqrt(5), bias U(+-1/sqrt(in)));
   * 'trunc_normal': timm's trunc_normal_(std) weight and zero bias (what most vision families' _init_weights do).
   */
  constructor(readonly inFeatures: number, readonly outFeatures: number, { bias = true, init = 'default', std = 0.02 }: { bias?: boolean; init?: 'default' | 'trunc_normal'; std?: number } = {}) {
    super();
    const tn = init === 'trunc_normal';
    this.weight = this.param('weight', tn ? truncNormal([outFeatures, inFeatures], std) : kaimingUniformA5([outFeatures, inFeatures], inFeatures));
    this.bias = bias ? this.param('bias', tn ? tf.zeros([outFeatures]) : kaimingUniformA5([outFeatures], inFeatures), { noDecay: true }) : null;
  }

  /** x (..., in) -> (..., out) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const x2 = x.reshape([-1, this.inFeatures]) as tf.Tensor2D;
      // core/kernels/weight-grad linear: bias fused in the forward matMul; split-k weight gradient
      return linear(x2, this.weight, this.bias).reshape([...lead, this.outFeatures]);
    });
  }
}
