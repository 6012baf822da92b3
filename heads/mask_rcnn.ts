// Mask R-CNN (He et al., ICCV 2017) with FPN, as mmdet 3.x's mask-rcnn_r50_fpn_1x_coco structure that
// the VMamba / MSVMamba / GroupMamba detection configs put on their backbones (models.md 9.1): any
// registered hierarchical backbone (strides 4-32, read only through featureInfo/forwardIntermediates),
// FPN (P2-P6), RPN, RoIAlign box and mask heads. Keys are mmdet's (`backbone.*`, `neck.lateral_convs.0
// .conv.weight`, `rpn_head.rpn_conv.weight`, `roi_head.bbox_head.shared_fcs.0.weight`,
// `roi_head.mask_head.convs.0.conv.weight`, ...), so an mmdet checkpoint's keys map by name.
// Training is two passes per batch: a forward without the tape gives the RPN outputs (read to the host
// for proposals and targets, which tfjs cannot do inside a gradient tape), then the taped forward with
// the same RNG state and BatchNorm buffers (so both passes compute the same features) gives the loss.
import { tf, type Tensor } from '../core/tf.ts';
import { Rng, globalRng } from '../core/rng.ts';
import { Module } from '../core/nn/index.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { FPN } from './fpn.ts';
import { RPNHead, type RpnConfig, type RpnTargets } from './det/rpn-head.ts';
import { StandardRoIHead, type Detections, type GtInstances, type RoiHeadConfig, type RoiTargets } from './det/roi-head.ts';
import { AnchorGenerator, numBaseAnchors, type AnchorConfig } from './det/anchors.ts';
import { heads } from './registry.ts';

export interface MaskRcnnConfig {
  num_classes: number;
  /** backbone outputs fed to the neck (indices into featureInfo), finest first */
  in_indices: number[];
  /** inputs are zero-padded right/bottom to a multiple of this (mmdet pad_size_divisor) */
  size_divisor: number;
  neck: { out_channels: number; num_outs: number };
  anchor: AnchorConfig;
  rpn: RpnConfig;
  roi: RoiHeadConfig;
}

/** mmdet configs/_base_/models/mask-rcnn_r50_fpn.py (80 COCO classes) */
export const MASK_RCNN_PAPER: MaskRcnnConfig = {
  num_classes: 80,
  in_indices: [0, 1, 2, 3],
  size_divisor: 32,
  neck: { out_channels: 256, num_outs: 5 },
  anchor: { strides: [4, 8, 16, 32, 64], ratios: [0.5, 1, 2], scales: [8] },
  rpn: {
    feat_channels: 256,
    assigner: { posIouThr: 0.7, negIouThr: 0.3, minPosIou: 0.3, matchLowQuality: true },
    sampler: { num: 256, posFraction: 0.5, addGtAsProposals: false },
    train_proposals: { nms_pre: 2000, max_per_img: 1000, iou_threshold: 0.7, min_bbox_size: 0 },
    test_proposals: { nms_pre: 1000, max_per_img: 1000, iou_threshold: 0.7, min_bbox_size: 0 },
  },
  roi: {
    featmap_strides: [4, 8, 16, 32], finest_scale: 56, bbox_roi_size: 7, mask_roi_size: 14, sampling_ratio: 0,
    fc_out_channels: 1024, mask_conv_channels: 256, num_mask_convs: 4,
    assigner: { posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0.5, matchLowQuality: true },
    sampler: { num: 512, posFraction: 0.25, addGtAsProposals: true },
    score_thr: 0.05, nms_iou: 0.5, max_per_img: 100, mask_thr: 0.5,
  },
};

/** Small channels and few proposals, for tests on tiny backbones and 64-128 px images (anchor scale 4). */
export const MASK_RCNN_TINY = {
  neck: { out_channels: 32 },
  anchor: { scales: [4] },
  rpn: {
    feat_channels: 32, sampler: { num: 16 },
    train_proposals: { nms_pre: 300, max_per_img: 100 }, test_proposals: { nms_pre: 300, max_per_img: 100 },
  },
  roi: { fc_out_channels: 128, mask_conv_channels: 32, num_mask_convs: 2, sampler: { num: 32 }, max_per_img: 50 },
};

export const MASK_RCNN_PRESETS: Record<string, Record<string, unknown>> = { paper: {}, tiny: MASK_RCNN_TINY };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge of `over` into `base`; unknown keys are an error naming their path. */
export function mergeConfig<T>(base: T, over: Json, path = ''): T {
  const out: Json = { ...(base as Json) };
  for (const [k, v] of Object.entries(over)) {
    if (!(k in out)) throw new Error(`config: unknown key '${path}${k}' (known: ${Object.keys(out).join(', ')})`);
    out[k] = isObj(v) && isObj(out[k]) ? mergeConfig(out[k], v, `${path}${k}.`) : v;
  }
  return out as T;
}

