// One call for the usual flow: COCO(gt) -> loadRes(dt) -> COCOeval evaluate / accumulate / summarize,
// plus per-category AP (mean of precision > -1 over IoU .50:.95 and recall points at area all,
// the last maxDets, as detectron2's per-category table does; null for a category with no ground truth).
import { COCO, type LoadResOptions } from './coco.ts';
import { COCOeval } from './cocoeval.ts';
import type { IouType } from './params.ts';
import type { CocoDataset, Id } from './types.ts';
import { pairwiseSum } from './summarize.ts';

export interface CocoEvalResult {
  iouType: IouType;
  /** the 12 numbers in pycocotools' order */
  stats: number[];
  /** pycocotools' printed summary, 12 lines */
  text: string;
  perCategory: { id: Id; name: string; ap: number | null; ap50: number | null }[];
  warnings: string[];
  counts: { images: number; groundTruths: number; detections: number };
}

export function evaluateCoco(gt: COCO | CocoDataset | string, dt: readonly unknown[] | string, iouType: IouType, opts: LoadResOptions = {}): CocoEvalResult {
  const cocoGt = gt instanceof COCO ? gt : new COCO(gt);
  const cocoDt = cocoGt.loadRes(dt, opts);
  const E = new COCOeval(cocoGt, cocoDt, iouType);
  E.evaluate();
  const ev = E.accumulate();
  const stats = E.summarize();
  const [T, R, K, A, M] = ev.counts;
  const p = E.params;
  const mean = (vals: number[]) => (vals.length ? pairwiseSum(vals) / vals.length : null);
  const perCategory = p.catIds.map((id, k) => {
    const at = (t: number, r: number) => ev.precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)];
    const all: number[] = [];
    const at50: number[] = [];
    for (let t = 0; t < T; t++) for (let r = 0; r < R; r++) if (at(t, r) > -1) all.push(at(t, r));
    const t50 = Array.from(p.iouThrs).indexOf(0.5);
    if (t50 >= 0) for (let r = 0; r < R; r++) if (at(t50, r) > -1) at50.push(at(t50, r));
    return { id, name: cocoGt.cats.get(id)?.name ?? String(id), ap: mean(all), ap50: mean(at50) };
  });
  return {
    iouType,
    stats,
    text: E.summaryText(),
    perCategory,
    warnings: [...cocoGt.warnings, ...cocoDt.warnings],
    counts: { images: p.imgIds.length, groundTruths: cocoGt.anns.size, detections: cocoDt.anns.size },
  };
}
