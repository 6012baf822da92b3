// Dispatch of the fold kernels (wgsl-fold-*.ts): tiling, uniforms, zero-fills, and the merge of the K
// directions. Merge 'sum' (and a shared u in the backward) either runs the K directions of the same
// channels in one workgroup in lockstep, adding into the shared row one direction after the other
// ("lockstep"), or writes per-direction rows (B, K*D, P) and sums them in a second pass ("ksum").
import type { TensorInfo } from '../../../core/tf.ts';
import type { ScanAttrs, ScanGeometry } from './types.ts';
import { outputShape } from './validate.ts';
import { foldForwardWgsl } from './wgsl-fold-forward.ts';
import { foldBackwardWgsl } from './wgsl-fold-backward.ts';
import { foldKey, foldSharedBytes, tileOrderWgsl, type FoldVariant } from './wgsl-fold-common.ts';
import {
  checkBindingSizes, checkStorageBindings, clearTensors, dispatch, getPipeline, grid, splitDBC, type WebgpuBackendLike,
} from './webgpu-runtime.ts';

/** One program's layout (forward or backward). */
export interface FoldPass {
  /** steps per lane */
  I: number;
  /** rows per row group */
  R: number;
  /** row groups per workgroup (K in lockstep, else 1) */
  NG: number;
  lockstep: boolean;
  /** B/C states staged per round */
  NB: number;
}

export interface FoldTiling {
  /** subgroup size = lanes per row */
  S: number;
  fwd: FoldPass;
  bwd: FoldPass;
  /** states stored every `seg` steps (= the backward's tile S * bwd.I) */
  seg: number;
  nSeg: number;
  /** backward dB/dC as per-row-group partials (else compare-exchange float atomics) */
  partial: boolean;
}

/**
 * Tuning and test knobs: SSMV_SCAN_FOLD="If,Ib,Rf[,Rb]" (steps per lane and rows per row group, forward
 * and backward); SSMV_SCAN_LOCKSTEP=0|1|fwd|bwd; SSMV_SCAN_NB=n (B/C states staged per round);
 * SSMV_SCAN_DBC=partial|atomic.
 */
