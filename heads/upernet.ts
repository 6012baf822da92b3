// UperNet (Xiao et al., ECCV 2018) as mmseg 1.x's EncoderDecoder with UPerHead + auxiliary FCNHead, the
// ADE20K setting of the VMamba papers (models.md 9.2; segmentation/configs/vssm1/upernet_vssm_*.py on
// _base_/models/upernet_swin.py): channels 512, pool scales (1, 2, 3, 6), dropout 0.1, align_corners
// False, 150 classes, ignore index 255; auxiliary FCNHead on backbone level 2 (256 channels, one conv,
// loss weight 0.4). Losses as mmseg computes them: logits resized (bilinear) to the label size,
// CrossEntropyLoss with ignore_index 255 averaged over ALL pixels (avg_non_ignore False). Keys
// `backbone.*`, `decode_head.*`, `auxiliary_head.*`.
import { tf, type Tensor } from '../core/tf.ts';
import { Module } from '../core/nn/index.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { UPerHead } from './seg/uper-head.ts';
import { FCNHead } from './seg/fcn-head.ts';
import { resizeBilinear } from './layers/resize.ts';
import { softmaxCrossEntropy } from './layers/losses.ts';
import { mergeConfig } from './mask_rcnn.ts';
import { heads } from './registry.ts';

export interface UperNetConfig {
  num_classes: number;
  in_indices: number[];
  channels: number;
  pool_scales: number[];
  dropout_ratio: number;
  ignore_index: number;
  /** auxiliary FCNHead, or null for none */
  auxiliary: { in_index: number; channels: number; num_convs: number; dropout_ratio: number; loss_weight: number } | null;
  /** training crop (the data pipeline's default size) */
  crop_size: [number, number];
}

export const UPERNET_PAPER: UperNetConfig = {
  num_classes: 150,
  in_indices: [0, 1, 2, 3],
  channels: 512,
  pool_scales: [1, 2, 3, 6],
  dropout_ratio: 0.1,
  ignore_index: 255,
  auxiliary: { in_index: 2, channels: 256, num_convs: 1, dropout_ratio: 0.1, loss_weight: 0.4 },
  crop_size: [512, 512],
};

export const UPERNET_TINY = { channels: 32, auxiliary: { channels: 16 }, crop_size: [64, 64] };

export const UPERNET_PRESETS: Record<string, Record<string, unknown>> = { paper: {}, tiny: UPERNET_TINY };

export class UperNet extends Module {
  readonly backbone: Backbone;
  readonly decode_head: UPerHead;
  readonly auxiliary_head: FCNHead | null;

  constructor(backbone: Backbone, readonly cfg: UperNetConfig) {
    super();
    const chans = cfg.in_indices.map((i) => {
      const fi = backbone.featureInfo[i];
      if (!fi) throw new Error(`upernet: in_indices entry ${i} is not a feature of the backbone (${backbone.featureInfo.length} outputs)`);
      return fi.channels;
    });
    if (!(Number.isInteger(cfg.num_classes) && cfg.num_classes >= 1)) throw new Error(`upernet: num_classes must be a positive integer, got ${cfg.num_classes}`);
    if (cfg.num_classes > 255 && cfg.ignore_index === 255) throw new Error(`upernet: ${cfg.num_classes} classes collide with ignore_index 255 (masks are 8-bit)`);
    this.backbone = this.child('backbone', backbone);
    this.decode_head = this.child('decode_head', new UPerHead(chans, cfg.channels, cfg.pool_scales, cfg.num_classes, cfg.dropout_ratio));
    const aux = cfg.auxiliary;
    if (aux && !(aux.in_index >= 0 && aux.in_index < chans.length)) throw new Error(`upernet: auxiliary.in_index ${aux.in_index} outside 0..${chans.length - 1}`);
    this.auxiliary_head = aux ? this.child('auxiliary_head', new FCNHead(chans[aux.in_index], aux.channels, aux.num_convs, cfg.num_classes, aux.dropout_ratio)) : null;
  }

  private feats(x: Tensor): Tensor[] {
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`upernet: input must be (B, H, W, 3), got [${x.shape}]`);
    return this.backbone.forwardIntermediates(x, { indices: this.cfg.in_indices, norm: true });
  }

  /** (B, H, W, 3) -> decode logits (B, H/4, W/4, classes) (and the auxiliary ones in training) */
  forward(x: Tensor): { logits: Tensor; aux: Tensor | null } {
    const [logits, aux] = tf.tidy(() => {
      const f = this.feats(x);
      const out = [this.decode_head.forward(f)];
      if (this.auxiliary_head && this.training) out.push(this.auxiliary_head.forward(f[this.cfg.auxiliary!.in_index]));
      return out;
    });
    return { logits, aux: aux ?? null };
  }

  /** mmseg CE: logits resized to the labels (B, H, W) int32; ignored pixels add 0, mean over all pixels */
  private ce(logits: Tensor, labels: Tensor): Tensor {
    return tf.tidy(() => {
      const [, H, W] = labels.shape;
      return tf.mean(softmaxCrossEntropy(resizeBilinear(logits, H, W), labels));
    });
  }

  /** { 'decode.loss_ce', 'aux.loss_ce' (x loss_weight) } and their sum; labels (B, H, W) int32 */
  loss(x: Tensor, labels: Tensor): { total: tf.Scalar; parts: Record<string, Tensor> } {
    return tf.tidy(() => {
      const { logits, aux } = this.forward(x);
      const parts: Record<string, Tensor> = { 'decode.loss_ce': this.ce(logits, labels) };
      if (aux) parts['aux.loss_ce'] = tf.mul(this.ce(aux, labels), this.cfg.auxiliary!.loss_weight);
      return { total: tf.addN(Object.values(parts)) as tf.Scalar, parts };
    });
  }

  /** 'whole' inference: logits resized to the input, argmax -> (B, H, W) int32 class indices */
  predict(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [, H, W] = x.shape;
      const { logits } = this.forward(x);
      return tf.argMax(resizeBilinear(logits, H, W), 3);
    });
  }
}

export function createUperNet(backbone: Backbone, overrides: Record<string, unknown> = {}, preset = 'paper'): UperNet {
  const p = UPERNET_PRESETS[preset];
  if (!p) throw new Error(`upernet: unknown preset '${preset}' (${Object.keys(UPERNET_PRESETS).join(', ')})`);
  return new UperNet(backbone, mergeConfig(mergeConfig(UPERNET_PAPER, p), overrides));
}

heads.register('upernet', {
  description: 'UperNet (mmseg UPerHead: PPM + FPN fusion) with the auxiliary FCNHead, ADE20K setting',
  kind: 'segmentor',
  upstream: 'open-mmlab/mmsegmentation mmseg/models/decode_heads/uper_head.py, fcn_head.py (1.x)',
  presets: UPERNET_PRESETS,
  create: (backbone: unknown, overrides?: unknown, preset?: unknown) => createUperNet(backbone as Backbone, (overrides ?? {}) as Record<string, unknown>, (preset as string | undefined) ?? 'paper'),
});
