// COCOeval for iouType bbox and segm, ported from cocoapi `PythonAPI/pycocotools/cocoeval.py`
// (cocodataset/cocoapi @ 8c9bcc3): _prepare, evaluate, computeIoU, evaluateImg, accumulate; summarize is in
// summarize.ts. Every sort is stable in the order pycocotools feeds it (np.argsort kind='mergesort'):
// detections of an image in results-file order, images in increasing id order, so score ties resolve
// exactly as there. Arrays are flat typed arrays in numpy's C order.
import type { COCO } from './coco.ts';
import type { CocoAnnotation, Id } from './types.ts';
import { Params, type IouType } from './params.ts';
import { type Rle } from './rle.ts';
import { type Box, bbIou, rleIou } from './iou.ts';
import { summarizeDets, type SummaryLine } from './summarize.ts';

/** An annotation as the evaluation sees it (pycocotools mutates the dicts; we keep our own records). */
interface EvalAnn {
  id: number;
  area: number;
  score: number;
  /** `ignore` of _prepare: truthy iscrowd */
  ignore: boolean;
  /** int(iscrowd) != 0: crowd in IoU and in "already matched" */
  crowd: boolean;
  bbox?: Box;
  rle?: Rle;
}

/** evaluateImg's result for one (image, category, area range). Matrices are (T, D) / (T, G) row-major. */
export interface EvalImg {
  imageId: Id;
  categoryId: Id;
  aRng: [number, number];
  maxDet: number;
  dtIds: number[];
  gtIds: number[];
  /** matched gt id per (threshold, detection), 0 = unmatched */
  dtMatches: Float64Array;
  /** matched dt id per (threshold, gt), 0 = unmatched */
  gtMatches: Float64Array;
  dtScores: Float64Array;
  gtIgnore: Uint8Array;
  dtIgnore: Uint8Array;
}

export interface Accumulated {
  params: Params;
  /** [T, R, K, A, M] */
  counts: [number, number, number, number, number];
  /** (T, R, K, A, M), -1 where a category has no ground truth */
  precision: Float64Array;
  /** (T, K, A, M) */
  recall: Float64Array;
  /** (T, R, K, A, M): the score at each recall threshold */
  scores: Float64Array;
}

/** Stable argsort of `n` items by descending key (np.argsort(-key, kind='mergesort')). */
export function argsortDesc(key: ArrayLike<number>): number[] {
  const idx = Array.from({ length: key.length }, (_, i) => i);
  return idx.sort((a, b) => key[b] - key[a] || a - b);
}

/** First index i with a[i] >= v in a non-decreasing array (np.searchsorted side='left'). */
function searchLeft(a: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const numericCmp = (what: string) => (a: Id, b: Id) => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`${what} ids mix numbers and strings: pycocotools cannot sort them`);
};
/** np.unique: sorted, duplicates dropped. */
const uniqueSorted = (ids: readonly Id[], what: string) => [...new Set(ids)].sort(numericCmp(what));

export class COCOeval {
  params: Params;
  evalImgs: (EvalImg | null)[] = [];
  eval: Accumulated | null = null;
  stats: number[] = [];
  /** the 12 summary lines of the last summarize() */
  summaryLines: SummaryLine[] = [];
  /** IoU matrices (D, G) per (category index, image index) in evaluate's order; D sorted by score */
  ious = new Map<number, Float64Array>();
  private paramsEval: Params | null = null;
  private gts: EvalAnn[][] = [];
  private dts: EvalAnn[][] = [];
  private dtsSorted: EvalAnn[][] = [];

  constructor(
    public cocoGt: COCO,
    public cocoDt: COCO,
    iouType: IouType = 'segm',
  ) {
    this.params = new Params(iouType);
    this.params.imgIds = uniqueSorted(cocoGt.getImgIds(), 'image');
    this.params.catIds = uniqueSorted(cocoGt.getCatIds(), 'category');
  }

