// Dispatch of the fold kernels (wgsl-fold-*.ts): tiling, uniforms, zero-fills, and the merge of the K
// directions. Merge 'sum' (and a shared u in the backward) either runs the K directions of the same
// channels in one workgroup in lockstep, adding into the shared row one direction after the other
// ("lockstep"), or writes per-direction rows (B, K*D, P) and sums them in a second pass ("ksum").
import { tf, type TensorInfo } from '../../../core/tf.ts';
import type { ScanAttrs, ScanGeometry } from './types.ts';
import { outputShape } from './validate.ts';
import { foldForwardWgsl } from './wgsl-fold-forward.ts';
import { foldBackwardWgsl } from './wgsl-fold-backward.ts';
import { foldKey, foldSharedBytes, type FoldVariant } from './wgsl-fold-common.ts';
import { REDUCE_PARTIALS_WGSL } from './wgsl-subgroup.ts';
import {
  checkBindingSizes, checkStorageBindings, clearTensors, copyTensor, dispatch, getPipeline, grid, type WebgpuBackendLike,
} from './webgpu-runtime.ts';

export interface FoldTiling {
  /** subgroup size = lanes per row */
  S: number;
  /** steps per lane, forward / backward */
  If: number;
  Ib: number;
  /** rows per row group */
  R: number;
  /** row groups per workgroup (K in lockstep, else 1) */
  NG: number;
  lockstep: boolean;
  /** B/C states staged per round, forward / backward */
  NBf: number;
  NBb: number;
  /** states stored every `seg` steps (= the backward's tile S*Ib) */
  seg: number;
  nSeg: number;
  /** backward dB/dC as per-row-group partials (else compare-exchange float atomics) */
  partial: boolean;
}

/**
 * Tuning and test knobs: SSMV_SCAN_FOLD="If,Ib,R"; SSMV_SCAN_LOCKSTEP=0|1; SSMV_SCAN_NB=n (B/C states
 * staged per round); SSMV_SCAN_DBC=partial|atomic.
 */
