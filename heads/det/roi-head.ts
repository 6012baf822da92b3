// mmdet StandardRoIHead (models/roi_heads/standard_roi_head.py) with a box and a mask branch, keys
// `bbox_head.*`, `mask_head.*`. Training targets on the host: per image MaxIoUAssigner (0.5 / 0.5,
// low-quality >= 0.5) over the proposals, RandomSampler 512 @ 0.25 with the gts added as proposals,
// box targets by the DeltaXYWH coder (stds 0.1, 0.1, 0.2, 0.2), mask targets = each positive's gt mask
// cropped and resized to 28x28 by RoIAlign (aligned, box clipped to the image), binarised at 0.5
// (mask_target / BitmapMasks.crop_and_resize). Inference: softmax scores, class-specific decoding
// clipped to the image, multiclass NMS (score > 0.05, IoU 0.5, 100 per image), then the masks of the
// kept boxes.
import { tf, type Tensor } from '../../core/tf.ts';
import type { Rng } from '../../core/rng.ts';
import { Module } from '../../core/nn/index.ts';
import { RCNN_CODER, decodeBoxes, encodeBoxes, takeRows } from './boxes.ts';
import { assignMaxIou, sampleRandom, type AssignerConfig, type SamplerConfig } from './assigner.ts';
import { extractRoiFeatures, sortByLevel, type LevelSorted } from './roi-extractor.ts';
import { Shared2FCBBoxHead, type BBoxTargets } from './bbox-head.ts';
import { FCNMaskHead, type MaskTargets } from './mask-head.ts';
import { batchedNms } from './nms.ts';
import { roiAlignArrays } from '../kernel/roi-align/index.ts';

export interface RoiHeadConfig {
  featmap_strides: number[];
  finest_scale: number;
  bbox_roi_size: number;
  mask_roi_size: number;
  sampling_ratio: number;
  fc_out_channels: number;
  mask_conv_channels: number;
  num_mask_convs: number;
  assigner: AssignerConfig;
  sampler: SamplerConfig;
  /** test_cfg.rcnn */
  score_thr: number;
  nms_iou: number;
  max_per_img: number;
  mask_thr: number;
}

/** Ground truth of one image in network-input pixels (crowd and degenerate boxes already dropped). */
export interface GtInstances {
  /** (n*4) xyxy */
  boxes: Float32Array;
  /** (n) contiguous labels */
  labels: Int32Array;
  /** (n*H*W) 0/1 instance masks at the input size, or null (box-only data: no mask loss) */
  masks: Uint8Array | null;
}

export interface RoiTargets {
  rois: LevelSorted;
  bbox: BBoxTargets;
  /** positives for the mask branch (level-sorted), or null without positives / masks */
  mask: { rois: LevelSorted; t: MaskTargets } | null;
}

export interface Detections {
  /** (n*4) xyxy in network-input pixels */
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  /** (n*S*S) mask probabilities of each box's class (S = 28), when masks were predicted */
  masks?: Float32Array;
}

export class StandardRoIHead extends Module {
  readonly bbox_head: Shared2FCBBoxHead;
  readonly mask_head: FCNMaskHead;

  constructor(inChannels: number, readonly numClasses: number, readonly cfg: RoiHeadConfig) {
    super();
    this.bbox_head = this.child('bbox_head', new Shared2FCBBoxHead(inChannels, cfg.bbox_roi_size, cfg.fc_out_channels, numClasses));
    this.mask_head = this.child('mask_head', new FCNMaskHead(inChannels, cfg.mask_conv_channels, cfg.num_mask_convs, numClasses));
  }

  get maskSize(): number {
    return this.cfg.mask_roi_size * 2;
  }

  private sort(rois: Float32Array): LevelSorted {
    return sortByLevel(rois, this.cfg.featmap_strides.length, this.cfg.finest_scale);
  }

