// WGSL text shared by the fold kernels (wgsl-fold-forward.ts, wgsl-fold-backward.ts).
//
// Layout: a workgroup holds NG row groups of R rows (channels); one subgroup of S lanes per row. A tile
// is TL = S*I consecutive steps; lane `lane` owns the I consecutive steps t0 + lane*I + i, so it folds
// them into one affine map h -> a*h + b sequentially, and the S maps of a row are scanned once per tile
// and state with subgroup shuffles (log2 S rounds): the recurrence costs a few instructions per step
// instead of a full shuffle scan per step. Global memory is read and written coalesced (step q of the
// tile by lane q % S) and transposed through workgroup memory (padded slots, no bank conflicts). The
// R rows of a row group share a direction and a B/C group: positions and B/C tiles are loaded once
// per row group. Everything baked into the text is a field of FoldVariant (the pipeline cache key).

export interface FoldVariant {
  /** subgroup size = lanes per row */
  S: number;
  /** consecutive steps per lane */
  I: number;
  /** rows per row group (same direction and B/C group) */
  R: number;
  /** row groups per workgroup: the K directions of the same channels (lockstep) or 1 */
  NG: number;
  N: number;
  /** B/C states staged in workgroup memory per round */
  NB: number;
  hasPlan: boolean;
  /** u row = channel % Dk (one u shared by the directions) */
  uShared: boolean;
  softplus: boolean;
  /** forward: y row = channel % Dk, summed over the NG directions in lockstep (read-modify-write) */
  ySum: boolean;
  /** backward: dy row = channel % Dk (merge 'sum': dy (B, D, P)) */
  dyShared: boolean;
  /** backward: du row = channel % Dk, summed over the NG directions in lockstep */
  duSum: boolean;
  /** backward: dB/dC per-row-group partial sums (else float atomics by compare-exchange) */
  partial: boolean;
  /** loop bounds from a uniform (see ShaderVariant.rolled in wgsl-common.ts) */
  rolled: boolean;
  /** a third staging buffer s_c (the backward stages u, delta and dy at once) */
  threeBuffers: boolean;
}

export const foldKey = (v: FoldVariant) => JSON.stringify(v);

/** Uniform block of the fold kernels: 20 u32 (foldUniforms in webgpu-fold.ts writes them in this order). */
export function foldPrelude(v: FoldVariant): string {
  return /* wgsl */ `enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Geo {
  batch: u32, channels: u32, N: u32, G: u32,
  K: u32, L: u32, P: u32, Dk: u32,
  Dg: u32, uRows: u32, outRows: u32, outLen: u32,
  nTiles: u32, blocks: u32, nSeg: u32, gridX: u32,
  one: u32, seg: u32, nbk: u32, dyRows: u32,
}
@group(0) @binding(0) var<uniform> geo: Geo;

const S: u32 = ${v.S}u;
const I: u32 = ${v.I}u;
const R: u32 = ${v.R}u;
const NG: u32 = ${v.NG}u;
const N: u32 = ${v.N}u;
const NB: u32 = ${v.NB}u;
const ROWS: u32 = NG * R;
const TL: u32 = S * I;
const SLOT: u32 = I + 1u;        // padded stride of a lane's steps in workgroup memory
const ROWLEN: u32 = S * SLOT;    // one row's tile in workgroup memory
const NP: u32 = N + 2u;          // params row: A (N), D, deltaBias
const HAS_PLAN: bool = ${v.hasPlan};
const U_SHARED: bool = ${v.uShared};

var<workgroup> s_pos: array<i32, 2u * NG * TL>;   // double-buffered by tile parity
var<workgroup> s_a: array<f32, ROWS * ROWLEN>;
var<workgroup> s_b: array<f32, ROWS * ROWLEN>;
${v.threeBuffers ? 'var<workgroup> s_c: array<f32, ROWS * ROWLEN>;' : ''}
var<workgroup> s_B: array<f32, NG * NB * ROWLEN>;
var<workgroup> s_C: array<f32, NG * NB * ROWLEN>;

// step q of a tile -> its slot (lane q / I, item q % I)
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

// (a, b) <- inclusive scan over lanes of the maps h -> a*h + b (earlier lanes applied first)
fn scanUp(a: ptr<function, f32>, b: ptr<function, f32>, lane: u32) {
  for (var off = 1u; off < S; off = off * 2u) {
    let ap = subgroupShuffleUp(*a, off);
    let bp = subgroupShuffleUp(*b, off);
    if (lane >= off) {
      *b = *a * bp + *b;
      *a = *a * ap;
    }
  }
}

// (a, b) <- inclusive suffix scan over lanes of the maps g -> a*g + b (later lanes applied first)
fn scanDown(a: ptr<function, f32>, b: ptr<function, f32>, lane: u32) {
  for (var off = 1u; off < S; off = off * 2u) {
    let an = subgroupShuffleDown(*a, off);
    let bn = subgroupShuffleDown(*b, off);
    if (lane + off < S) {
      *b = *a * bn + *b;
      *a = *a * an;
    }
  }
}
`;
}