/** Training targets of one batch (host arrays). */
export interface DetTargets {
  rpn: RpnTargets;
  roi: RoiTargets;
  /** proposals per image (for logging) */
  numProposals: number[];
}

/** Runs fn, then puts the global RNG state and every buffer (BatchNorm statistics) back as they were. */
function withRestoredState<T>(m: Module, fn: () => T): T {
  const rng = globalRng.getState();
  const saved = m.namedBuffers().map((b) => [b.variable, b.variable.clone()] as const);
  try {
    return fn();
  } finally {
    globalRng.setState(rng);
    for (const [v, c] of saved) {
      v.assign(c);
      c.dispose();
    }
  }
}

export class MaskRCNN extends Module {
  readonly backbone: Backbone;
  readonly neck: FPN;
  readonly rpn_head: RPNHead;
  readonly roi_head: StandardRoIHead;
  readonly anchors: AnchorGenerator;

  constructor(backbone: Backbone, readonly cfg: MaskRcnnConfig) {
    super();
    const info = cfg.in_indices.map((i) => {
      const fi = backbone.featureInfo[i];
      if (!fi) throw new Error(`mask_rcnn: in_indices entry ${i} is not a feature of the backbone (${backbone.featureInfo.length} outputs)`);
      return fi;
    });
    const strides = cfg.anchor.strides.slice(0, info.length);
    info.forEach((fi, k) => {
      if (fi.reduction !== strides[k]) {
        throw new Error(`mask_rcnn: backbone output ${cfg.in_indices[k]} has stride ${fi.reduction} but FPN level ${k} expects ${strides[k]} (anchor strides ${cfg.anchor.strides.join(', ')}); Mask R-CNN + FPN needs a hierarchical backbone`);
      }
    });
    if (cfg.neck.num_outs !== cfg.anchor.strides.length) throw new Error(`mask_rcnn: neck.num_outs ${cfg.neck.num_outs} but ${cfg.anchor.strides.length} anchor strides`);
    if (!(Number.isInteger(cfg.num_classes) && cfg.num_classes >= 1)) throw new Error(`mask_rcnn: num_classes must be a positive integer, got ${cfg.num_classes}`);
    this.backbone = this.child('backbone', backbone);
    this.neck = this.child('neck', new FPN({ in_channels: info.map((f) => f.channels), out_channels: cfg.neck.out_channels, num_outs: cfg.neck.num_outs }));
    this.rpn_head = this.child('rpn_head', new RPNHead(cfg.neck.out_channels, cfg.rpn, numBaseAnchors(cfg.anchor)));
    this.roi_head = this.child('roi_head', new StandardRoIHead(cfg.neck.out_channels, cfg.num_classes, cfg.roi));
    this.anchors = new AnchorGenerator(cfg.anchor);
  }

