// The evaluators' public names, re-exported from the package root (index.ts): the COCO API and COCOeval
// (pycocotools port), its mask API as `cocoMask`, VOC mAP and semantic-segmentation metrics.
export {
  COCO,
  COCOeval,
  evaluateCoco,
  Params as CocoParams,
  mask as cocoMask,
  type CocoEvalResult,
  type LoadResOptions,
  type EvalImg,
  type Accumulated,
  type IouType,
  type Rle,
  type RleJson,
  type CocoDataset,
  type CocoImage,
  type CocoAnnotation,
  type CocoCategory,
  type CocoResult,
} from './coco/index.ts';
export { vocMap, vocAp, vocIou, type VocImageGt, type VocImageDet, type VocMapOptions, type VocMapResult, type VocApMetric } from './voc-map.ts';
export { SegMetric, type SegMetricOptions, type SegMetricResult } from './seg-metrics.ts';