/** Workgroup / row bookkeeping shared by both programs (inside main). */
export const foldSetup = /* wgsl */ `
  let wg = wid.x + wid.y * geo.gridX;
  let b = wg / geo.blocks;
  let blk = wg % geo.blocks;
  if (b >= geo.batch) { return; }
  let sg = lid / S;              // my row in the workgroup
  let lane = lid % S;
  let rg = sg / R;               // my row group
  let r = sg % R;
  let rgLid = lid % (R * S);     // my index among the threads of my row group
  var c0 = blk * R;              // first channel of my row group
  if (NG > 1u) { c0 = rg * geo.Dk + blk * R; }
  let c = c0 + r;
  let dir = c0 / geo.Dk;
  let grp = c0 / geo.Dg;
  var uRow = c;
  if (U_SHARED) { uRow = c % geo.Dk; }
  let pr = c * NP;
  let rowBase = sg * ROWLEN;
  let laneBase = rowBase + lane * SLOT;
  let bcBase = rg * NB * ROWLEN;
  let Dc = params[pr + N];
  let bias = params[pr + N + 1u];
`;

/**
 * Positions of the tile for my row group, in the half of s_pos of the tile's parity: the other half may
 * still be read by the previous tile's stores, the one before was released by the previous barriers.
 * Ends with the barrier after which the positions are visible.
 */
export const loadPositions = /* wgsl */ `
    let posBase = ((tile & 1u) * NG + rg) * TL;
    for (var q = rgLid; q < TL; q += R * S) { s_pos[posBase + q] = posOf(dir, t0 + q); }
    workgroupBarrier();
`;

/** Stages B/C of states n0 .. n0+NB-1 of my row group's tile (coalesced over q). */
const stageBCBody = (n0: string) => /* wgsl */ `
        for (var q = rgLid; q < NB * TL; q += R * S) {
          let m = q / TL;
          let qq = q % TL;
          let p = s_pos[posBase + qq];
          var bv = 0.0;
          var cv = 0.0;
          if (p >= 0 && ${n0} + m < N) {
            let o = ((b * geo.G + grp) * N + ${n0} + m) * geo.P + u32(p);
            bv = Bm[o];
            cv = Cm[o];
          }
          s_B[bcBase + m * ROWLEN + slotOf(qq)] = bv;
          s_C[bcBase + m * ROWLEN + slotOf(qq)] = cv;
        }`;

/** The first B/C round, staged together with the rows' inputs (before the same barrier). */
export const stageFirstBC = stageBCBody('0u');

/** Inside the loop over n: the next B/C round at every NB-th state (uniform condition), after the first. */
export const stageBC = /* wgsl */ `
      let nb = n % NB;
      if (nb == 0u && n > 0u) {
        workgroupBarrier();${stageBCBody('n')}
        workgroupBarrier();
      }
      let bcLane = bcBase + nb * ROWLEN + lane * SLOT;
`;

/** Replaces the loop-bound placeholders LI / LN / LR / LNG (constants, or times the uniform 1 when rolled). */
export function foldBounds(v: FoldVariant, code: string): string {
  const b = (c: string) => (v.rolled ? `(${c} * geo.one)` : c);
  return code
    .replace(/\bLI\b/g, b('I'))
    .replace(/\bLN\b/g, b('N'))
    .replace(/\bLR\b/g, b('R'))
    .replace(/\bLNG\b/g, b('NG'));
}

/** Workgroup memory of a fold program, in bytes (`buffers`: 2 forward, 3 backward). */
export function foldSharedBytes(t: { S: number; I: number; R: number; NG: number; NB: number }, buffers: number): number {
  const rowLen = t.S * (t.I + 1);
  return 4 * (2 * t.NG * t.S * t.I + buffers * t.NG * t.R * rowLen + 2 * t.NG * t.NB * rowLen);
}
