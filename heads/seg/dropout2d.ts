// nn.Dropout2d on NHWC: in training each (sample, channel) plane is zeroed with probability p and the
// rest scaled by 1/(1-p) (mmseg decode heads' dropout before conv_seg). Mask drawn on the host.
import { tf, type Tensor } from '../../core/tf.ts';
import { globalRng } from '../../core/rng.ts';
import { Module } from '../../core/nn/index.ts';

export class Dropout2d extends Module {
  constructor(readonly p: number) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout2d: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const [B, , , C] = x.shape;
    const mask = new Float32Array(B * C);
    for (let i = 0; i < mask.length; i++) mask[i] = globalRng.random() < this.p ? 0 : 1 / (1 - this.p);
    return tf.tidy(() => tf.mul(x, tf.tensor4d(mask, [B, 1, 1, C])));
  }
}
