// WGSL text shared by the forward and backward selective-scan programs. Everything baked into the
// text is a field of ShaderVariant, and the pipeline cache key is made from that whole object.
import type { ScanGeometry } from './types.ts';
import type { ScanTiling } from './webgpu-config.ts';

export interface ShaderVariant {
  S: number;
  I: number;
  R: number;
  N: number;
  /** localBackward window, 0 when off */
  W: number;
  hasPlan: boolean;
  uShared: boolean;
  sumMerge: boolean;
  loopK: boolean;
  atomic: boolean;
  softplus: boolean;
  /**
   * Loop bounds read from a uniform (`geo.one` = 1) so that compilers cannot unroll them. Mesa's
   * lavapipe force-unrolls every constant-trip loop that indexes a private array, and its LLVM
   * compile of the unrolled kernels took 10-60 s each; rolled, 1-2 s. Real GPUs get constant bounds
   * (unrolled: private arrays stay in registers).
   */
  rolled: boolean;
  /** subgroup kernels (S = subgroup size), see ScanTiling.subgroup */
  subgroup: boolean;
  /** subgroup backward: dB/dC written as per-row-block partial sums (else atomics) */
  partial: boolean;
}

export function shaderVariant(g: ScanGeometry, t: ScanTiling, loopK: boolean, rolled: boolean): ShaderVariant {
  return {
    S: t.S, I: t.I, R: t.R, N: g.N, W: g.localBackward,
    hasPlan: g.mode !== 'direct', uShared: g.uShared === 1, sumMerge: g.mode === 'sum',
    loopK, atomic: t.atomic, softplus: g.deltaSoftplus, rolled, subgroup: t.subgroup, partial: t.partial,
  };
}

/** Loop bound expressions: constants, or constants times the uniform 1 when rolled. */
export function loopBounds(v: ShaderVariant): { I: string; S: string; N: string; NP: string; R: string } {
  const b = (c: string) => (v.rolled ? `(${c} * geo.one)` : c);
  return { I: b('I'), S: b('S'), N: b('N'), NP: b('NP'), R: b('R') };
}

export const variantKey = (v: ShaderVariant) => JSON.stringify(v);

/** Uniform block, constants and helpers (binding 0 = uniforms). */
export function prelude(v: ShaderVariant): string {
  return /* wgsl */ `
struct Geo {
  batch: u32, channels: u32, N: u32, G: u32,
  K: u32, L: u32, P: u32, Dk: u32,
  Dg: u32, uRows: u32, outRows: u32, outLen: u32,
  nTiles: u32, blocks: u32, kCount: u32, gridX: u32,
  one: u32,
}
@group(0) @binding(0) var<uniform> geo: Geo;

const S: u32 = ${v.S}u;       // threads per row
const I: u32 = ${v.I}u;       // consecutive steps per thread
const R: u32 = ${v.R}u;       // rows (channels) per workgroup
const N: u32 = ${v.N}u;       // states
const W: u32 = ${v.W}u;       // localBackward window (0: off)
const TL: u32 = S * I;        // steps per tile
const SLOT: u32 = I + 1u;     // padded stride of a thread's steps in workgroup memory (no bank conflicts)
const NP: u32 = N + 2u;       // params row: A (N), D, deltaBias
const HAS_PLAN: bool = ${v.hasPlan};
const U_SHARED: bool = ${v.uShared};
const SUM_MERGE: bool = ${v.sumMerge};

// step q of a tile -> its slot in a per-row buffer (thread q / I, item q % I)
fn slotOf(q: u32) -> u32 { return (q / I) * SLOT + q % I; }

fn softplus(x: f32) -> f32 {
  if (x > 20.0) { return x; }   // threshold 20, as the CUDA kernel
  let e = exp(x);
  if (e < 1e-3) { return e * (1.0 - 0.5 * e); }   // log1p for small e
  return log(1.0 + e);
}

// map position of step t of direction dir: -1 zero token, -2 past the end (identity step)
fn posOf(dir: u32, t: u32) -> i32 {
  if (t >= geo.L) { return -2; }
  if (HAS_PLAN) { return idx[dir * geo.L + t]; }
  return i32(t);
}
`;
}

/** Float add into an array<atomic<u32>> by compare-exchange (WGSL has no float atomics). */
export function atomicAddFn(name: string, buffer: string): string {
  return /* wgsl */ `
fn ${name}(i: u32, v: f32) {
  var old = atomicLoad(&${buffer}[i]);
  loop {
    let r = atomicCompareExchangeWeak(&${buffer}[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}
`;
}

/** Row/channel bookkeeping at the top of the per-direction loop (defines b-independent names). */
export const channelSetup = /* wgsl */ `
    let c0 = kk * geo.Dk + blk * R;       // first channel of this workgroup's rows (kk = 0 without loopK)
    let c = c0 + r;
    let dir = c0 / geo.Dk;
    let grp = c0 / geo.Dg;
    var uRow = c;
    if (U_SHARED) { uRow = c % geo.Dk; }
    var outRow = c;
    if (SUM_MERGE) { outRow = c % geo.Dk; }
    let pr = c * NP;
`;

export const workgroupSetup = /* wgsl */ `
  let wg = wid.x + wid.y * geo.gridX;
  let b = wg / geo.blocks;
  let blk = wg % geo.blocks;
  if (b >= geo.batch) { return; }
  let r = lid / S;
  let s = lid % S;
  let rowBase = r * S * SLOT;
`;