  targets(proposals: Float32Array[], gts: GtInstances[], imgShape: [number, number], rng: Rng): RoiTargets {
    const K = this.numClasses, [H, W] = imgShape, S = this.maskSize;
    const rois: number[] = [], labels: number[] = [], bt: number[] = [], posRois: number[] = [], maskT: number[] = [], maskCls: number[] = [];
    gts.forEach((gt, b) => {
      const assign = assignMaxIou(proposals[b], gt.boxes, gt.labels, this.cfg.assigner);
      const s = sampleRandom(assign, proposals[b], gt.boxes, gt.labels, this.cfg.sampler, rng);
      const pos = takeRows(s.priors, s.posInds, 4);
      const enc = encodeBoxes(pos, takeRows(gt.boxes, s.posGtInds, 4), RCNN_CODER);
      for (let j = 0; j < s.posInds.length; j++) {
        rois.push(b, ...pos.subarray(4 * j, 4 * j + 4));
        labels.push(s.posGtLabels[j]);
        bt.push(...enc.subarray(4 * j, 4 * j + 4));
      }
      for (const i of s.negInds) {
        rois.push(b, ...s.priors.subarray(4 * i, 4 * i + 4));
        labels.push(K);
        bt.push(0, 0, 0, 0);
      }
      if (gt.masks && s.posInds.length) {
        // crop_and_resize: gt mask k as batch entry k, boxes clipped to the image
        const n = gt.labels.length;
        const r = new Float32Array(s.posInds.length * 5);
        for (let j = 0; j < s.posInds.length; j++) {
          r[5 * j] = s.posGtInds[j];
          for (let k = 0; k < 4; k++) r[5 * j + 1 + k] = Math.min(Math.max(pos[4 * j + k], 0), k % 2 ? H : W);
          posRois.push(b, ...pos.subarray(4 * j, 4 * j + 4));
          for (let c = 0; c < K; c++) maskCls.push(c === s.posGtLabels[j] ? 1 : 0);
        }
        const crops = roiAlignArrays(gt.masks, [n, H, W, 1], r, { pooledH: S, pooledW: S, spatialScale: 1, samplingRatio: 0, aligned: true });
        for (const v of crops) maskT.push(v >= 0.5 ? 1 : 0);
      }
    });
    // everything below in the extractor's level order
    const sorted = this.sort(Float32Array.from(rois));
    const R = labels.length;
    const bbox: BBoxTargets = {
      labels: new Int32Array(R), labelWeights: new Float32Array(R).fill(1), bboxTargets: new Float32Array(R * 4),
      bboxWeights: new Float32Array(R * 4), classMask: new Float32Array(R * K),
    };
    sorted.order.forEach((i, j) => {
      const l = labels[i];
      bbox.labels[j] = l;
      if (l < K) {
        bbox.classMask[j * K + l] = 1;
        for (let k = 0; k < 4; k++) { bbox.bboxTargets[4 * j + k] = bt[4 * i + k]; bbox.bboxWeights[4 * j + k] = 1; }
      }
    });
    let mask: RoiTargets['mask'] = null;
    const P = posRois.length / 5;
    if (P > 0) {
      const ms = this.sort(Float32Array.from(posRois));
      const t: MaskTargets = { targets: new Float32Array(P * S * S), classMask: new Float32Array(P * K) };
      ms.order.forEach((i, j) => {
        t.targets.set(maskT.slice(i * S * S, (i + 1) * S * S), j * S * S);
        t.classMask.set(maskCls.slice(i * K, (i + 1) * K), j * K);
      });
      mask = { rois: ms, t };
    }
    return { rois: sorted, bbox, mask };
  }

  /** { loss_cls, loss_bbox, loss_mask } from the FPN levels (B, h, w, C) and host targets. */
  loss(feats: Tensor[], t: RoiTargets): Record<'loss_cls' | 'loss_bbox' | 'loss_mask', Tensor> {
    return tf.tidy(() => {
      const c = this.cfg;
      const out = this.bbox_head.forward(extractRoiFeatures(feats, t.rois, c.featmap_strides, c.bbox_roi_size, c.sampling_ratio));
      const l = this.bbox_head.loss(out, t.bbox);
      let loss_mask: Tensor = tf.scalar(0);
      if (t.mask) {
        const logits = this.mask_head.forward(extractRoiFeatures(feats, t.mask.rois, c.featmap_strides, c.mask_roi_size, c.sampling_ratio));
        loss_mask = this.mask_head.loss(logits, t.mask.t);
      }
      return { ...l, loss_mask };
    });
  }

