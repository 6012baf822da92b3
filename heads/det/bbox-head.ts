// mmdet Shared2FCBBoxHead (models/roi_heads/bbox_heads/convfc_bbox_head.py + bbox_head.py): the RoI
// features flattened in PyTorch's (C, 7, 7) order, two shared fc + ReLU (1024), fc_cls (K + 1, last =
// background) and class-specific fc_reg (4K). Init: shared_fcs Xavier uniform, fc_cls N(0, 0.01),
// fc_reg N(0, 0.001), biases 0. Loss (BBoxHead.loss): softmax CE over the sampled RoIs / their count,
// L1 of the positive RoIs' deltas for their gt class / the number of sampled RoIs.
import { tf, type Tensor } from '../../core/tf.ts';
import { Module, ModuleList, Linear } from '../../core/nn/index.ts';
import { normalInit, reinit, xavierUniform, zeroInit } from '../layers/init.ts';
import { softmaxCrossEntropy, weightedSum } from '../layers/losses.ts';

/** Host-side targets of the sampled RoIs (in the extractor's level-sorted order). */
export interface BBoxTargets {
  /** (R) class, K for background */
  labels: Int32Array;
  labelWeights: Float32Array;
  /** (R*4) normalised deltas of positives (0 for negatives) */
  bboxTargets: Float32Array;
  bboxWeights: Float32Array;
  /** (R*K) one-hot of each positive's class (selects its 4 class-specific deltas) */
  classMask: Float32Array;
}

function linear(cin: number, cout: number, init: 'xavier' | number): Linear {
  const l = new Linear(cin, cout);
  reinit(l.weight, init === 'xavier' ? xavierUniform([cout, cin], [cout, cin]) : normalInit([cout, cin], init));
  zeroInit(l.bias);
  return l;
}

export class Shared2FCBBoxHead extends Module {
  readonly shared_fcs: ModuleList<Linear>;
  readonly fc_cls: Linear;
  readonly fc_reg: Linear;

  constructor(readonly inChannels: number, readonly roiSize: number, readonly fcChannels: number, readonly numClasses: number) {
    super();
    const flat = inChannels * roiSize * roiSize;
    this.shared_fcs = this.child('shared_fcs', new ModuleList([linear(flat, fcChannels, 'xavier'), linear(fcChannels, fcChannels, 'xavier')]));
    this.fc_cls = this.child('fc_cls', linear(fcChannels, numClasses + 1, 0.01));
    this.fc_reg = this.child('fc_reg', linear(fcChannels, numClasses * 4, 0.001));
  }

  /** (R, s, s, C) -> cls (R, K + 1), reg (R, 4K) */
  forward(roiFeats: Tensor): { cls: Tensor; reg: Tensor } {
    return tf.tidy(() => {
      const R = roiFeats.shape[0];
      let x = tf.reshape(tf.transpose(roiFeats, [0, 3, 1, 2]), [R, -1]); // PyTorch flattens (C, h, w)
      for (const fc of this.shared_fcs.items) x = tf.relu(fc.forward(x));
      return { cls: this.fc_cls.forward(x), reg: this.fc_reg.forward(x) };
    });
  }

  loss(out: { cls: Tensor; reg: Tensor }, t: BBoxTargets): { loss_cls: Tensor; loss_bbox: Tensor } {
    return tf.tidy(() => {
      const R = t.labels.length, K = this.numClasses;
      let sampled = 0;
      for (const w of t.labelWeights) if (w > 0) sampled++;
      const ce = softmaxCrossEntropy(out.cls, tf.tensor1d(t.labels, 'int32'));
      const picked = tf.sum(tf.mul(tf.reshape(out.reg, [R, K, 4]), tf.tensor3d(t.classMask, [R, K, 1])), 1); // (R, 4)
      return {
        loss_cls: weightedSum(ce, t.labelWeights, Math.max(sampled, 1)),
        loss_bbox: weightedSum(tf.abs(tf.sub(picked, tf.tensor2d(t.bboxTargets, [R, 4]))), t.bboxWeights, R),
      };
    });
  }
}
