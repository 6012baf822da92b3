// PASCAL VOC detection mAP: per-class AP with `difficult` objects, 11-point (VOC2007) or area under the
// interpolated precision-recall curve (VOC2010+). Follows the official devkit port `voc_eval.py`
// (py-faster-rcnn lib/datasets/voc_eval.py: voc_eval / voc_ap) and mmdet's `eval_map`
// (mmdet/evaluation/functional/mean_ap.py: tpfp_default, average_precision):
//  - detections of a class over all images sorted by score (descending, stable: ties keep input order; the
//    official code uses numpy's unstable default sort, so its tie order is unspecified);
//  - each takes the ground truth (difficult ones included) of highest IoU; IoU > thr (official) or >= thr
//    (mmdet, `inclusiveThreshold`) -> a difficult gt makes it neither TP nor FP, an unclaimed gt a TP, a
//    claimed one a FP; otherwise FP;
//  - boxes are [x1, y1, x2, y2]; `legacyCoordinates` (default, as VOC and mmdet's VOCMetric) adds 1 to
//    widths and heights (x2, y2 inclusive pixels);
//  - mAP = mean over classes that have at least one non-difficult object (mmdet); float64 throughout
//    (mmdet keeps float32, so its numbers can differ in the 7th digit).

export interface VocImageGt {
  /** (G, 4) [x1, y1, x2, y2] */
  boxes: readonly (readonly number[])[];
  /** (G) class index in [0, numClasses) */
  labels: readonly number[];
  /** (G) difficult flags (absent = none difficult) */
  difficult?: readonly (boolean | number)[];
}

export interface VocImageDet {
  /** (D, 4) [x1, y1, x2, y2] */
  boxes: readonly (readonly number[])[];
  scores: readonly number[];
  labels: readonly number[];
}

export type VocApMetric = '11point' | 'area';

export interface VocMapOptions {
  numClasses: number;
  metric?: VocApMetric;
  iouThr?: number;
  legacyCoordinates?: boolean;
  /** mmdet matches at IoU >= thr; the official voc_eval at IoU > thr (default) */
  inclusiveThreshold?: boolean;
  classNames?: readonly string[];
}

export interface VocClassResult {
  classIndex: number;
  name: string;
  /** non-difficult ground truths */
  numGts: number;
  numDets: number;
  /** null when the class has no non-difficult ground truth */
  ap: number | null;
  /** final recall (0 without detections) */
  recall: number;
  /** cumulative recall / precision after each detection in score order */
  recalls: Float64Array;
  precisions: Float64Array;
}

export interface VocMapResult {
  mAP: number;
  metric: VocApMetric;
  iouThr: number;
  perClass: VocClassResult[];
}

