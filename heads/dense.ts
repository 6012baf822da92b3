// Public API of the dense-prediction heads (re-exported from the package root in one line): FPN,
// Mask R-CNN and UperNet with their configurations, the RoIAlign op, the host-side detection pieces
// (anchors, box coder, NMS, assigner, sampler, mask paste), and `ssmv train task=detect|segment`.
export { FPN, type FpnConfig } from './fpn.ts';
export { MaskRCNN, createMaskRcnn, mergeConfig, MASK_RCNN_PAPER, MASK_RCNN_TINY, type MaskRcnnConfig, type DetTargets } from './mask_rcnn.ts';
export { UperNet, createUperNet, UPERNET_PAPER, UPERNET_TINY, type UperNetConfig } from './upernet.ts';
export { roiAlign, roiAlignReference, roiAlignArrays, type RoIAlignOptions } from './kernel/roi-align/index.ts';
export { AnchorGenerator, baseAnchors, gridAnchors, type AnchorConfig } from './det/anchors.ts';
export { bboxOverlaps, encodeBoxes, decodeBoxes, RPN_CODER, RCNN_CODER, type CoderConfig } from './det/boxes.ts';
export { nms, batchedNms } from './det/nms.ts';
export { assignMaxIou, sampleRandom, type AssignerConfig, type SamplerConfig, type AssignResult, type SamplingResult } from './det/assigner.ts';
export { pasteMask } from './det/mask-paste.ts';
export { gtFromBatch } from './det/gt.ts';
export type { GtInstances, Detections } from './det/roi-head.ts';
export { resizeBilinear, resizeNearest, adaptiveAvgPool } from './layers/resize.ts';
export { trainDense, buildDenseModel, denseBackbone, type DenseResult, type DenseOptions } from '../train/dense.ts';
export { DENSE_SCHEMA, denseConfigFrom, resolveDense, type DenseConfig, type DenseTask } from '../train/dense-config.ts';
export { evaluateDetector, cocoResults, type CocoDetection } from '../train/detect-task.ts';
export { evaluateSegmentor } from '../train/segment-task.ts';