  /** Boxes (and masks) per image from the proposals; reads the device (async). */
  async predict(feats: Tensor[], proposals: Float32Array[], imgShape: [number, number], withMasks: boolean): Promise<Detections[]> {
    const c = this.cfg, K = this.numClasses;
    const rois: number[] = [];
    proposals.forEach((p, b) => { for (let i = 0; i < p.length / 4; i++) rois.push(b, ...p.subarray(4 * i, 4 * i + 4)); });
    const sorted = this.sort(Float32Array.from(rois));
    const R = rois.length / 5;
    const packed = tf.tidy(() => {
      const out = this.bbox_head.forward(extractRoiFeatures(feats, sorted, c.featmap_strides, c.bbox_roi_size, c.sampling_ratio));
      return tf.concat([tf.softmax(out.cls), out.reg], 1); // (R, K + 1 + 4K)
    });
    const vals = R ? await packed.data() : new Float32Array(0); // GPU->CPU sync: scores and deltas of every RoI
    packed.dispose();
    const width = K + 1 + 4 * K;
    // per image: candidate (roi, class) pairs above the score threshold, decoded, then class-wise NMS
    const dets: Detections[] = proposals.map(() => ({ boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) }));
    const perImage = proposals.map(() => ({ boxes: [] as number[], scores: [] as number[], labels: [] as number[] }));
    sorted.order.forEach((_, j) => {
      const b = sorted.rois[5 * j];
      const prior = sorted.rois.subarray(5 * j + 1, 5 * j + 5);
      const row = vals.subarray(j * width, (j + 1) * width);
      for (let k = 0; k < K; k++) {
        const score = row[k];
        if (!(score > c.score_thr)) continue;
        const box = decodeBoxes(prior, row.subarray(K + 1 + 4 * k, K + 5 + 4 * k), RCNN_CODER, imgShape);
        perImage[b].boxes.push(...box);
        perImage[b].scores.push(score);
        perImage[b].labels.push(k);
      }
    });
    perImage.forEach((p, b) => {
      const boxes = Float32Array.from(p.boxes);
      const keep = batchedNms(boxes, p.scores, p.labels, c.nms_iou).slice(0, c.max_per_img);
      dets[b] = { boxes: takeRows(boxes, keep, 4), scores: Float32Array.from(keep, (i) => p.scores[i]), labels: Int32Array.from(keep, (i) => p.labels[i]) };
    });
    if (withMasks) await this.predictMasks(feats, dets);
    return dets;
  }

  /** Fills `masks` of each image's detections: the (S, S) sigmoid probabilities of its class. */
  private async predictMasks(feats: Tensor[], dets: Detections[]): Promise<void> {
    const c = this.cfg, K = this.numClasses, S = this.maskSize;
    const rois: number[] = [], labels: number[] = [];
    dets.forEach((d, b) => d.labels.forEach((l, i) => { rois.push(b, ...d.boxes.subarray(4 * i, 4 * i + 4)); labels.push(l); }));
    const P = labels.length;
    for (const d of dets) d.masks = new Float32Array(d.labels.length * S * S);
    if (!P) return;
    const sorted = this.sort(Float32Array.from(rois));
    const classMask = new Float32Array(P * K);
    sorted.order.forEach((i, j) => { classMask[j * K + labels[i]] = 1; });
    const probs = tf.tidy(() => {
      const logits = this.mask_head.forward(extractRoiFeatures(feats, sorted, c.featmap_strides, c.mask_roi_size, c.sampling_ratio));
      return tf.sigmoid(tf.sum(tf.mul(logits, tf.tensor4d(classMask, [P, 1, 1, K])), 3)); // (P, S, S)
    });
    const v = await probs.data(); // GPU->CPU sync: the masks of the kept boxes
    probs.dispose();
    // sorted position j -> (image, index within the image)
    const where: Array<[number, number]> = [];
    dets.forEach((d, b) => d.labels.forEach((_, i) => where.push([b, i])));
    sorted.order.forEach((i, j) => {
      const [b, k] = where[i];
      dets[b].masks!.set(v.subarray(j * S * S, (j + 1) * S * S), k * S * S);
    });
  }
}
