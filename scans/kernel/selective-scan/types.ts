// Public input/option types of the selective scan and the resolved geometry every backend uses.
import type { Tensor } from '../../../core/tf.ts';
import type { ScanPlan } from '../../plan.ts';

/** Inputs in the layout of the official kernels (VMamba `selective_scan_fn`, Mamba grouped B/C). */
export interface SelectiveScanInputs {
  /** (B, K*D, L); with a plan: (B, D, H*W) shared by the K directions, or (B, K*D, H*W) per direction */
  u: Tensor;
  /** (B, K*D, L) raw step size (before deltaBias/softplus); with a plan: (B, K*D, H*W) in map order */
  delta: Tensor;
  /** (K*D, N), negative in practice (A = -exp(A_log)) */
  A: Tensor;
  /** (B, G, N, L) input-dependent B, group g shared by channels [g*K*D/G, (g+1)*K*D/G); with a plan (B, G, N, H*W) */
  B: Tensor;
  /** (B, G, N, L) input-dependent C, same layout as B */
  C: Tensor;
  /** (K*D) skip term */
  D?: Tensor;
  /** (K*D) added to delta before softplus */
  deltaBias?: Tensor;
}

export interface SelectiveScanOptions {
  /** dt = softplus(delta + deltaBias) (threshold 20, as the CUDA kernel) when true, else delta + deltaBias */
  deltaSoftplus?: boolean;
  /** fused scan plan: inputs in map order, y written back in map order (summed or per direction) */
  plan?: ScanPlan;
  /** LBMamba window w: inside each aligned window of w steps, a backward scan is added to the state */
  localBackward?: number;
}

/** How y is written: 'direct' (no plan, (B, K*D, L)), or the plan's merge rule. */
export type OutputMode = 'direct' | 'sum' | 'none';

/** The geometry resolved by validation; also the kernel attrs (plain numbers/strings only). */
export interface ScanGeometry {
  /** batch */
  batch: number;
  /** channels K*D (= rows of A) */
  channels: number;
  /** state size */
  N: number;
  /** groups of B/C */
  G: number;
  /** directions (plan.K, or 1 without plan) */
  K: number;
  /** steps per sequence (plan.L, or u's last dim) */
  L: number;
  /** positions of the map tensors (H*W with a plan, = L without) */
  P: number;
  /** rows of the plan's map (plan.H; 1 without a plan): a column-major walk needs 8*H steps per tile
   *  to read whole 32-byte memory sectors (tiling only) */
  mapH: number;
  /** 1 when u is (B, D, P) shared by the K directions, 0 when u has K*D channels */
  uShared: number;
  /** rows of y: D for 'sum', K*D otherwise */
  outRows: number;
  mode: OutputMode;
  /** 1 when some direction visits a position more than once (needs accumulation within a direction) */
  multiVisit: number;
  /** 1 when every direction visits every map position exactly once (no plan: always): outputs written
   *  position by position need no zero-fill first */
  coverAll: number;
  deltaSoftplus: boolean;
  /** LBMamba window, 0 when off */
  localBackward: number;
}

/** Kernel names in the tfjs registry. */
export const SCAN_KERNEL = 'SelectiveScan';
export const SCAN_GRAD_KERNEL = 'SelectiveScanGrad';

/** Kernel attrs: the geometry (tfjs attrs must be plain values). */
export type ScanAttrs = ScanGeometry & Record<string, unknown>;

/** Channel c belongs to direction floor(c / (channels / K)) and group floor(c / (channels / G)). */
export function channelMaps(g: ScanGeometry): { dirOf: (c: number) => number; groupOf: (c: number) => number; uRowOf: (c: number) => number; outRowOf: (c: number) => number } {
  const Dk = g.channels / g.K;
  const perGroup = g.channels / g.G;
  return {
    dirOf: (c) => Math.floor(c / Dk),
    groupOf: (c) => Math.floor(c / perGroup),
    uRowOf: (c) => (g.uShared ? c % Dk : c),
    outRowOf: (c) => (g.mode === 'sum' ? c % Dk : c),
  };
}
