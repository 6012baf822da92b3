// mmdet SingleRoIExtractor (models/roi_heads/roi_extractors/single_level_roi_extractor.py): each RoI is
// pooled from one FPN level, level = floor(log2(sqrt(w*h) / finest_scale + 1e-6)) clamped to the levels
// (finest_scale 56: boxes under 112 px go to P2, ...), with RoIAlign(out, sampling_ratio, aligned=True,
// spatial_scale 1/stride). The RoIs are sorted by level on the host so that the pooled features come
// out in level order with one kernel call per level and no gather; callers keep every per-RoI target in
// that order (`order` maps a sorted position to the caller's index).
import { tf, type Tensor } from '../../core/tf.ts';
import { roiAlign } from '../kernel/roi-align/index.ts';

export interface LevelSorted {
  /** (R*5) [batch, x1, y1, x2, y2] sorted by level (stable) */
  rois: Float32Array;
  /** RoIs per level */
  counts: number[];
  /** sorted position -> index in the input */
  order: Int32Array;
}

export function roiLevel(x1: number, y1: number, x2: number, y2: number, numLevels: number, finestScale: number): number {
  const scale = Math.sqrt((x2 - x1) * (y2 - y1));
  const l = Math.floor(Math.log2(scale / finestScale + 1e-6));
  return Number.isFinite(l) ? Math.min(Math.max(l, 0), numLevels - 1) : 0;
}

export function sortByLevel(rois: Float32Array, numLevels: number, finestScale: number): LevelSorted {
  const R = rois.length / 5;
  const lv = Int32Array.from({ length: R }, (_, r) => roiLevel(rois[5 * r + 1], rois[5 * r + 2], rois[5 * r + 3], rois[5 * r + 4], numLevels, finestScale));
  const order = Int32Array.from({ length: R }, (_, i) => i).sort((a, b) => lv[a] - lv[b] || a - b);
  const out = new Float32Array(R * 5);
  order.forEach((r, j) => out.set(rois.subarray(5 * r, 5 * r + 5), 5 * j));
  const counts = new Array<number>(numLevels).fill(0);
  for (const l of lv) counts[l]++;
  return { rois: out, counts, order };
}

/** feats[l] (B, h, w, C) of stride strides[l] -> (R, size, size, C) in level-sorted order. */
export function extractRoiFeatures(feats: Tensor[], s: LevelSorted, strides: number[], outputSize: number, samplingRatio: number): Tensor {
  return tf.tidy(() => {
    const C = feats[0].shape[3] as number;
    const parts: Tensor[] = [];
    let start = 0;
    s.counts.forEach((n, l) => {
      if (n > 0) {
        const rois = tf.tensor2d(s.rois.subarray(5 * start, 5 * (start + n)), [n, 5]);
        parts.push(roiAlign(feats[l], rois, { outputSize, spatialScale: 1 / strides[l], samplingRatio, aligned: true }));
      }
      start += n;
    });
    if (!parts.length) return tf.zeros([0, outputSize, outputSize, C]);
    return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
  });
}
