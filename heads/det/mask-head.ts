// mmdet FCNMaskHead (models/roi_heads/mask_heads/fcn_mask_head.py): num_convs 3x3 ConvModules (ReLU,
// keys `convs.{i}.conv`), a 2x2 stride-2 transposed conv `upsample` + ReLU, and a 1x1 `conv_logits` to
// one mask per class: (P, 14, 14, C) -> (P, 28, 28, K). Loss (mask_cross_entropy): BCE with logits of
// each positive RoI's gt-class mask against its target, mean over all pixels of all positives.
import { tf, type Tensor } from '../../core/tf.ts';
import { Module, ModuleList, Conv2d } from '../../core/nn/index.ts';
import { ConvModule } from '../layers/conv-module.ts';
import { ConvTranspose2d } from '../layers/conv-transpose.ts';
import { kaimingNormalFanOut, reinit, zeroInit } from '../layers/init.ts';
import { bceWithLogits } from '../layers/losses.ts';

export interface MaskTargets {
  /** (P*S*S) binary targets, S = mask size */
  targets: Float32Array;
  /** (P*K) one-hot of each positive's gt class */
  classMask: Float32Array;
}

export class FCNMaskHead extends Module {
  readonly convs: ModuleList<ConvModule>;
  readonly upsample: ConvTranspose2d;
  readonly conv_logits: Conv2d;

  constructor(inChannels: number, convChannels: number, numConvs: number, readonly numClasses: number) {
    super();
    this.convs = this.child('convs', new ModuleList(Array.from({ length: numConvs }, (_, i) => new ConvModule(i ? convChannels : inChannels, convChannels, 3, { padding: 1 }))));
    this.upsample = this.child('upsample', new ConvTranspose2d(numConvs ? convChannels : inChannels, convChannels, 2, 2));
    this.conv_logits = this.child('conv_logits', new Conv2d(convChannels, numClasses, 1));
    reinit(this.conv_logits.weight, kaimingNormalFanOut([...this.conv_logits.weight.shape], [numClasses, convChannels, 1, 1]));
    zeroInit(this.conv_logits.bias);
  }

  /** (P, s, s, C) -> mask logits (P, 2s, 2s, K) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let y = x;
      for (const c of this.convs.items) y = c.forward(y);
      return this.conv_logits.forward(tf.relu(this.upsample.forward(y)));
    });
  }

  /** loss_mask of logits (P, S, S, K) against host targets; P must be > 0 */
  loss(logits: Tensor, t: MaskTargets): Tensor {
    return tf.tidy(() => {
      const [P, S, , K] = logits.shape;
      const picked = tf.sum(tf.mul(logits, tf.tensor4d(t.classMask, [P, 1, 1, K])), 3); // (P, S, S)
      return tf.mean(bceWithLogits(picked, tf.tensor3d(t.targets, [P, S, S])));
    });
  }
}
