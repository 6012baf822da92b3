// ultralytics' own detection statistics for the precision / recall columns of results.csv
// (ultralytics/models/yolo/detect/val.py `_process_batch` + engine/validator.py `match_predictions`,
// utils/metrics.py `ap_per_class`, `smooth`): every prediction is matched greedily to the ground truth
// of its class at IoU thresholds 0.50:0.05:0.95, then P and R are read per class at the confidence of
// the largest (smoothed) mean F1 and averaged over the classes present in the labels.
// The mAP columns come from eval/coco (pycocotools' algorithm), not from here.
import { iouXyxy } from '../../heads/yolo/nms.ts';

export const IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);

/**
 * match_predictions (no scipy): (N preds) x (T thresholds) correct flags. For each threshold, pairs
 * with IoU >= t and equal classes, sorted by IoU descending, each GT and each prediction used once.
 */
export function matchPredictions(predBoxes: ArrayLike<number>, predCls: ArrayLike<number>, gtBoxes: ArrayLike<number>, gtCls: ArrayLike<number>, thresholds = IOU_THRESHOLDS): Uint8Array[] {
  const np = predCls.length, ng = gtCls.length;
  const correct = thresholds.map(() => new Uint8Array(np));
  if (!np || !ng) return correct;
  const iou = new Float64Array(ng * np);
  for (let g = 0; g < ng; g++) for (let p = 0; p < np; p++) iou[g * np + p] = gtCls[g] === predCls[p] ? iouXyxy(gtBoxes, g, predBoxes, p) : 0;
  thresholds.forEach((t, ti) => {
    const pairs: Array<[number, number, number]> = [];
    for (let g = 0; g < ng; g++) for (let p = 0; p < np; p++) if (iou[g * np + p] >= t) pairs.push([g, p, iou[g * np + p]]);
    // argsort()[::-1] then np.unique(return_index) keeps, per key, the first row of the sorted order
    pairs.sort((a, b) => b[2] - a[2]);
    const usedP = new Set<number>(), usedG = new Set<number>();
    const byPred: Array<[number, number]> = [];
    for (const [g, p] of pairs) if (!usedP.has(p)) { usedP.add(p); byPred.push([g, p]); }
    // np.unique(..., return_index=True) returns the rows ordered by the unique key: the survivors are
    // in prediction order, so the second pass keeps, per GT, the match of the lowest prediction index
    byPred.sort((a, b) => a[1] - b[1]);
    for (const [g, p] of byPred) if (!usedG.has(g)) { usedG.add(g); correct[ti][p] = 1; }
  });
  return correct;
}

/** np.interp(x, xp, fp, left, right) for increasing xp */
function interp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>, left: number, right: number): number {
  const n = xp.length;
  if (!n) return left;
  if (x < xp[0]) return left;
  if (x > xp[n - 1]) return right;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xp[mid] <= x) lo = mid;
    else hi = mid;
  }
  if (xp[hi] === xp[lo]) return fp[hi];
  if (x === xp[hi]) return fp[hi];
  return fp[lo] + ((fp[hi] - fp[lo]) * (x - xp[lo])) / (xp[hi] - xp[lo]);
}

/** smooth(y, f): box filter of odd width round(len * f * 2) // 2 + 1, edges padded with the end values */
export function smooth(y: ArrayLike<number>, f = 0.05): Float64Array {
  const n = y.length;
  const nf = Math.floor(Math.round(n * f * 2) / 2) + 1;
  const half = Math.floor(nf / 2);
  const out = new Float64Array(n);
  const at = (i: number) => y[Math.min(Math.max(i, 0), n - 1)];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = -half; k <= half; k++) s += at(i + k);
    out[i] = s / nf;
  }
  return out;
}

export interface PrStats {
  /** mean precision / recall over the classes present in the labels, at the max mean-F1 confidence */
  precision: number;
  recall: number;
}

/** ap_per_class's precision and recall (tp at IoU 0.5, the first threshold) */
export function precisionRecall(tp50: ArrayLike<number>, conf: ArrayLike<number>, predCls: ArrayLike<number>, targetCls: ArrayLike<number>, eps = 1e-16): PrStats {
  const order = Array.from({ length: conf.length }, (_, i) => i).sort((a, b) => conf[b] - conf[a] || a - b);
  const counts = new Map<number, number>();
  for (let i = 0; i < targetCls.length; i++) counts.set(targetCls[i], (counts.get(targetCls[i]) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  if (!classes.length) return { precision: 0, recall: 0 };
  const X = 1000;
  const xs = Array.from({ length: X }, (_, i) => i / (X - 1));
  const pCurve = classes.map(() => new Float64Array(X)), rCurve = classes.map(() => new Float64Array(X));
  classes.forEach((c, ci) => {
    const idx = order.filter((i) => predCls[i] === c);
    const nl = counts.get(c)!;
    if (!idx.length) return; // curves stay 0
    const negConf: number[] = [], recall: number[] = [], precision: number[] = [];
    let tpc = 0, fpc = 0;
    for (const i of idx) {
      if (tp50[i]) tpc++;
      else fpc++;
      negConf.push(-conf[i]);
      recall.push(tpc / (nl + eps));
      precision.push(tpc / (tpc + fpc));
    }
    for (let k = 0; k < X; k++) {
      rCurve[ci][k] = interp(-xs[k], negConf, recall, 0, recall[recall.length - 1]);
      pCurve[ci][k] = interp(-xs[k], negConf, precision, 1, precision[precision.length - 1]);
    }
  });
  const f1Mean = new Float64Array(X);
  for (let k = 0; k < X; k++) {
    let s = 0;
    classes.forEach((_, ci) => {
      const p = pCurve[ci][k], r = rCurve[ci][k];
      s += (2 * p * r) / (p + r + eps);
    });
    f1Mean[k] = s / classes.length;
  }
  const sm = smooth(f1Mean, 0.1);
  let best = 0;
  for (let k = 1; k < X; k++) if (sm[k] > sm[best]) best = k;
  const mean = (curves: Float64Array[]) => curves.reduce((a, c) => a + c[best], 0) / curves.length;
  return { precision: mean(pCurve), recall: mean(rCurve) };
}