  /** (B, H, W, 3) -> padded to the size divisor (zeros right/bottom, as mmdet's data preprocessor) */
  private pad(x: Tensor): Tensor {
    const [, H, W] = x.shape;
    const d = this.cfg.size_divisor;
    const ph = Math.ceil(H / d) * d - H, pw = Math.ceil(W / d) * d - W;
    return ph || pw ? tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) : x;
  }

  /** normalised images (B, H, W, 3) -> FPN levels (B, h, w, C), finest first */
  features(x: Tensor): Tensor[] {
    return tf.tidy(() => this.neck.forward(this.backbone.forwardIntermediates(this.pad(x), { indices: this.cfg.in_indices, norm: true })));
  }

  /** anchors of all levels concatenated (n*4) and the count per level */
  private anchorsFor(feats: Tensor[]): { all: Float32Array; sizes: number[] } {
    const levels = this.anchors.levels(feats.map((f) => [f.shape[1], f.shape[2]] as [number, number]));
    const all = new Float32Array(levels.reduce((n, l) => n + l.length, 0));
    let o = 0;
    for (const l of levels) { all.set(l, o); o += l.length; }
    return { all, sizes: levels.map((l) => l.length / 4) };
  }

  /** RPN proposals per image from one forward; reads the device (async). */
  private async rpnProposals(x: Tensor, train: boolean): Promise<{ proposals: Float32Array[]; anchors: Float32Array; feats: Tensor[] | null }> {
    const [B, H, W] = x.shape;
    const run = () => tf.tidy(() => {
      const feats = this.features(x);
      const { cls, reg } = this.rpn_head.forward(feats);
      return { feats, packed: tf.concat([tf.expandDims(cls, 2), reg], 2) }; // (B, n, 5)
    });
    // training: the taped pass recomputes everything, so this pass leaves RNG and buffers untouched
    const { feats, packed } = train ? withRestoredState(this, run) : run();
    const { all, sizes } = this.anchorsFor(feats);
    const v = await packed.data(); // GPU->CPU sync: objectness and deltas of every anchor
    packed.dispose();
    const n = all.length / 4;
    const cfg = train ? this.cfg.rpn.train_proposals : this.cfg.rpn.test_proposals;
    const proposals: Float32Array[] = [];
    for (let b = 0; b < B; b++) {
      const rows = v.subarray(b * n * 5, (b + 1) * n * 5);
      const logits = new Float32Array(n), deltas = new Float32Array(n * 4);
      for (let i = 0; i < n; i++) {
        logits[i] = rows[5 * i];
        deltas.set(rows.subarray(5 * i + 1, 5 * i + 5), 4 * i);
      }
      proposals.push(this.rpn_head.proposals(logits, deltas, all, sizes, [H, W], cfg).boxes);
    }
    if (train) {
      tf.dispose(feats);
      return { proposals, anchors: all, feats: null };
    }
    return { proposals, anchors: all, feats };
  }

  /** Pass 1 of a training step: proposals, then RPN and RoI targets for `gts` (async). */
  async prepare(x: Tensor, gts: GtInstances[]): Promise<DetTargets> {
    if (gts.length !== x.shape[0]) throw new Error(`mask_rcnn: ${gts.length} ground-truth sets for a batch of ${x.shape[0]}`);
    // the samplers' generator is drawn first, so the two forward passes see the same global RNG state
    const rng = new Rng(globalRng.nextU32());
    const { proposals, anchors } = await this.rpnProposals(x, true);
    const [, H, W] = x.shape;
    return {
      rpn: this.rpn_head.targets(anchors, gts.map((g) => g.boxes), rng),
      roi: this.roi_head.targets(proposals, gts, [H, W], rng),
      numProposals: proposals.map((p) => p.length / 4),
    };
  }

  /** Pass 2: the losses (mmdet's names) and their sum; differentiable, synchronous. */
  loss(x: Tensor, t: DetTargets): { total: tf.Scalar; parts: Record<string, Tensor> } {
    return tf.tidy(() => {
      const feats = this.features(x);
      const rpn = this.rpn_head.loss(this.rpn_head.forward(feats), t.rpn);
      const roi = this.roi_head.loss(feats.slice(0, this.cfg.roi.featmap_strides.length), t.roi);
      const parts: Record<string, Tensor> = { ...rpn, ...roi };
      return { total: tf.addN(Object.values(parts)) as tf.Scalar, parts };
    });
  }

  /** Detections per image in network-input pixels (boxes, scores, labels, 28x28 mask probabilities). */
  async predict(x: Tensor, { masks = true }: { masks?: boolean } = {}): Promise<Detections[]> {
    const [, H, W] = x.shape;
    const { proposals, feats } = await this.rpnProposals(x, false);
    try {
      return await this.roi_head.predict(feats!.slice(0, this.cfg.roi.featmap_strides.length), proposals, [H, W], masks);
    } finally {
      tf.dispose(feats!);
    }
  }
}

/** Builds the detector on a backbone: preset ('paper' | 'tiny') merged with overrides. */
export function createMaskRcnn(backbone: Backbone, overrides: Json = {}, preset = 'paper'): MaskRCNN {
  const p = MASK_RCNN_PRESETS[preset];
  if (!p) throw new Error(`mask_rcnn: unknown preset '${preset}' (${Object.keys(MASK_RCNN_PRESETS).join(', ')})`);
  return new MaskRCNN(backbone, mergeConfig(mergeConfig(MASK_RCNN_PAPER, p), overrides));
}

heads.register('mask_rcnn', {
  description: 'Mask R-CNN + FPN (mmdet mask-rcnn_r50_fpn_1x_coco): RPN, RoIAlign box and mask heads',
  kind: 'detector',
  upstream: 'open-mmlab/mmdetection configs/_base_/models/mask-rcnn_r50_fpn.py (3.x)',
  presets: MASK_RCNN_PRESETS,
  create: (backbone: unknown, overrides?: unknown, preset?: unknown) => createMaskRcnn(backbone as Backbone, (overrides ?? {}) as Json, (preset as string | undefined) ?? 'paper'),
});