function envInts(name: string, min: number, max: number): number[] | null {
  const env = process.env[name];
  if (!env) return null;
  const v = env.split(',').map(Number);
  if (v.length < min || v.length > max || !v.every((x) => Number.isInteger(x) && x > 0)) {
    throw new Error(`${name} must be ${min === max ? min : `${min} to ${max}`} positive integers separated by commas, got '${env}'`);
  }
  return v;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Default steps per lane (forward, backward) and rows per workgroup. Without a plan: I = 8 forward, 4
 * backward (its per-step registers are twice the forward's), 8 rows. With a plan, the forward tile
 * S*I covers 8 columns of the map (8*H steps), so a column-major walk, read in map-position order,
 * loads whole 32-byte sectors (8 floats of a map row); capped at 28 steps (workgroup memory), at least
 * 4; the backward takes 7 steps when that divides the forward's (its states are stored every S*Ib
 * steps, a multiple of the forward tile), else 4, else the forward's; when that tile is shorter than
 * two map columns (large maps) the backward takes twice the steps on 4 rows (its workgroup memory).
 * Measured on an H200 for the cross plan (BENCHMARKS.md), forward+backward GPU ms: B64 K4 D192 N1
 * L3136 6.1 with (14, 7) against 7.4 with (8, 4) and 8.0 with (14, 14 on 2 rows); B64 K4 D384 L784
 * 2.2 with (7, 7); B8 K4 D192 L50176 31.5 with (28, 14 on 4 rows) against 43.6 with (28, 7).
 */
export function defaultFold(g: ScanGeometry, S: number): [number, number, number, number] {
  if (g.mode === 'direct') return [8, 4, 8, 8];
  const If = Math.min(28, Math.max(4, Math.ceil((8 * g.mapH) / S)));
  const Ib = [7, 4, If].find((i) => (S * i) % If === 0) ?? If;
  if (S * Ib < 2 * g.mapH && 2 * Ib <= 14 && (S * 2 * Ib) % If === 0) return [If, 2 * Ib, 8, 4];
  return [If, Ib, 8, 8];
}

export function chooseFoldTiling(g: ScanGeometry, limits: GPUSupportedLimits, S: number): FoldTiling {
  const [If, Ib, Rf, Rb = Rf] = envInts('SSMV_SCAN_FOLD', 3, 4) ?? defaultFold(g, S);
  const nbEnv = envInts('SSMV_SCAN_NB', 1, 1)?.[0] ?? g.N;
  const lockEnv = process.env.SSMV_SCAN_LOCKSTEP;
  if (lockEnv && !['0', '1', 'fwd', 'bwd'].includes(lockEnv)) throw new Error(`SSMV_SCAN_LOCKSTEP must be 0, 1, fwd or bwd, got '${lockEnv}'`);
  const Dk = g.channels / g.K;
  const Dg = g.channels / g.G;
  const common = gcd(Dk, Dg); // the rows of a row group share their direction and B/C group
  const pass = (I: number, Rmax: number, backward: boolean): FoldPass => {
    const merged = backward ? g.uShared === 1 : g.mode === 'sum';
    const forced = lockEnv === '1' || lockEnv === (backward ? 'bwd' : 'fwd');
    // lockstep only on request: per-direction rows + the K-sum pass were 1.3-3x faster on the H200
    const lockstep = g.mode !== 'direct' && g.K > 1 && merged && forced;
    const NG = lockstep ? g.K : 1;
    const perGroup = lockstep ? Math.max(1, Math.floor(Rmax / g.K)) : Rmax;
    const buffers = backward ? 3 : 2;
    const fits = (R: number, NB: number) =>
      NG * R * S <= limits.maxComputeInvocationsPerWorkgroup && foldSharedBytes({ S, I, R, NG, NB }, buffers) <= limits.maxComputeWorkgroupStorageSize;
    let R = 1;
    while (R * 2 <= perGroup && common % (R * 2) === 0 && fits(R * 2, 1)) R *= 2;
    if (!fits(R, 1)) {
      throw new Error(`selectiveScan(webgpu): the fold kernels need ${foldSharedBytes({ S, I, R, NG, NB: 1 }, buffers)} bytes of workgroup memory and ${NG * R * S} invocations, above this device's limits`);
    }
    let NB = Math.min(g.N, nbEnv);
    while (NB > 1 && !fits(R, NB)) NB--;
    return { I, R, NG, lockstep, NB };
  };
  const fwd = pass(If, Rf, false);
  const bwd = pass(Ib, Rb, true);
  const seg = S * Ib;
  if (seg % If !== 0) throw new Error(`selectiveScan(webgpu): fold tiling needs S*Ib (${seg}) to be a multiple of If (${If})`);
  const partialBytes = 4 * 2 * g.batch * g.G * (Dg / bwd.R) * g.N * g.P;
  const dbc = process.env.SSMV_SCAN_DBC;
  if (dbc && dbc !== 'partial' && dbc !== 'atomic') throw new Error(`SSMV_SCAN_DBC must be partial or atomic, got '${dbc}'`);
  return {
    S, fwd, bwd, seg, nSeg: Math.ceil(g.L / seg),
    partial: dbc !== 'atomic' && partialBytes <= limits.maxStorageBufferBindingSize,
  };
}

function variant(g: ScanGeometry, t: FoldTiling, backward: boolean, rolled: boolean): FoldVariant {
  const p = backward ? t.bwd : t.fwd;
  return {
    S: t.S, I: p.I, R: p.R, NG: p.NG, N: g.N, NB: p.NB,
    hasPlan: g.mode !== 'direct', uShared: g.uShared === 1, softplus: g.deltaSoftplus,
    ySum: !backward && p.lockstep && g.mode === 'sum',
    dyShared: backward && g.mode === 'sum',
    duSum: backward && p.lockstep && g.uShared === 1,
    partial: backward && t.partial,
    rolled,
    threeBuffers: backward,
  };
}

/** The 20-word uniform block (struct Geo in wgsl-fold-common.ts). */
function foldUniforms(g: ScanGeometry, t: FoldTiling, p: FoldPass, outRows: number, outLen: number, gridX: number): Uint32Array {
  const Dk = g.channels / g.K;
  const Dg = g.channels / g.G;
  const blocks = (p.lockstep ? Dk : g.channels) / p.R;
  return Uint32Array.from([
    g.batch, g.channels, g.N, g.G,
    g.K, g.L, g.P, Dk,
    Dg, g.uShared ? Dk : g.channels, outRows, outLen,
    Math.ceil(g.L / (t.S * p.I)), blocks, t.nSeg, gridX,
    1, t.seg, Dg / p.R, g.mode === 'sum' ? Dk : g.channels,
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

/**
 * With a plan: (K, nTiles*TL, 2) int32 (step offset, map position) of every tile sorted by position
 * (tileOrderWgsl); without: a dummy binding (the programs compute their accesses).
 */
function tileOrder(be: WebgpuBackendLike, index: TensorInfo, g: ScanGeometry, TL: number): TensorInfo {
  if (g.mode === 'direct') return be.makeTensorInfo([2], 'int32');
  const nTiles = Math.ceil(g.L / TL);
  const order = be.makeTensorInfo([g.K, nTiles * TL, 2], 'int32');
  const pipeline = getPipeline(be, `ssm-tile-order-${TL}`, () => tileOrderWgsl(TL), 'SelectiveScanTileOrder');
  const [gx, gy] = grid(be, g.K * nTiles);
  dispatch(be, pipeline, Uint32Array.from([g.K, g.L, nTiles, gx]), [index, order], [gx, gy]);
  return order;
}

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
  const viaKSum = g.mode === 'sum' && g.K > 1 && !t.fwd.lockstep;
  const out = viaKSum ? be.makeTensorInfo([g.batch, g.channels, g.P], 'float32') : y;
  checkBindingSizes(be, { u, delta, B, C, y: out, states });
  checkStorageBindings(be, 8, 'forward');
  const v = variant(g, t, false, rolled);
  // zero-fill what is accumulated into (lockstep sum) or only partly written (plans with gaps)
  if (v.ySum || !g.coverAll) clearTensors(be, [out]);
  const pipeline = getPipeline(be, `fold-fwd${foldKey(v)}`, () => foldForwardWgsl(v), 'SelectiveScanFoldForward');
  const blocks = (t.fwd.lockstep ? g.channels / g.K : g.channels) / t.fwd.R;
  const [gx, gy] = grid(be, g.batch * blocks);
  const outRows = v.ySum ? g.channels / g.K : g.channels;
  const order = tileOrder(be, index, g, t.S * t.fwd.I);
  dispatch(be, pipeline, foldUniforms(g, t, t.fwd, outRows, g.mode === 'direct' ? g.L : g.P, gx), [u, delta, params, B, C, order, out, states], [gx, gy]);
  be.disposeData(order.dataId);
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
  const viaKSum = g.uShared === 1 && g.K > 1 && !t.bwd.lockstep;
  const duOut = viaKSum ? be.makeTensorInfo([g.batch, g.channels, g.P], 'float32') : du;
  const ddelta = be.makeTensorInfo([g.batch, g.channels, g.P], 'float32');
  const nbk = g.channels / g.G / t.bwd.R;
  const dBC = be.makeTensorInfo(t.partial ? [2, g.batch, g.G, nbk, g.N, g.P] : [2, g.batch, g.G, g.N, g.P], 'float32');
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
  const blocks = (t.bwd.lockstep ? g.channels / g.K : g.channels) / t.bwd.R;
  const [gx, gy] = grid(be, g.batch * blocks);
  const duRows = v.duSum ? g.channels / g.K : g.channels;
  const order = tileOrder(be, index, g, t.S * t.bwd.I);
  dispatch(be, pipeline, foldUniforms(g, t, t.bwd, duRows, g.mode === 'direct' ? g.L : g.P, gx),
    [u, delta, params, B, C, order, states, dy, duOut, ddelta, dBC, dParams], [gx, gy]);
  be.disposeData(order.dataId);
  if (viaKSum) {
    kSum(be, duOut, du, g);
    be.disposeData(duOut.dataId);
  }
  const [dB, dC] = splitDBC(be, dBC, g, t.partial && nbk > 1 ? nbk : null);
  be.disposeData(dBC.dataId);
  return [du, ddelta, dB, dC, dParams];
}
