// mmdet RPNHead (models/dense_heads/rpn_head.py + anchor_head.py) for Mask R-CNN: a 3x3 conv + ReLU
// shared over the levels, then 1x1 convs to A sigmoid objectness scores and A*4 deltas per position
// (keys `rpn_conv`, `rpn_cls`, `rpn_reg`; init normal std 0.01, bias 0). Targets, loss and proposals
// run on the host over the anchors of all levels concatenated per image (level, y, x, anchor order,
// the order of the NHWC outputs flattened):
//   targets: MaxIoUAssigner (0.7 / 0.3, low-quality matches >= 0.3), RandomSampler 256 @ 0.5;
//   loss: sigmoid BCE over the sampled anchors + L1 on positive deltas, both / (sampled anchors);
//   proposals: per level the top nms_pre scores, decode (clip to the image), drop boxes of width or
//     height <= min_bbox_size, NMS 0.7 within each level, keep max_per_img by score.
import { tf, type Tensor } from '../../core/tf.ts';
import type { Rng } from '../../core/rng.ts';
import { Module, Conv2d } from '../../core/nn/index.ts';
import { normalInit, reinit, zeroInit } from '../layers/init.ts';
import { bceWithLogits, weightedSum } from '../layers/losses.ts';
import { RPN_CODER, decodeBoxes, encodeBoxes, takeRows } from './boxes.ts';
import { assignMaxIou, sampleRandom, type AssignerConfig, type SamplerConfig } from './assigner.ts';
import { batchedNms } from './nms.ts';

export interface ProposalConfig {
  nms_pre: number;
  max_per_img: number;
  iou_threshold: number;
  min_bbox_size: number;
}

export interface RpnConfig {
  feat_channels: number;
  assigner: AssignerConfig;
  sampler: SamplerConfig;
  train_proposals: ProposalConfig;
  test_proposals: ProposalConfig;
}

/** Host-side targets of the whole batch, (B * total anchors) in the head's output order. */
export interface RpnTargets {
  labels: Float32Array;
  labelWeights: Float32Array;
  bboxTargets: Float32Array;
  bboxWeights: Float32Array;
  /** sampled anchors over the batch (mmdet avg_factor) */
  avgFactor: number;
}

function conv(cin: number, cout: number, k: number): Conv2d {
  const c = new Conv2d(cin, cout, k, { padding: (k - 1) / 2 });
  reinit(c.weight, normalInit([...c.weight.shape], 0.01));
  zeroInit(c.bias);
  return c;
}

export class RPNHead extends Module {
  readonly rpn_conv: Conv2d;
  readonly rpn_cls: Conv2d;
  readonly rpn_reg: Conv2d;

  constructor(inChannels: number, readonly cfg: RpnConfig, readonly numAnchors: number) {
    super();
    this.rpn_conv = this.child('rpn_conv', conv(inChannels, cfg.feat_channels, 3));
    this.rpn_cls = this.child('rpn_cls', conv(cfg.feat_channels, numAnchors, 1));
    this.rpn_reg = this.child('rpn_reg', conv(cfg.feat_channels, numAnchors * 4, 1));
  }

  /** levels (B, h, w, C) -> objectness logits (B, sum h*w*A) and deltas (B, sum h*w*A, 4), levels concatenated */
  forward(feats: Tensor[]): { cls: Tensor; reg: Tensor } {
    return tf.tidy(() => {
      const B = feats[0].shape[0];
      const cls: Tensor[] = [], reg: Tensor[] = [];
      for (const f of feats) {
        const t = tf.relu(this.rpn_conv.forward(f));
        cls.push(tf.reshape(this.rpn_cls.forward(t), [B, -1]));
        reg.push(tf.reshape(this.rpn_reg.forward(t), [B, -1, 4]));
      }
      return { cls: tf.concat(cls, 1), reg: tf.concat(reg, 1) };
    });
  }

