// FPN neck (Lin et al., CVPR 2017) as mmdet 3.x builds it (mmdet/models/necks/fpn.py), the neck of
// the VMamba/MSVMamba/GroupMamba Mask R-CNN configs: lateral 1x1 and output 3x3 ConvModules (no norm,
// no activation, Xavier-uniform init), top-down sum with nearest upsampling to the finer level's size,
// and, with num_outs above the inputs (add_extra_convs=False), extra levels by max_pool2d(1, stride 2)
// of the last output (Mask R-CNN's P6). NHWC in and out; keys `lateral_convs.{i}.conv.*`,
// `fpn_convs.{i}.conv.*` (prefixed `neck.` inside a detector).
import { tf, type Tensor } from '../core/tf.ts';
import { Module, ModuleList } from '../core/nn/index.ts';
import { ConvModule } from './layers/conv-module.ts';
import { resizeNearest } from './layers/resize.ts';
import { heads } from './registry.ts';

export interface FpnConfig {
  /** channels of each backbone output used (mmdet in_channels) */
  in_channels: number[];
  out_channels: number;
  num_outs: number;
  /** first backbone output used (mmdet start_level) */
  start_level?: number;
  /** mmdet's add_extra_convs: only false (max-pool extra levels, as Mask R-CNN) is ported */
  add_extra_convs?: false;
}

export class FPN extends Module {
  readonly lateral_convs: ModuleList<ConvModule>;
  readonly fpn_convs: ModuleList<ConvModule>;
  readonly startLevel: number;

  constructor(readonly cfg: FpnConfig) {
    super();
    const { in_channels: ins, out_channels: out, num_outs } = cfg;
    this.startLevel = cfg.start_level ?? 0;
    if (!ins.length) throw new Error('fpn: in_channels is empty');
    if (cfg.add_extra_convs) throw new Error(`fpn: add_extra_convs=${JSON.stringify(cfg.add_extra_convs)} is not ported (Mask R-CNN uses false: max-pool extra levels)`);
    if (this.startLevel < 0 || this.startLevel >= ins.length) throw new Error(`fpn: start_level ${this.startLevel} outside 0..${ins.length - 1}`);
    const used = ins.length - this.startLevel;
    if (num_outs < used) throw new Error(`fpn: num_outs ${num_outs} is below the ${used} inputs used`);
    const conv = (cin: number, k: number) => new ConvModule(cin, out, k, { padding: (k - 1) / 2, act: null, init: 'xavier' });
    this.lateral_convs = this.child('lateral_convs', new ModuleList(ins.slice(this.startLevel).map((c) => conv(c, 1))));
    this.fpn_convs = this.child('fpn_convs', new ModuleList(ins.slice(this.startLevel).map(() => conv(out, 3))));
  }

  /** backbone outputs (B, h_i, w_i, in_channels[i]) -> num_outs maps (B, h, w, out_channels), finest first */
  forward(inputs: Tensor[]): Tensor[] {
    const { in_channels: ins, num_outs } = this.cfg;
    if (inputs.length !== ins.length) throw new Error(`fpn: got ${inputs.length} feature maps for in_channels of length ${ins.length}`);
    inputs.forEach((x, i) => {
      if (x.rank !== 4 || x.shape[3] !== ins[i]) throw new Error(`fpn: input ${i} has shape [${x.shape}], expected (B, h, w, ${ins[i]})`);
    });
    return tf.tidy(() => {
      const lat = this.lateral_convs.items.map((m, i) => m.forward(inputs[i + this.startLevel]));
      for (let i = lat.length - 1; i > 0; i--) {
        const [, h, w] = lat[i - 1].shape;
        lat[i - 1] = tf.add(lat[i - 1], resizeNearest(lat[i], h, w));
      }
      const outs = lat.map((l, i) => this.fpn_convs.items[i].forward(l));
      while (outs.length < num_outs) outs.push(tf.maxPool(outs[outs.length - 1] as tf.Tensor4D, 1, 2, 'valid'));
      return outs;
    });
  }
}

heads.register('fpn', {
  description: 'FPN neck (mmdet): lateral 1x1 + output 3x3 convs, nearest top-down, max-pool extra levels',
  kind: 'neck',
  upstream: 'open-mmlab/mmdetection mmdet/models/necks/fpn.py (3.x)',
  presets: { mask_rcnn: { out_channels: 256, num_outs: 5 } },
  create: (cfg: unknown) => new FPN(cfg as FpnConfig),
});