/** voc_ap: 11-point or area AP from cumulative recall/precision (recall non-decreasing). */
export function vocAp(rec: ArrayLike<number>, prec: ArrayLike<number>, metric: VocApMetric): number {
  const n = rec.length;
  if (metric === '11point') {
    let ap = 0;
    for (let i = 0; i < 11; i++) {
      const t = i * 0.1; // np.arange(0., 1.1, 0.1)
      let p = 0;
      let any = false;
      for (let j = 0; j < n; j++) {
        if (rec[j] >= t) {
          p = any ? Math.max(p, prec[j]) : prec[j];
          any = true;
        }
      }
      ap += (any ? p : 0) / 11;
    }
    return ap;
  }
  // area: sentinels (0, 0) and (1, 0), precision envelope, sum of rectangles where recall changes
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  for (let j = 0; j < n; j++) {
    mrec[j + 1] = rec[j];
    mpre[j + 1] = prec[j];
  }
  mrec[n + 1] = 1;
  for (let i = n + 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
  let ap = 0;
  for (let i = 0; i < n + 1; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

/** IoU of [x1, y1, x2, y2] boxes, optionally with VOC's inclusive (+1) pixel extents. */
export function vocIou(a: readonly number[], b: readonly number[], legacy: boolean): number {
  const e = legacy ? 1 : 0;
  const iw = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + e, 0);
  const ih = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + e, 0);
  const inter = iw * ih;
  const uni = (a[2] - a[0] + e) * (a[3] - a[1] + e) + (b[2] - b[0] + e) * (b[3] - b[1] + e) - inter;
  return inter / uni;
}

function checkBoxes(boxes: readonly (readonly number[])[], n: number, what: string): void {
  if (boxes.length !== n) throw new Error(`${what}: ${boxes.length} boxes for ${n} labels`);
  boxes.forEach((b, j) => {
    if (b.length !== 4 || !b.every(Number.isFinite)) throw new Error(`${what}: box ${j} must be [x1, y1, x2, y2] of finite numbers, got ${JSON.stringify(b)}`);
    if (b[2] < b[0] || b[3] < b[1]) throw new Error(`${what}: box ${j} ${JSON.stringify(b)} has x2 < x1 or y2 < y1`);
  });
}

/** Per-class AP and mAP over a dataset: `gts[i]` and `dets[i]` belong to image i. */
export function vocMap(dets: readonly VocImageDet[], gts: readonly VocImageGt[], opts: VocMapOptions): VocMapResult {
  const { numClasses, metric = 'area', iouThr = 0.5, legacyCoordinates = true, inclusiveThreshold = false } = opts;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  if (dets.length !== gts.length) throw new Error(`detections cover ${dets.length} images, ground truth ${gts.length}`);
  const checkLabel = (l: number, what: string) => {
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) throw new Error(`${what}: label ${l} outside [0, ${numClasses})`);
  };
  gts.forEach((g, i) => {
    checkBoxes(g.boxes, g.labels.length, `ground truth of image ${i}`);
    g.labels.forEach((l) => checkLabel(l, `ground truth of image ${i}`));
    if (g.difficult && g.difficult.length !== g.labels.length) throw new Error(`ground truth of image ${i}: ${g.difficult.length} difficult flags for ${g.labels.length} boxes`);
  });
  dets.forEach((d, i) => {
    checkBoxes(d.boxes, d.labels.length, `detections of image ${i}`);
    if (d.scores.length !== d.labels.length) throw new Error(`detections of image ${i}: ${d.scores.length} scores for ${d.labels.length} boxes`);
    d.labels.forEach((l) => checkLabel(l, `detections of image ${i}`));
    d.scores.forEach((s) => {
      if (!Number.isFinite(s)) throw new Error(`detections of image ${i}: score ${s} is not finite`);
    });
  });
  const matches = (iou: number) => (inclusiveThreshold ? iou >= iouThr : iou > iouThr);
  const perClass: VocClassResult[] = [];
  for (let c = 0; c < numClasses; c++) {
    // this class's ground truth per image
    const clsGt = gts.map((g) => {
      const idx = g.labels.flatMap((l, j) => (l === c ? [j] : []));
      return { boxes: idx.map((j) => g.boxes[j]), difficult: idx.map((j) => !!g.difficult?.[j]), claimed: new Uint8Array(idx.length) };
    });
    const numGts = clsGt.reduce((s, g) => s + g.difficult.filter((d) => !d).length, 0);
    const list: { img: number; box: readonly number[]; score: number }[] = [];
    dets.forEach((d, i) => d.labels.forEach((l, j) => l === c && list.push({ img: i, box: d.boxes[j], score: d.scores[j] })));
    list.sort((a, b) => b.score - a.score); // stable
    const nd = list.length;
    const recalls = new Float64Array(nd);
    const precisions = new Float64Array(nd);
    let tp = 0;
    let fp = 0;
    list.forEach((d, k) => {
      const g = clsGt[d.img];
      let ovmax = -Infinity;
      let jmax = -1;
      g.boxes.forEach((b, j) => {
        const o = vocIou(d.box, b, legacyCoordinates);
        if (o > ovmax) {
          ovmax = o;
          jmax = j;
        }
      });
      if (jmax >= 0 && matches(ovmax)) {
        if (!g.difficult[jmax]) {
          if (!g.claimed[jmax]) {
            tp++;
            g.claimed[jmax] = 1;
          } else fp++;
        }
      } else fp++;
      recalls[k] = numGts > 0 ? tp / numGts : 0;
      precisions[k] = tp / Math.max(tp + fp, Number.EPSILON);
    });
    perClass.push({
      classIndex: c,
      name: opts.classNames?.[c] ?? String(c),
      numGts,
      numDets: nd,
      ap: numGts > 0 ? vocAp(recalls, precisions, metric) : null,
      recall: numGts > 0 && nd > 0 ? recalls[nd - 1] : 0,
      recalls,
      precisions,
    });
  }
  const aps = perClass.flatMap((r) => (r.ap === null ? [] : [r.ap]));
  return { mAP: aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : 0, metric, iouThr, perClass };
}
