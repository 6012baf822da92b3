// Tiling of the WebGPU selective scan, shared by the forward and backward programs.
//
// A workgroup owns R channels ("rows") of one batch element that share their B/C group (and, with a
// plan, their direction), so B/C tiles are loaded once per workgroup and dB/dC are reduced over the
// R rows before the global atomic add. Each row is scanned by S threads; thread s owns I consecutive
// steps of a tile of TL = S*I steps. Per tile and state: each thread folds its I steps into one
// affine map, one thread per row scans the S maps serially (seeded by the carry of the previous
// tile), each thread re-runs its steps from its prefix. The state at every tile start is written by
// the forward (the backward's recompute seed: memory B*K*D*N*L/TL).
import type { ScanGeometry } from './types.ts';

export interface ScanTiling {
  /** threads per row */
  S: number;
  /** steps per thread (a multiple of the localBackward window, so windows never straddle threads) */
  I: number;
  /** rows (channels) per workgroup */
  R: number;
  /** steps per tile, S*I */
  TL: number;
  nTiles: number;
  /** forward: one workgroup walks the K directions of D-channel rows (y accumulated without atomics) */
  loopKForward: boolean;
  /** backward: same for du / y shared across directions */
  loopKBackward: boolean;
  /** some direction visits a position twice: accumulate y / du / ddelta with atomics */
  atomic: boolean;
  /**
   * Subgroup kernels (wgsl-subgroup.ts): one subgroup of S lanes per row, step t0 + i*S + lane in
   * lane `lane`'s item i (coalesced), scans by subgroup shuffles: no workgroup barrier in the forward.
   * Needs the 'subgroups' feature with one known subgroup size, and no localBackward.
   */
  subgroup: boolean;
  /** backward (subgroup kernels): dB/dC as per-row-block partial sums, then a reduce pass (no atomics) */
  partial: boolean;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Tile sizes: SSMV_SCAN_TILE="S,I,R" (bench tuning; S is the subgroup size on the subgroup path), else
 * the defaults measured best on an H200 (BENCHMARKS.md): subgroup kernels with I = 4, R = 8; portable
 * kernels with S = 32, I = 8, R = 8.
 */
function overrides(subgroup: boolean): { S: number; I: number; R: number } {
  const env = process.env.SSMV_SCAN_TILE;
  if (!env) return subgroup ? { S: 32, I: 4, R: 8 } : { S: 32, I: 8, R: 8 };
  const [S, I, R] = env.split(',').map(Number);
  if (![S, I, R].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`SSMV_SCAN_TILE must be "S,I,R" integers, got '${env}'`);
  return { S, I, R };
}

/**
 * Kernel families, fastest first where they apply:
 * - 'fold' (wgsl-fold-*.ts, webgpu-fold.ts): one subgroup per row, I consecutive steps per lane folded
 *   sequentially, one shuffle scan per tile and state; needs one known subgroup size, no localBackward,
 *   no plan visiting a position twice in one direction.
 * - 'subgroup' (wgsl-subgroup.ts): one shuffle scan per step; float atomics for repeated visits.
 * - 'portable' (wgsl-forward.ts, wgsl-backward.ts): no subgroup operations; localBackward.
 * SSMV_SCAN_KERNEL=fold|subgroup|portable forces one where it applies (bench, tests); the older
 * SSMV_SCAN_SUBGROUPS=1|0 forces 'subgroup' / 'portable'.
 */
export type ScanFamily = 'fold' | 'subgroup' | 'portable';

/**
 * Without fold kernels, the subgroup kernels won at N = 1 on the H200 (forward 1.40 vs 2.16 ms,
 * forward+backward 4.1 vs 9.6 ms at B64 K4 D192 L3136) and lost at N = 16 (13.7 vs 7.1 ms forward).
 */
const SUBGROUP_MAX_N = 2;

/**
 * Without a plan and with many states the portable kernels beat the fold kernels on the H200
 * (B64 K4 D192 L3136 forward / forward+backward GPU ms: N = 16 portable 7.1 / 47.3 against fold 11.9 /
 * 67.6; N = 4 fold 3.6 / 9.5 against portable 3.0 / 16.7); with a plan the fold kernels stay ahead
 * (N = 16 fused 9.7 / 50.4 against 8.9 / 56.5).
 */
const FOLD_MAX_N_DIRECT = 8;

export function chooseFamily(g: ScanGeometry, subgroupSize: number): ScanFamily {
  const subgroupOk = subgroupSize > 0 && g.localBackward === 0;
  const foldFits = subgroupOk && g.multiVisit === 0;
  const foldOk = foldFits && !(g.mode === 'direct' && g.N > FOLD_MAX_N_DIRECT);
  const env = process.env.SSMV_SCAN_KERNEL ?? (process.env.SSMV_SCAN_SUBGROUPS === '1' ? 'subgroup' : process.env.SSMV_SCAN_SUBGROUPS === '0' ? 'portable' : '');
  if (env && env !== 'fold' && env !== 'subgroup' && env !== 'portable') throw new Error(`SSMV_SCAN_KERNEL must be fold, subgroup or portable, got '${env}'`);
  if (env === 'portable') return 'portable';
  if (env === 'subgroup' && subgroupOk) return 'subgroup';
  if (env === 'fold' && foldFits) return 'fold';
  if (foldOk && env !== 'subgroup') return 'fold';
  return subgroupOk && (env === 'subgroup' || g.N <= SUBGROUP_MAX_N) ? 'subgroup' : 'portable';
}

/** Workgroup memory of the backward program (the larger of the two), in bytes. */
export function sharedBytes(t: { S: number; I: number; R: number }, N: number): number {
  const TL = t.S * t.I;
  const slotLen = t.S * (t.I + 1);
  return 4 * (TL + 2 * t.R * slotLen + 2 * slotLen + 4 * t.R * t.S + 2 * t.R * N);
}

/** Workgroup memory of the subgroup backward: the dB/dC reduction buffer over the R rows. */
export function subgroupSharedBytes(t: { S: number; I: number; R: number }): number {
  return 4 * 2 * t.R * t.S * t.I;
}

/** Tiling of the 'subgroup' and 'portable' families; `subgroupSize`: the device's one subgroup size. */
export function chooseTiling(g: ScanGeometry, limits: GPUSupportedLimits, subgroupSize: number, family: 'subgroup' | 'portable'): ScanTiling {
  const useSubgroups = family === 'subgroup';
  const o = overrides(useSubgroups);
  const atomic = g.multiVisit === 1;
  const planned = g.mode !== 'direct';
  const loopK = {
    loopKForward: planned && !atomic && g.mode === 'sum' && g.K > 1,
    loopKBackward: planned && !atomic && (g.mode === 'sum' || g.uShared === 1) && g.K > 1,
  };
  const Dk0 = g.channels / g.K;
  const Dg0 = g.channels / g.G;
  if (useSubgroups) {
    const S = subgroupSize;
    const I = o.I;
    let R = 1;
    while (R * 2 <= o.R && gcd(Dk0, Dg0) % (R * 2) === 0 && R * 2 * S <= limits.maxComputeInvocationsPerWorkgroup &&
      subgroupSharedBytes({ S, I, R: R * 2 }) <= limits.maxComputeWorkgroupStorageSize) R *= 2;
    const partialBytes = 4 * 2 * g.batch * g.G * (Dg0 / R) * g.N * g.P;
    return {
      S, I, R, TL: S * I, nTiles: Math.ceil(g.L / (S * I)), ...loopK, atomic, subgroup: true,
      partial: !atomic && partialBytes <= limits.maxStorageBufferBindingSize,
    };
  }
  let { S, I } = o;
  const w = g.localBackward;
  if (w > 0) {
    if (w > 64) throw new Error(`selectiveScan(webgpu): localBackward window ${w} is larger than 64 steps (the per-thread limit of the WGSL kernel); use the cpu backend`);
    I = w * Math.max(1, Math.round(I / w));
  }
  const Dk = g.channels / g.K;
  const Dg = g.channels / g.G;
  const common = gcd(Dk, Dg);
  let R = 1;
  while (R * 2 <= o.R && common % (R * 2) === 0) R *= 2;
  while (R > 1 && (R * S > limits.maxComputeInvocationsPerWorkgroup || sharedBytes({ S, I, R }, g.N) > limits.maxComputeWorkgroupStorageSize)) R /= 2;
  while (S > 1 && (R * S > limits.maxComputeInvocationsPerWorkgroup || sharedBytes({ S, I, R }, g.N) > limits.maxComputeWorkgroupStorageSize)) S /= 2;
  if (sharedBytes({ S, I, R }, g.N) > limits.maxComputeWorkgroupStorageSize) {
    throw new Error(`selectiveScan(webgpu): N = ${g.N} states need ${sharedBytes({ S, I, R }, g.N)} bytes of workgroup memory, above this device's ${limits.maxComputeWorkgroupStorageSize}`);
  }
  const TL = S * I;
  return { S, I, R, TL, nTiles: Math.ceil(g.L / TL), ...loopK, atomic, subgroup: false, partial: false };
}

/** Uniform block shared by both programs (17 u32, struct Geo in wgsl-common.ts). */
export function geometryUniforms(g: ScanGeometry, t: ScanTiling, loopK: boolean, gridX: number): Uint32Array {
  const Dk = g.channels / g.K;
  const rowsPerBatch = loopK ? Dk : g.channels;
  return Uint32Array.from([
    g.batch, g.channels, g.N, g.G,
    g.K, g.L, g.P, Dk,
    g.channels / g.G, g.uShared ? Dk : g.channels, g.outRows, g.mode === 'direct' ? g.L : g.P,
    t.nTiles, rowsPerBatch / t.R, loopK ? g.K : 1, gridX,
    1,
  ]);
}

export function workgroupCount(g: ScanGeometry, t: ScanTiling, loopK: boolean): number {
  const rowsPerBatch = loopK ? g.channels / g.K : g.channels;
  return g.batch * (rowsPerBatch / t.R);
}

/** Software adapters (lavapipe, SwiftShader) get rolled loops (see ShaderVariant.rolled); SSMV_SCAN_ROLLED=0/1 overrides. */
export function wantsRolledLoops(adapter: { vendor?: string; architecture?: string } | undefined): boolean {
  const env = process.env.SSMV_SCAN_ROLLED;
  if (env === '0' || env === '1') return env === '1';
  const text = `${adapter?.vendor ?? ''} ${adapter?.architecture ?? ''}`.toLowerCase();
  return /software|swiftshader|llvmpipe|lavapipe/.test(text);
}
