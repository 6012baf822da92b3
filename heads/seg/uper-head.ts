// mmseg UPerHead (mmseg/models/decode_heads/uper_head.py + psp_head.py PPM), models.md 9.2:
//   PPM on the last level: per pool scale s, AdaptiveAvgPool(s) -> 1x1 ConvModule(BN, ReLU) -> bilinear
//   back; concat [x, pooled...] -> `bottleneck` 3x3 ConvModule;
//   FPN: `lateral_convs` 1x1 on the other levels, laterals[-1] = PPM output, top-down sums with bilinear
//   resizing, `fpn_convs` 3x3 on all but the last, everything resized to level 0, concat ->
//   `fpn_bottleneck` 3x3 -> Dropout2d -> `conv_seg` 1x1 (init N(0, 0.01)). align_corners=False.
// Keys: `psp_modules.{i}.1.conv`, `bottleneck.conv`, `lateral_convs.{i}.conv`, `fpn_convs.{i}.conv`,
// `fpn_bottleneck.conv`, `conv_seg` (each ConvModule with `.bn`).
import { tf, type Tensor } from '../../core/tf.ts';
import { Module, ModuleList, Conv2d } from '../../core/nn/index.ts';
import { ConvModule } from '../layers/conv-module.ts';
import { normalInit, reinit, zeroInit } from '../layers/init.ts';
import { adaptiveAvgPool, resizeBilinear } from '../layers/resize.ts';
import { Dropout2d } from './dropout2d.ts';

/** nn.Sequential(AdaptiveAvgPool2d(s), ConvModule): the pool has no parameters, so the conv is child '1'. */
class PoolBranch extends Module {
  readonly conv: ConvModule;
  constructor(readonly scale: number, cin: number, cout: number) {
    super();
    this.conv = this.child('1', new ConvModule(cin, cout, 1, { norm: 'bn' }));
  }
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [, H, W] = x.shape;
      return resizeBilinear(this.conv.forward(adaptiveAvgPool(x, this.scale, this.scale)), H, W);
    });
  }
}

/** conv_seg N(0, 0.01), bias 0 (mmseg BaseDecodeHead init_cfg) */
export function convSeg(cin: number, classes: number): Conv2d {
  const c = new Conv2d(cin, classes, 1);
  reinit(c.weight, normalInit([...c.weight.shape], 0.01));
  zeroInit(c.bias);
  return c;
}

export class UPerHead extends Module {
  readonly psp_modules: ModuleList<PoolBranch>;
  readonly bottleneck: ConvModule;
  readonly lateral_convs: ModuleList<ConvModule>;
  readonly fpn_convs: ModuleList<ConvModule>;
  readonly fpn_bottleneck: ConvModule;
  readonly conv_seg: Conv2d;
  readonly dropout: Dropout2d;

  constructor(readonly inChannels: number[], channels: number, poolScales: number[], numClasses: number, dropout: number) {
    super();
    const last = inChannels[inChannels.length - 1];
    const cm = (cin: number, k: number) => new ConvModule(cin, channels, k, { padding: (k - 1) / 2, norm: 'bn' });
    this.psp_modules = this.child('psp_modules', new ModuleList(poolScales.map((s) => new PoolBranch(s, last, channels))));
    this.bottleneck = this.child('bottleneck', cm(last + poolScales.length * channels, 3));
    this.lateral_convs = this.child('lateral_convs', new ModuleList(inChannels.slice(0, -1).map((c) => cm(c, 1))));
    this.fpn_convs = this.child('fpn_convs', new ModuleList(inChannels.slice(0, -1).map(() => cm(channels, 3))));
    this.fpn_bottleneck = this.child('fpn_bottleneck', cm(inChannels.length * channels, 3));
    this.dropout = this.child('dropout', new Dropout2d(dropout));
    this.conv_seg = this.child('conv_seg', convSeg(channels, numClasses));
  }

  /** levels (B, h_i, w_i, C_i), finest first -> logits (B, h_0, w_0, classes) */
  forward(inputs: Tensor[]): Tensor {
    return tf.tidy(() => {
      const x = inputs[inputs.length - 1];
      const psp = this.bottleneck.forward(tf.concat([x, ...this.psp_modules.items.map((m) => m.forward(x))], 3));
      const lat = [...this.lateral_convs.items.map((m, i) => m.forward(inputs[i])), psp];
      for (let i = lat.length - 1; i > 0; i--) {
        const [, h, w] = lat[i - 1].shape;
        lat[i - 1] = tf.add(lat[i - 1], resizeBilinear(lat[i], h, w));
      }
      const outs = [...this.fpn_convs.items.map((m, i) => m.forward(lat[i])), lat[lat.length - 1]];
      const [, h0, w0] = outs[0].shape;
      for (let i = outs.length - 1; i > 0; i--) outs[i] = resizeBilinear(outs[i], h0, w0);
      const feats = this.fpn_bottleneck.forward(tf.concat(outs, 3));
      return this.conv_seg.forward(this.dropout.forward(feats));
    });
  }
}
