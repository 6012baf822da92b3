// mmseg FCNHead (mmseg/models/decode_heads/fcn_head.py) as UperNet's auxiliary head: num_convs 3x3
// ConvModules (BN, ReLU; keys `convs.{i}.conv/bn`) on one backbone level (in_index), concat_input=False,
// Dropout2d, `conv_seg` 1x1.
import { tf, type Tensor } from '../../core/tf.ts';
import { Module, Sequential, type Conv2d } from '../../core/nn/index.ts';
import { ConvModule } from '../layers/conv-module.ts';
import { Dropout2d } from './dropout2d.ts';
import { convSeg } from './uper-head.ts';

export class FCNHead extends Module {
  readonly convs: Sequential;
  readonly conv_seg: Conv2d;
  readonly dropout: Dropout2d;

  constructor(inChannels: number, channels: number, numConvs: number, numClasses: number, dropout: number) {
    super();
    if (numConvs < 1) throw new Error(`fcn_head: num_convs must be >= 1, got ${numConvs}`);
    this.convs = this.child('convs', new Sequential(...Array.from({ length: numConvs }, (_, i) => new ConvModule(i ? channels : inChannels, channels, 3, { padding: 1, norm: 'bn' }))));
    this.dropout = this.child('dropout', new Dropout2d(dropout));
    this.conv_seg = this.child('conv_seg', convSeg(channels, numClasses));
  }

  /** (B, h, w, C) -> logits (B, h, w, classes) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => this.conv_seg.forward(this.dropout.forward(this.convs.forward(x))));
  }
}