  /** Build the per (category, image) lists of ground truths and detections (_prepare). */
  private prepare(catIds: readonly Id[]): void {
    const p = this.params;
    const catFilter = p.useCats ? { catIds: p.catIds } : {};
    const gts = this.cocoGt.loadAnns(this.cocoGt.getAnnIds({ imgIds: p.imgIds, ...catFilter }));
    const dts = this.cocoDt.loadAnns(this.cocoDt.getAnnIds({ imgIds: p.imgIds, ...catFilter }));
    const I = p.imgIds.length;
    const imgIndex = new Map(p.imgIds.map((id, i) => [id, i]));
    // useCats=0: computeIoU concatenates the lists of p.catIds in that order; the key -1 stands for all
    const catIndex = new Map<Id, number>(p.useCats ? catIds.map((c, k) => [c, k]) : []);
    const catOrder = new Map<Id, number>(p.catIds.map((c, k) => [c, k]));
    const group = (anns: CocoAnnotation[], coco: COCO, isGt: boolean) => {
      const lists: EvalAnn[][] = Array.from({ length: catIds.length * I }, () => []);
      const tagged: { k: number; order: number; e: EvalAnn; i: number }[] = [];
      anns.forEach((a, n) => {
        const i = imgIndex.get(a.image_id);
        if (i === undefined) return;
        const order = catOrder.get(a.category_id);
        const k = p.useCats ? catIndex.get(a.category_id) : order === undefined ? undefined : 0;
        if (k === undefined) return;
        tagged.push({ k, order: p.useCats ? 0 : (order as number), e: this.toEvalAnn(a, coco, isGt), i: n });
      });
      // useCats=0: category order of p.catIds first, then load order (stable)
      if (!p.useCats) tagged.sort((x, y) => x.order - y.order || x.i - y.i);
      for (const t of tagged) lists[t.k * I + (imgIndex.get((anns[t.i] as CocoAnnotation).image_id) as number)].push(t.e);
      return lists;
    };
    this.gts = group(gts, this.cocoGt, true);
    this.dts = group(dts, this.cocoDt, false);
    this.evalImgs = [];
    this.eval = null;
  }

  private toEvalAnn(a: CocoAnnotation, coco: COCO, isGt: boolean): EvalAnn {
    const who = `${isGt ? 'ground-truth annotation' : 'result'} ${JSON.stringify(a.id)}`;
    if (typeof a.id !== 'number') throw new Error(`${who}: ids must be numbers (COCOeval stores matched ids in a float array)`);
    if (typeof a.area !== 'number' || Number.isNaN(a.area)) throw new Error(`${who} has no numeric 'area'`);
    const ic = a.iscrowd ?? (isGt ? undefined : 0); // only ground truth needs it (computeIoU reads gt iscrowd)
    if (typeof ic !== 'number' && typeof ic !== 'boolean') throw new Error(`${who} has no 'iscrowd' (0 or 1)`);
    let score = 0;
    if (!isGt) {
      if (typeof a.score !== 'number' || Number.isNaN(a.score)) throw new Error(`${who} has no numeric 'score'`);
      score = a.score;
    }
    const e: EvalAnn = { id: a.id, area: a.area, score, ignore: isGt && !!ic, crowd: Math.trunc(Number(ic)) !== 0 };
    if (this.params.iouType === 'segm') e.rle = coco.annToRLE(a);
    else {
      const bb = a.bbox;
      if (!Array.isArray(bb) || bb.length !== 4 || !bb.every((v) => typeof v === 'number')) {
        throw new Error(`${who}: 'bbox' must be [x, y, w, h], got ${JSON.stringify(bb)}`);
      }
      e.bbox = bb;
    }
    return e;
  }

  /** Per-image evaluation of every (category, area range, image): fills evalImgs. */
  evaluate(): void {
    const p = this.params;
    p.imgIds = uniqueSorted(p.imgIds, 'image');
    if (p.useCats) p.catIds = uniqueSorted(p.catIds, 'category');
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    const catIds: Id[] = p.useCats ? p.catIds : [-1];
    this.prepare(catIds);
    const I = p.imgIds.length;
    const maxDet = p.maxDets[p.maxDets.length - 1];
    this.ious = new Map();
    this.dtsSorted = [];
    for (let i = 0; i < I; i++) for (let k = 0; k < catIds.length; k++) this.ious.set(k * I + i, this.computeIoU(k * I + i));
    this.evalImgs = [];
    for (let k = 0; k < catIds.length; k++) {
      for (const aRng of p.areaRng) {
        for (let i = 0; i < I; i++) this.evalImgs.push(this.evaluateImg(k, i, aRng, maxDet, catIds[k]));
      }
    }
    this.paramsEval = structuredClone(p);
  }