function envInts(name: string, count: number): number[] | null {
  const env = process.env[name];
  if (!env) return null;
  const v = env.split(',').map(Number);
  if (v.length !== count || !v.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`${name} must be ${count} positive integers separated by commas, got '${env}'`);
  return v;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Defaults: I = 8 steps per lane forward, 4 backward (its per-step registers are twice the forward's),
 * 8 rows per workgroup (lockstep: 8/K rows per direction); measured on an H200 (BENCHMARKS.md).
 */
export function chooseFoldTiling(g: ScanGeometry, limits: GPUSupportedLimits, S: number): FoldTiling {
  const [If, Ib, Rmax] = envInts('SSMV_SCAN_FOLD', 3) ?? [8, 4, 8];
  const nbEnv = envInts('SSMV_SCAN_NB', 1)?.[0] ?? g.N;
  const Dk = g.channels / g.K;
  const Dg = g.channels / g.G;
  const merged = g.mode === 'sum' || g.uShared === 1;
  const lockEnv = process.env.SSMV_SCAN_LOCKSTEP;
  const lockstep = g.mode !== 'direct' && g.K > 1 && merged && lockEnv !== '0' && (lockEnv === '1' || g.K <= Rmax);
  const NG = lockstep ? g.K : 1;
  const common = gcd(Dk, Dg); // the rows of a row group share their direction and B/C group
  const perGroup = lockstep ? Math.max(1, Math.floor(Rmax / g.K)) : Rmax;
  const I = Math.max(If, Ib);
  const fits = (R: number, NB: number) =>
    NG * R * S <= limits.maxComputeInvocationsPerWorkgroup && foldSharedBytes({ S, I, R, NG, NB }) <= limits.maxComputeWorkgroupStorageSize;
  let R = 1;
  while (R * 2 <= perGroup && common % (R * 2) === 0 && fits(R * 2, 1)) R *= 2;
  if (!fits(R, 1)) {
    throw new Error(`selectiveScan(webgpu): the fold kernels need ${foldSharedBytes({ S, I, R, NG, NB: 1 })} bytes of workgroup memory and ${NG * R * S} invocations, above this device's limits`);
  }
  const nbFor = (Iw: number) => {
    let NB = Math.min(g.N, nbEnv);
    while (NB > 1 && foldSharedBytes({ S, I: Iw, R, NG, NB }) > limits.maxComputeWorkgroupStorageSize) NB--;
    return NB;
  };
  const seg = S * Ib;
  if (seg % If !== 0) throw new Error(`selectiveScan(webgpu): fold tiling needs S*Ib (${seg}) to be a multiple of If (${If})`);
  const partialBytes = 4 * 2 * g.batch * g.G * (Dg / R) * g.N * g.P;
  const dbc = process.env.SSMV_SCAN_DBC;
  if (dbc && dbc !== 'partial' && dbc !== 'atomic') throw new Error(`SSMV_SCAN_DBC must be partial or atomic, got '${dbc}'`);
  return {
    S, If, Ib, R, NG, lockstep, NBf: nbFor(If), NBb: nbFor(Ib), seg, nSeg: Math.ceil(g.L / seg),
    partial: dbc !== 'atomic' && partialBytes <= limits.maxStorageBufferBindingSize,
  };
}

function variant(g: ScanGeometry, t: FoldTiling, backward: boolean, rolled: boolean): FoldVariant {
  return {
    S: t.S, I: backward ? t.Ib : t.If, R: t.R, NG: t.NG, N: g.N, NB: backward ? t.NBb : t.NBf,
    hasPlan: g.mode !== 'direct', uShared: g.uShared === 1, softplus: g.deltaSoftplus,
    ySum: !backward && t.lockstep && g.mode === 'sum',
    dyShared: backward && g.mode === 'sum',
    duSum: backward && t.lockstep && g.uShared === 1,
    partial: backward && t.partial,
    rolled,
  };
}

/** The 20-word uniform block (struct Geo in wgsl-fold-common.ts). */
function foldUniforms(g: ScanGeometry, t: FoldTiling, I: number, outRows: number, outLen: number, gridX: number): Uint32Array {
  const Dk = g.channels / g.K;
  const Dg = g.channels / g.G;
  const blocks = (t.lockstep ? Dk : g.channels) / t.R;
  return Uint32Array.from([
    g.batch, g.channels, g.N, g.G,
    g.K, g.L, g.P, Dk,
    Dg, g.uShared ? Dk : g.channels, outRows, outLen,
    Math.ceil(g.L / (t.S * I)), blocks, t.nSeg, gridX,
    1, t.seg, Dg / t.R, g.mode === 'sum' ? Dk : g.channels,
  ]);
}

const KSUM_WGSL = /* wgsl */ `
struct Sizes { outer: u32, K: u32, inner: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> sz: Sizes;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * sz.gridX) * 256u + lid;   // over outer (B) x inner (D*P)
  if (i >= sz.outer * sz.inner) { return; }
  let o = i / sz.inner;
  let k0 = o * sz.K * sz.inner + i % sz.inner;
  var s = 0.0;
  for (var k = 0u; k < sz.K; k++) { s += src[k0 + k * sz.inner]; }
  dst[i] = s;
}
`;

/** dst (B, D, P) = sum over k of src (B, K*D, P). */
function kSum(be: WebgpuBackendLike, src: TensorInfo, dst: TensorInfo, g: ScanGeometry): void {
  const inner = (g.channels / g.K) * g.P;
  const pipeline = getPipeline(be, 'ssm-ksum', () => KSUM_WGSL, 'SelectiveScanKSum');
  const [gx, gy] = grid(be, Math.ceil((g.batch * inner) / 256));
  dispatch(be, pipeline, Uint32Array.from([g.batch, g.K, inner, gx]), [src, dst], [gx, gy]);
}

export function foldForward(be: WebgpuBackendLike, g: ScanAttrs, t: FoldTiling, rolled: boolean, ins: Record<string, TensorInfo>, params: TensorInfo): TensorInfo[] {
  const { u, delta, B, C, index } = ins;
  const y = be.makeTensorInfo(outputShape(g), 'float32');
  const states = be.makeTensorInfo([g.batch, g.channels, t.nSeg, g.N], 'float32');
  // merge 'sum' without lockstep: per-direction rows first, summed by the K-sum pass
  const viaKSum = g.mode === 'sum' && g.K > 1 && !t.lockstep;
  const out = viaKSum ? be.makeTensorInfo([g.batch, g.channels, g.P], 'float32') : y;
  checkBindingSizes(be, { u, delta, B, C, y: out, states });
  checkStorageBindings(be, 8, 'forward');
  const v = variant(g, t, false, rolled);
  // zero-fill what is accumulated into (lockstep sum) or only partly written (plans with gaps)
  if (v.ySum || !g.coverAll) clearTensors(be, [out]);
  const pipeline = getPipeline(be, `fold-fwd${foldKey(v)}`, () => foldForwardWgsl(v), 'SelectiveScanFoldForward');
  const blocks = (t.lockstep ? g.channels / g.K : g.channels) / t.R;
  const [gx, gy] = grid(be, g.batch * blocks);
  const outRows = v.ySum ? g.channels / g.K : g.channels;
  dispatch(be, pipeline, foldUniforms(g, t, t.If, outRows, g.mode === 'direct' ? g.L : g.P, gx), [u, delta, params, B, C, index, out, states], [gx, gy]);
  if (viaKSum) {
    kSum(be, out, y, g);
    be.disposeData(out.dataId);
  }
  return [y, states];
}

export function foldBackward(be: WebgpuBackendLike, g: ScanAttrs, t: FoldTiling, rolled: boolean, ins: Record<string, TensorInfo>, params: TensorInfo): TensorInfo[] {
  const { u, delta, B, C, index, states, dy } = ins;
  const uRows = g.uShared ? g.channels / g.K : g.channels;
  const du = be.makeTensorInfo([g.batch, uRows, g.P], 'float32');
  const viaKSum = g.uShared === 1 && g.K > 1 && !t.lockstep;
  const duOut = viaKSum ? be.makeTensorInfo([g.batch, g.channels, g.P], 'float32') : du;
  const ddelta = be.makeTensorInfo([g.batch, g.channels, g.P], 'float32');
  const bcShape = [g.batch, g.G, g.N, g.P];
  const bcBytes = tf.util.sizeFromShape(bcShape) * 4;
  const nbk = g.channels / g.G / t.R;
  const dBC = be.makeTensorInfo(t.partial ? [2, g.batch, g.G, nbk, g.N, g.P] : [2, ...bcShape], 'float32');
  const dParams = be.makeTensorInfo([g.batch, g.channels, g.N + 2], 'float32');
  checkBindingSizes(be, { u, delta, B, C, states, dy, du: duOut, ddelta, dBC, dParams });
  checkStorageBindings(be, 12, 'backward');
  const v = variant(g, t, true, rolled);
  const zeroed: TensorInfo[] = [];
  if (!g.coverAll || !t.partial) zeroed.push(dBC);
  if (!g.coverAll || v.duSum) zeroed.push(duOut);
  if (!g.coverAll) zeroed.push(ddelta);
  if (zeroed.length) clearTensors(be, zeroed);
  const pipeline = getPipeline(be, `fold-bwd${foldKey(v)}`, () => foldBackwardWgsl(v), 'SelectiveScanFoldBackward');
  const blocks = (t.lockstep ? g.channels / g.K : g.channels) / t.R;
  const [gx, gy] = grid(be, g.batch * blocks);
  const duRows = v.duSum ? g.channels / g.K : g.channels;
  dispatch(be, pipeline, foldUniforms(g, t, t.Ib, duRows, g.mode === 'direct' ? g.L : g.P, gx),
    [u, delta, params, B, C, index, states, dy, duOut, ddelta, dBC, dParams], [gx, gy]);
  if (viaKSum) {
    kSum(be, duOut, du, g);
    be.disposeData(duOut.dataId);
  }
  const dB = be.makeTensorInfo(bcShape, 'float32');
  const dC = be.makeTensorInfo(bcShape, 'float32');
  if (t.partial && nbk > 1) {
    const reduce = getPipeline(be, 'ssm-reduce-partials', () => REDUCE_PARTIALS_WGSL, 'SelectiveScanReducePartials');
    const outer = g.batch * g.G;
    const inner = g.N * g.P;
    const [rx, ry] = grid(be, Math.ceil((outer * inner) / 256));
    dispatch(be, reduce, Uint32Array.from([outer, nbk, inner, rx]), [dBC, dB, dC], [rx, ry]);
  } else {
    copyTensor(be, dBC, 0, dB, bcBytes);
    copyTensor(be, dBC, bcBytes, dC, bcBytes);
  }
  be.disposeData(dBC.dataId);
  return [du, ddelta, dB, dC, dParams];
}
