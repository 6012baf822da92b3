// nn.ConvTranspose2d (no padding, no output padding) on NHWC, the mask head's 2x `upsample`. The
// weight is stored as tfjs' conv2dTranspose filter (kh, kw, out, in); with the 'conv' layout that is
// exactly PyTorch's (in, out, kh, kw) after the same transpose as a convolution, so keys load as is.
import { tf, type Tensor } from '../../core/tf.ts';
import { Module } from '../../core/nn/index.ts';
import { kaimingNormalFanOut } from './init.ts';

export class ConvTranspose2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, readonly stride: number) {
    super();
    // mmdet FCNMaskHead.init_weights: kaiming_normal_(fan_out, relu) on the (in, out, k, k) tensor, bias 0
    this.weight = this.param('weight', kaimingNormalFanOut([kernel, kernel, outChannels, inChannels], [inChannels, outChannels, kernel, kernel]), { layout: 'conv' });
    this.bias = this.param('bias', tf.zeros([outChannels]), { noDecay: true });
  }

  /** (B, H, W, in) -> (B, (H-1)*stride + k, (W-1)*stride + k, out) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [B, H, W] = x.shape;
      const oh = (H - 1) * this.stride + this.kernel, ow = (W - 1) * this.stride + this.kernel;
      const y = tf.conv2dTranspose(x as tf.Tensor4D, this.weight as tf.Tensor4D, [B, oh, ow, this.outChannels], this.stride, 'valid');
      return tf.add(y, this.bias);
    });
  }
}
