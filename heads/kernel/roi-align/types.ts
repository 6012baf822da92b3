// RoIAlign (Mask R-CNN, He et al. 2017) with mmcv's semantics (mmcv/ops/csrc/common/cuda/
// roi_align_cuda_kernel.cuh, pool_mode 'avg'): NHWC features, rois (R, 5) = [batch, x1, y1, x2, y2] in
// image pixels. aligned=True shifts the box by -0.5 feature pixel (pixel centres at k + 0.5);
// sampling_ratio 0 takes ceil(roi_size / output_size) samples per bin along each axis.
export const ROI_ALIGN_KERNEL = 'SsmvRoIAlign';
export const ROI_ALIGN_GRAD_KERNEL = 'SsmvRoIAlignGrad';

export interface RoIAlignOptions {
  /** output bins (7 for the box head, 14 for the mask head) */
  outputSize: number | [number, number];
  /** feature pixels per image pixel (1 / stride) */
  spatialScale: number;
  /** samples per bin along each axis; 0 = adaptive ceil(roi / bins) (mmdet's default) */
  samplingRatio?: number;
  /** pixel-centre convention of Detectron2 / mmcv aligned=True (mmdet's default) */
  aligned?: boolean;
}

/** Kernel attributes (plain numbers, as tfjs attrs must be). */
export interface RoIAlignAttrs {
  pooledH: number;
  pooledW: number;
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

/** Gradient kernel attributes: the forward's plus the feature shape it scatters into. */
export interface RoIAlignGradAttrs extends RoIAlignAttrs {
  xShape: [number, number, number, number];
}

/** Options -> attrs, with a clear error for each bad value. */
export function roiAlignAttrs(o: RoIAlignOptions): RoIAlignAttrs {
  const [pooledH, pooledW] = typeof o.outputSize === 'number' ? [o.outputSize, o.outputSize] : o.outputSize;
  for (const [k, v] of [['outputSize[0]', pooledH], ['outputSize[1]', pooledW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`roiAlign: ${k} must be a positive integer, got ${v}`);
  }
  if (!(Number.isFinite(o.spatialScale) && o.spatialScale > 0)) throw new Error(`roiAlign: spatialScale must be a positive number, got ${o.spatialScale}`);
  const samplingRatio = o.samplingRatio ?? 0;
  if (!Number.isInteger(samplingRatio) || samplingRatio < 0) throw new Error(`roiAlign: samplingRatio must be an integer >= 0, got ${samplingRatio}`);
  return { pooledH, pooledW, spatialScale: o.spatialScale, samplingRatio, aligned: o.aligned ?? true };
}

/**
 * Where one RoI samples, in float32 arithmetic as mmcv's kernel (so the adaptive sample count, a
 * ceil, agrees between the CPU and WGSL kernels). null for a row that samples nothing: a batch index
 * outside [0, N) or a non-finite coordinate (both give zeros).
 */
export interface RoIGeometry {
  batch: number;
  startY: number;
  startX: number;
  binH: number;
  binW: number;
  gridH: number;
  gridW: number;
  /** samples per bin, at least 1 (an empty box averages nothing: 0 / 1) */
  count: number;
}

const f = Math.fround;

export function roiGeometry(rois: ArrayLike<number>, r: number, a: RoIAlignAttrs, batches: number): RoIGeometry | null {
  const o = r * 5;
  const b = Math.trunc(rois[o]);
  for (let k = 0; k < 5; k++) if (!Number.isFinite(rois[o + k])) return null;
  if (b < 0 || b >= batches) return null;
  const off = a.aligned ? 0.5 : 0;
  const s = f(a.spatialScale);
  const startX = f(f(f(rois[o + 1]) * s) - off);
  const startY = f(f(f(rois[o + 2]) * s) - off);
  const endX = f(f(f(rois[o + 3]) * s) - off);
  const endY = f(f(f(rois[o + 4]) * s) - off);
  let w = f(endX - startX);
  let h = f(endY - startY);
  if (!a.aligned) {
    // legacy mode forces malformed boxes to 1x1
    w = Math.max(w, 1);
    h = Math.max(h, 1);
  }
  const binH = f(h / a.pooledH);
  const binW = f(w / a.pooledW);
  const gridH = a.samplingRatio > 0 ? a.samplingRatio : Math.max(0, Math.ceil(binH));
  const gridW = a.samplingRatio > 0 ? a.samplingRatio : Math.max(0, Math.ceil(binW));
  return { batch: b, startY, startX, binH, binW, gridH, gridW, count: Math.max(gridH * gridW, 1) };
}

/** Sample coordinate iy of bin ph (float32 steps as the CUDA expression start + p*bin + (i+.5)*bin/grid). */
export function sampleCoord(start: number, p: number, bin: number, i: number, grid: number): number {
  return f(f(start + f(p * bin)) + f(f((i + 0.5) * bin) / grid));
}
