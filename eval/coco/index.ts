// COCO API and evaluator in TypeScript, ported from the official cocoapi (pycocotools) so that it gives the
// same numbers: COCO (annotations), mask (RLE API), COCOeval (bbox / segm).
export { COCO, readJsonFile, type LoadResOptions } from './coco.ts';
export { COCOeval, argsortDesc, type EvalImg, type Accumulated } from './cocoeval.ts';
export { Params, linspace, type IouType } from './params.ts';
export { summarizeDets, summarizeOne, pyFixed, pairwiseSum, type SummaryLine } from './summarize.ts';
export {
  type Rle,
  type RleJson,
  rleEncode,
  rleDecode,
  rleArea,
  rleToBbox,
  rleMerge,
  rleToString,
  rleFromString,
  rleFromCounts,
  rleFromJson,
  rleToJson,
} from './rle.ts';
export { rleFrPoly, rleFrBbox, segmentationToRle, type Segmentation } from './poly.ts';
export { bbIou, rleIou, type Box } from './iou.ts';
export * as mask from './mask.ts';
export type { CocoDataset, CocoImage, CocoAnnotation, CocoCategory, CocoResult, Id } from './types.ts';
export { evaluateCoco, type CocoEvalResult } from './evaluate.ts';
