// Semantic-segmentation metrics accumulated over batches, as mmseg's IoUMetric
// (mmseg/evaluation/metrics/iou_metric.py: intersect_and_union, total_area_to_metrics):
//  - pixels whose label is `ignoreIndex` (255) are dropped;
//  - per class c in [0, numClasses): intersect = #(pred == label == c), areaPred = #(pred == c),
//    areaLabel = #(label == c) over the kept pixels (values outside [0, numClasses) count in no histogram,
//    as torch.histc ignores them); union = areaPred + areaLabel - intersect;
//  - IoU = intersect / union, Acc = intersect / areaLabel, Dice = 2 intersect / (areaPred + areaLabel),
//    aAcc = sum(intersect) / sum(areaLabel); mIoU, mAcc, mDice are means over the classes where the ratio is
//    defined (NaN, i.e. 0/0, left out: np.nanmean).
// `reduceZeroLabel` (ADE20K): label 0 becomes 255 and every other label drops by one, before the above.
// Values are fractions; mmseg prints them x100 rounded to 2 decimals.

export interface SegMetricOptions {
  numClasses: number;
  ignoreIndex?: number;
  reduceZeroLabel?: boolean;
  classNames?: readonly string[];
}

export interface SegMetricResult {
  /** pixel accuracy over all kept pixels */
  aAcc: number;
  mIoU: number;
  mAcc: number;
  mDice: number;
  perClass: { name: string; iou: number; acc: number; dice: number }[];
  /** pixels counted (label not ignored) */
  pixels: number;
}

const nanmean = (v: number[]) => {
  const ok = v.filter((x) => !Number.isNaN(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
};

export class SegMetric {
  readonly numClasses: number;
  readonly ignoreIndex: number;
  readonly reduceZeroLabel: boolean;
  readonly classNames?: readonly string[];
  /** (C) running totals; float64 so large datasets stay exact up to 2^53 pixels */
  readonly areaIntersect: Float64Array;
  readonly areaPred: Float64Array;
  readonly areaLabel: Float64Array;
  /** (C, C) confusion counts [label][pred] of kept pixels with both in range */
  readonly confusion: Float64Array;
  pixels = 0;

  constructor(opts: SegMetricOptions) {
    const { numClasses, ignoreIndex = 255, reduceZeroLabel = false } = opts;
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
    this.numClasses = numClasses;
    this.ignoreIndex = ignoreIndex;
    this.reduceZeroLabel = reduceZeroLabel;
    this.classNames = opts.classNames;
    this.areaIntersect = new Float64Array(numClasses);
    this.areaPred = new Float64Array(numClasses);
    this.areaLabel = new Float64Array(numClasses);
    this.confusion = new Float64Array(numClasses * numClasses);
  }

  /**
   * Add one label map or a batch of them, flattened: `pred` holds class indices (argmax already taken),
   * `label` the ground truth, same length and order (e.g. (B, H, W) row-major).
   */
  update(pred: ArrayLike<number>, label: ArrayLike<number>): void {
    if (pred.length !== label.length) throw new Error(`prediction has ${pred.length} pixels, label ${label.length}`);
    const C = this.numClasses;
    const inRange = (v: number) => v >= 0 && v < C && Number.isInteger(v);
    for (let i = 0; i < label.length; i++) {
      let l = label[i];
      if (this.reduceZeroLabel) l = l === 0 ? 255 : l - 1 === 254 ? 255 : l - 1;
      if (l === this.ignoreIndex) continue;
      const p = pred[i];
      this.pixels++;
      const pOk = inRange(p);
      const lOk = inRange(l);
      if (pOk) this.areaPred[p]++;
      if (lOk) this.areaLabel[l]++;
      if (pOk && lOk) {
        this.confusion[l * C + p]++;
        if (p === l) this.areaIntersect[p]++;
      }
    }
  }

  reset(): void {
    for (const a of [this.areaIntersect, this.areaPred, this.areaLabel, this.confusion]) a.fill(0);
    this.pixels = 0;
  }

  compute(): SegMetricResult {
    const C = this.numClasses;
    const perClass = Array.from({ length: C }, (_, c) => {
      const i = this.areaIntersect[c];
      const union = this.areaPred[c] + this.areaLabel[c] - i;
      return {
        name: this.classNames?.[c] ?? String(c),
        iou: i / union,
        acc: i / this.areaLabel[c],
        dice: (2 * i) / (this.areaPred[c] + this.areaLabel[c]),
      };
    });
    const sumI = this.areaIntersect.reduce((a, b) => a + b, 0);
    const sumL = this.areaLabel.reduce((a, b) => a + b, 0);
    return {
      aAcc: sumI / sumL,
      mIoU: nanmean(perClass.map((p) => p.iou)),
      mAcc: nanmean(perClass.map((p) => p.acc)),
      mDice: nanmean(perClass.map((p) => p.dice)),
      perClass,
      pixels: this.pixels,
    };
  }
}