  /**
   * IoU (D, G) of the image's detections (score order, at most maxDets[-1]) and ground truths. Also keeps
   * that sorted, cut list: evaluateImg's stable sort of the same list gives the same order.
   */
  private computeIoU(key: number): Float64Array {
    const p = this.params;
    const gt = this.gts[key];
    let dt = this.dts[key];
    if (gt.length === 0 && dt.length === 0) return new Float64Array(0);
    dt = argsortDesc(dt.map((d) => d.score)).map((j) => dt[j]);
    if (dt.length > p.maxDets[p.maxDets.length - 1]) dt = dt.slice(0, p.maxDets[p.maxDets.length - 1]);
    this.dtsSorted[key] = dt;
    if (dt.length === 0 || gt.length === 0) return new Float64Array(0);
    const crowd = gt.map((g) => (g.crowd ? 1 : 0));
    return p.iouType === 'segm'
      ? rleIou(dt.map((d) => d.rle as Rle), gt.map((g) => g.rle as Rle), crowd)
      : bbIou(dt.map((d) => d.bbox as Box), gt.map((g) => g.bbox as Box), crowd);
  }

  /** Greedy matching of one image and category in one area range, at every IoU threshold. */
  private evaluateImg(k: number, i: number, aRng: [number, number], maxDet: number, catId: Id): EvalImg | null {
    const p = this.params;
    const key = k * p.imgIds.length + i;
    const gtAll = this.gts[key];
    const dtAll = this.dts[key];
    if (gtAll.length === 0 && dtAll.length === 0) return null;
    const outside = (area: number) => area < aRng[0] || area > aRng[1];
    const ign = gtAll.map((g) => (g.ignore || outside(g.area) ? 1 : 0));
    const gtind = Array.from(ign.keys()).sort((a, b) => ign[a] - ign[b] || a - b); // ignored last, stable
    const gt = gtind.map((j) => gtAll[j]);
    // sorted by score and cut at maxDets[-1] in computeIoU (maxDet is that value here)
    const dt = (this.dtsSorted[key] ?? []).slice(0, maxDet);
    const iousFull = this.ious.get(key) as Float64Array;
    const G0 = gtAll.length;
    const T = p.iouThrs.length;
    const G = gt.length;
    const D = dt.length;
    const gtm = new Float64Array(T * G);
    const dtm = new Float64Array(T * D);
    const gtIg = Uint8Array.from(gtind.map((j) => ign[j]));
    const dtIg = new Uint8Array(T * D);
    if (iousFull.length > 0) {
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < D; d++) {
          let iou = Math.min(p.iouThrs[t], 1 - 1e-10);
          let m = -1;
          for (let g = 0; g < G; g++) {
            if (gtm[t * G + g] > 0 && !gt[g].crowd) continue; // matched, not a crowd
            if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break; // matched a regular gt, only ignored ones left
            const v = iousFull[d * G0 + gtind[g]];
            if (v < iou) continue;
            iou = v;
            m = g;
          }
          if (m === -1) continue;
          dtIg[t * D + d] = gtIg[m];
          dtm[t * D + d] = gt[m].id;
          gtm[t * G + m] = dt[d].id;
        }
      }
    }
    // unmatched detections outside the area range are ignored
    for (let d = 0; d < D; d++) {
      if (!outside(dt[d].area)) continue;
      for (let t = 0; t < T; t++) if (dtm[t * D + d] === 0) dtIg[t * D + d] = 1;
    }
    return {
      imageId: p.imgIds[i],
      categoryId: catId,
      aRng,
      maxDet,
      dtIds: dt.map((d) => d.id),
      gtIds: gt.map((g) => g.id),
      dtMatches: dtm,
      gtMatches: gtm,
      dtScores: Float64Array.from(dt.map((d) => d.score)),
      gtIgnore: gtIg,
      dtIgnore: dtIg,
    };
  }

  /** Precision/recall per (threshold, recall point, category, area range, maxDets) from evalImgs. */
  accumulate(pIn?: Params): Accumulated {
    const pe = this.paramsEval;
    if (!pe) throw new Error('Please run evaluate() first');
    // no images or no categories: nothing to accumulate, every entry stays -1 (pycocotools only prints)
    const p = pIn ?? this.params;
    if (!p.useCats) p.catIds = [-1];
    const T = p.iouThrs.length;
    const R = p.recThrs.length;
    const K = p.useCats ? p.catIds.length : 1;
    const A = p.areaRng.length;
    const M = p.maxDets.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    const scores = new Float64Array(T * R * K * A * M).fill(-1);
    const setK = new Set<Id>(pe.useCats ? pe.catIds : [-1]);
    const setA = new Set(pe.areaRng.map((a) => `${a[0]},${a[1]}`));
    const setM = new Set(pe.maxDets);
    const setI = new Set(pe.imgIds);
    const kList = p.catIds.flatMap((c, n) => (setK.has(c) ? [n] : []));
    const mList = p.maxDets.filter((m) => setM.has(m));
    const aList = p.areaRng.flatMap((a, n) => (setA.has(`${a[0]},${a[1]}`) ? [n] : []));
    const iList = p.imgIds.flatMap((id, n) => (setI.has(id) ? [n] : []));
    const I0 = pe.imgIds.length;
    const A0 = pe.areaRng.length;
    const EPS = 2.220446049250313e-16; // np.spacing(1)
    kList.forEach((k0, k) => {
      const Nk = k0 * A0 * I0;
      aList.forEach((a0, a) => {
        const Na = a0 * I0;
        mList.forEach((maxDet, m) => {
          const E = iList.map((i) => this.evalImgs[Nk + Na + i]).filter((e): e is EvalImg => !!e);
          if (E.length === 0) return;
          // concatenate the first maxDet detections of every image, in image order: scores (nd) and the
          // (T, nd) matched / ignored flags, as np.concatenate(..., axis=1)
          let nd = 0;
          let npig = 0;
          for (const e of E) {
            nd += Math.min(maxDet, e.dtScores.length);
            for (const g of e.gtIgnore) if (g === 0) npig++;
          }
          if (npig === 0) return;
          const sc = new Float64Array(nd);
          const matched = new Uint8Array(T * nd);
          const ignored = new Uint8Array(T * nd);
          let off = 0;
          for (const e of E) {
            const D = e.dtScores.length;
            const n = Math.min(maxDet, D);
            sc.set(e.dtScores.subarray(0, n), off);
            for (let t = 0; t < T; t++) {
              for (let d = 0; d < n; d++) {
                matched[t * nd + off + d] = e.dtMatches[t * D + d] !== 0 ? 1 : 0;
                ignored[t * nd + off + d] = e.dtIgnore[t * D + d];
              }
            }
            off += n;
          }
          const inds = argsortDesc(sc);
          const rc = new Float64Array(nd);
          const pr = new Float64Array(nd);
          for (let t = 0; t < T; t++) {
            let tp = 0;
            let fp = 0;
            for (let j = 0; j < nd; j++) {
              const at = t * nd + inds[j];
              if (!ignored[at]) {
                if (matched[at]) tp++;
                else fp++;
              }
              rc[j] = tp / npig;
              pr[j] = tp / (fp + tp + EPS);
            }
            recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
            for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j]; // precision envelope
            for (let r = 0; r < R; r++) {
              const pi = searchLeft(rc, nd, p.recThrs[r]);
              const at = (((t * R + r) * K + k) * A + a) * M + m;
              // recall points past the last reached recall keep precision 0 and score 0
              precision[at] = pi < nd ? pr[pi] : 0;
              scores[at] = pi < nd ? sc[inds[pi]] : 0;
            }
          }
        });
      });
    });
    this.eval = { params: p, counts: [T, R, K, A, M], precision, recall, scores };
    return this.eval;
  }

  /** The 12 COCO numbers (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl); -1 = nothing to score. */
  summarize(): number[] {
    if (!this.eval) throw new Error('Please run accumulate() first');
    const { stats, lines } = summarizeDets(this.eval, this.params);
    this.stats = stats;
    this.summaryLines = lines;
    return stats;
  }

  /** summarize()'s lines in pycocotools' layout, one per stat. */
  summaryText(): string {
    return this.summaryLines.map((l) => l.text).join('\n');
  }
}