  /** Assign + sample the anchors of every image against its gt boxes. */
  targets(anchors: Float32Array, gtBoxes: Float32Array[], rng: Rng): RpnTargets {
    const n = anchors.length / 4, B = gtBoxes.length;
    const t: RpnTargets = {
      labels: new Float32Array(B * n), labelWeights: new Float32Array(B * n),
      bboxTargets: new Float32Array(B * n * 4), bboxWeights: new Float32Array(B * n * 4), avgFactor: 0,
    };
    for (let b = 0; b < B; b++) {
      const gts = gtBoxes[b];
      const assign = assignMaxIou(anchors, gts, new Int32Array(gts.length / 4), this.cfg.assigner);
      const s = sampleRandom(assign, anchors, gts, new Int32Array(gts.length / 4), this.cfg.sampler, rng);
      const pos = Array.from(s.posInds), o = b * n;
      const enc = encodeBoxes(takeRows(anchors, s.posInds, 4), takeRows(gts, s.posGtInds, 4), RPN_CODER);
      pos.forEach((i, j) => {
        t.labels[o + i] = 1;
        t.labelWeights[o + i] = 1;
        for (let k = 0; k < 4; k++) {
          t.bboxTargets[(o + i) * 4 + k] = enc[4 * j + k];
          t.bboxWeights[(o + i) * 4 + k] = 1;
        }
      });
      for (const i of s.negInds) t.labelWeights[o + i] = 1;
      t.avgFactor += s.posInds.length + s.negInds.length;
    }
    return t;
  }

  /** { loss_rpn_cls, loss_rpn_bbox } of the head outputs against host targets. */
  loss(out: { cls: Tensor; reg: Tensor }, t: RpnTargets): { loss_rpn_cls: Tensor; loss_rpn_bbox: Tensor } {
    return tf.tidy(() => ({
      loss_rpn_cls: weightedSum(bceWithLogits(out.cls, tf.tensor(t.labels, out.cls.shape)), t.labelWeights, t.avgFactor),
      loss_rpn_bbox: weightedSum(tf.abs(tf.sub(out.reg, tf.tensor(t.bboxTargets, out.reg.shape))), t.bboxWeights, t.avgFactor),
    }));
  }

  /**
   * Proposals of one image from host copies of its outputs: scores (n) logits and deltas (n*4) over the
   * anchors (n*4) of `levelSizes` anchors per level. Returns boxes (m*4) and scores (m), best first.
   */
  proposals(logits: Float32Array, deltas: Float32Array, anchors: Float32Array, levelSizes: number[], imgShape: [number, number], c: ProposalConfig): { boxes: Float32Array; scores: Float32Array } {
    const sel: number[] = [], lvl: number[] = [];
    let start = 0;
    levelSizes.forEach((size, l) => {
      const idx = Array.from({ length: size }, (_, i) => start + i);
      if (c.nms_pre > 0 && c.nms_pre < size) {
        idx.sort((a, b) => logits[b] - logits[a] || a - b);
        idx.length = c.nms_pre;
      }
      for (const i of idx) { sel.push(i); lvl.push(l); }
      start += size;
    });
    const boxes = decodeBoxes(takeRows(anchors, sel, 4), takeRows(deltas, sel, 4), RPN_CODER, imgShape);
    const scores = Float32Array.from(sel, (i) => 1 / (1 + Math.exp(-logits[i])));
    const valid: number[] = [];
    for (let j = 0; j < sel.length; j++) {
      const w = boxes[4 * j + 2] - boxes[4 * j], h = boxes[4 * j + 3] - boxes[4 * j + 1];
      if (w > c.min_bbox_size && h > c.min_bbox_size) valid.push(j);
    }
    const vb = takeRows(boxes, valid, 4);
    const vs = Float32Array.from(valid, (j) => scores[j]);
    const keep = batchedNms(vb, vs, Int32Array.from(valid, (j) => lvl[j]), c.iou_threshold).slice(0, c.max_per_img);
    return { boxes: takeRows(vb, keep, 4), scores: Float32Array.from(keep, (j) => vs[j]) };
  }
}
