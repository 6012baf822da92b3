// mmdet MaxIoUAssigner (models/task_modules/assigners/max_iou_assigner.py, assign_wrt_overlaps) and
// RandomSampler (samplers/random_sampler.py), on the host:
//   assigned = -1 (ignored) | 0 (negative) | k + 1 (positive, matched to gt k)
//   1. every prior with max IoU in [0, neg_iou_thr) is negative;
//   2. max IoU >= pos_iou_thr: positive, matched to its best gt;
//   3. match_low_quality: each gt whose best IoU >= min_pos_iou claims every prior having that IoU
//      (gt_max_assign_all), later gts overwriting earlier ones.
// No gt: everything negative. The sampler optionally prepends the gts as priors (add_gt_as_proposals),
// then draws up to num * pos_fraction positives and fills the rest with negatives, uniformly at random.
import type { Rng } from '../../core/rng.ts';
import { bboxOverlaps } from './boxes.ts';

export interface AssignerConfig {
  posIouThr: number;
  negIouThr: number;
  minPosIou: number;
  matchLowQuality: boolean;
}

export interface AssignResult {
  numGts: number;
  /** (n) -1 ignore, 0 negative, k + 1 = gt k */
  gtInds: Int32Array;
  /** (n) best IoU of each prior */
  maxOverlaps: Float32Array;
  /** (n) class of the matched gt, -1 otherwise */
  labels: Int32Array;
}

export function assignMaxIou(priors: ArrayLike<number>, gtBoxes: ArrayLike<number>, gtLabels: ArrayLike<number>, c: AssignerConfig): AssignResult {
  const n = priors.length / 4, g = gtBoxes.length / 4;
  const gtInds = new Int32Array(n).fill(-1);
  const maxOverlaps = new Float32Array(n);
  const labels = new Int32Array(n).fill(-1);
  if (g === 0 || n === 0) {
    if (g === 0) gtInds.fill(0);
    return { numGts: g, gtInds, maxOverlaps, labels };
  }
  const ov = bboxOverlaps(gtBoxes, priors); // (g, n)
  const argmax = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity, arg = 0;
    for (let k = 0; k < g; k++) if (ov[k * n + i] > best) { best = ov[k * n + i]; arg = k; }
    maxOverlaps[i] = best;
    argmax[i] = arg;
    if (best >= 0 && best < c.negIouThr) gtInds[i] = 0;
    if (best >= c.posIouThr) gtInds[i] = arg + 1;
  }
  if (c.matchLowQuality) {
    for (let k = 0; k < g; k++) {
      let best = -Infinity;
      for (let i = 0; i < n; i++) best = Math.max(best, ov[k * n + i]);
      if (best < c.minPosIou) continue;
      for (let i = 0; i < n; i++) if (ov[k * n + i] === best) gtInds[i] = k + 1;
    }
  }
  for (let i = 0; i < n; i++) if (gtInds[i] > 0) labels[i] = gtLabels[gtInds[i] - 1];
  return { numGts: g, gtInds, maxOverlaps, labels };
}

export interface SamplerConfig {
  num: number;
  posFraction: number;
  addGtAsProposals: boolean;
}

export interface SamplingResult {
  /** the priors sampled from (gts first when added): (m*4) */
  priors: Float32Array;
  posInds: Int32Array;
  negInds: Int32Array;
  /** (pos) gt index of each positive */
  posGtInds: Int32Array;
  posGtLabels: Int32Array;
  /** (pos) whether the positive is a gt box itself */
  posIsGt: Uint8Array;
}

/** Up to k distinct elements of `from`, uniformly (a partial Fisher-Yates; torch.randperm(n)[:k]). */
function choose(from: number[], k: number, rng: Rng): number[] {
  if (from.length <= k) return from;
  const a = from.slice();
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i]; a[i] = a[j]; a[j] = t;
  }
  return a.slice(0, k);
}

export function sampleRandom(assign: AssignResult, priors: Float32Array, gtBoxes: Float32Array, gtLabels: Int32Array, c: SamplerConfig, rng: Rng): SamplingResult {
  let all = priors, gtInds = assign.gtInds;
  const g = gtBoxes.length / 4;
  const isGt = new Uint8Array(priors.length / 4 + (c.addGtAsProposals ? g : 0));
  if (c.addGtAsProposals && g > 0) {
    // AssignResult.add_gt_: the gts become priors 0..g-1, each matched to itself
    all = new Float32Array(gtBoxes.length + priors.length);
    all.set(gtBoxes, 0);
    all.set(priors, gtBoxes.length);
    gtInds = new Int32Array(g + assign.gtInds.length);
    for (let k = 0; k < g; k++) { gtInds[k] = k + 1; isGt[k] = 1; }
    gtInds.set(assign.gtInds, g);
  }
  const pos: number[] = [], neg: number[] = [];
  for (let i = 0; i < gtInds.length; i++) {
    if (gtInds[i] > 0) pos.push(i);
    else if (gtInds[i] === 0) neg.push(i);
  }
  const posInds = choose(pos, Math.trunc(c.num * c.posFraction), rng);
  const negInds = choose(neg, c.num - posInds.length, rng);
  const posGtInds = Int32Array.from(posInds, (i) => gtInds[i] - 1);
  return {
    priors: all,
    posInds: Int32Array.from(posInds),
    negInds: Int32Array.from(negInds),
    posGtInds,
    posGtLabels: Int32Array.from(posGtInds, (k) => gtLabels[k]),
    posIsGt: Uint8Array.from(posInds, (i) => isGt[i]),
  };
}
