// WGSL text shared by the fold kernels (wgsl-fold-forward.ts, wgsl-fold-backward.ts).
//
// Layout: a workgroup holds NG row groups of R rows (channels); one subgroup of S lanes per row. A tile
// is TL = S*I consecutive steps; lane `lane` owns the I consecutive steps t0 + lane*I + i, so it folds
// them into one affine map h -> a*h + b sequentially, and the S maps of a row are scanned once per tile
// and state with subgroup shuffles (log2 S rounds): the recurrence costs a few instructions per step
// instead of a full shuffle scan per step. Global memory is read and written through workgroup memory
// (padded slots, no bank conflicts): with a plan, in the order of the map positions of the tile
// (`tileOrder`, built per call by TILE_ORDER_WGSL), so that a column-major walk still reads and writes
// whole memory sectors when its tile spans enough columns. The R rows of a row group share a direction
// and a B/C group: B/C tiles are loaded once per row group.
// On GPUs the per-lane loops are emitted unrolled with constant indices (the private arrays stay in
// registers); on software adapters they stay loops bounded by a uniform (compile time, see
// ShaderVariant.rolled in wgsl-common.ts). Everything baked into the text is a field of FoldVariant.
import { foldStep, laneScanFns, softplusFn, subgroupsHeader, workgroupIds } from './wgsl-common.ts';

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
  /** loops over a lane's steps stay loops bounded by a uniform (software adapters) */
  rolled: boolean;
  /** a third staging buffer s_c (the backward stages u, delta and dy at once) */
  threeBuffers: boolean;
}

export const foldKey = (v: FoldVariant) => JSON.stringify(v);

/** Padded stride of a lane's I steps in workgroup memory: odd, so lane-strided reads hit distinct banks. */
export const slotStride = (I: number) => (I % 2 === 1 ? I : I + 1);

/** Uniform block of the fold kernels: 20 u32 (foldUniforms in webgpu-fold.ts writes them in this order). */
export function foldPrelude(v: FoldVariant): string {
  return /* wgsl */ `${subgroupsHeader}
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
const SLOT: u32 = ${slotStride(v.I)}u;    // padded stride of a lane's steps in workgroup memory
const ROWLEN: u32 = S * SLOT;    // one row's tile in workgroup memory
const NP: u32 = N + 2u;          // params row: A (N), D, deltaBias
const U_SHARED: bool = ${v.uShared};

var<workgroup> s_a: array<f32, ROWS * ROWLEN>;
var<workgroup> s_b: array<f32, ROWS * ROWLEN>;
${v.threeBuffers ? 'var<workgroup> s_c: array<f32, ROWS * ROWLEN>;' : ''}
var<workgroup> s_B: array<f32, NG * NB * ROWLEN>;
var<workgroup> s_C: array<f32, NG * NB * ROWLEN>;

// step q of a tile -> its slot (lane q / I, item q % I)
fn slotOf(q: u32) -> u32 { return (q / I) * SLOT + q % I; }

${softplusFn}
// m-th access of the tile (in map-position order with a plan): (step offset q, position p);
// p = -1 zero token, -2 past the end
fn access(dir: u32, tile: u32, m: u32) -> vec2<i32> {
  ${v.hasPlan
    ? 'return tileOrder[(dir * geo.nTiles + tile) * TL + m];'
    : 'if (geo.one == 0u) { return tileOrder[m]; }   // never: keeps the binding in the layout\n  let t = tile * TL + m;\n  if (t >= geo.L) { return vec2<i32>(i32(m), -2); }\n  return vec2<i32>(i32(m), i32(t));'}
}

${laneScanFns}`;
}

/**
 * A loop over i in [0, I) (or reversed): rolled with a uniform bound, or unrolled into blocks with
 * `const i = k` so every private-array index is a constant.
 */
export function forItems(v: FoldVariant, name: string, body: string, reverse = false): string {
  if (v.rolled) {
    return reverse
      ? `for (var ${name}_r = I * geo.one; ${name}_r > 0u; ${name}_r--) { let ${name} = ${name}_r - 1u;${body}\n}`
      : `for (var ${name} = 0u; ${name} < I * geo.one; ${name}++) {${body}\n}`;
  }
  const ks = Array.from({ length: v.I }, (_, k) => k);
  if (reverse) ks.reverse();
  return ks.map((k) => `{ const ${name} = ${k}u;${body}\n}`).join('\n');
}

/**
 * Per state n: each lane folds its I steps into h -> fa*h + fb (keeping each step's map in aa, bb), the
 * lane maps are scanned, and (ea, eb) is the exclusive prefix: the map to the state entering my first step.
 */
export const foldLaneMaps = (v: FoldVariant) => /* wgsl */ `
      var aa: array<f32, I>;
      var bb: array<f32, I>;
      var fa = 1.0;
      var fb = 0.0;
      ${forItems(v, 'i', foldStep('bcLane'))}
      scanUp(&fa, &fb, lane);
      var ea = subgroupShuffleUp(fa, 1u);
      var eb = subgroupShuffleUp(fb, 1u);
      if (lane == 0u) { ea = 1.0; eb = 0.0; }`;

/** A loop over n in [0, N) without barriers (rolled or unrolled like forItems). */
export function forStates(v: FoldVariant, body: string): string {
  if (v.rolled || v.N > 4) return `for (var n = 0u; n < N * geo.one; n++) {${body}\n}`;
  return Array.from({ length: v.N }, (_, k) => `{ const n = ${k}u;${body}\n}`).join('\n');
}

/**
 * Stores my row's tile from workgroup memory (s_a, my row's slots) into out[rowStart + p] in
 * map-position order. `sum`: the NG row groups (directions in lockstep) add into shared rows, one
 * after the other (storage barriers between), so that their read-modify-writes do not race.
 */
export function storeRowTile(v: FoldVariant, out: string, rowStart: string, sum: boolean): string {
  const store = forItems(v, 'j', /* wgsl */ `
          let ap = access(dir, tile, j * S + lane);
          let p = ap.y;
          if (p >= 0) {
            let o = ${rowStart} + u32(p);
            ${sum ? `${out}[o] = ${out}[o] + s_a[rowBase + slotOf(u32(ap.x))];` : `${out}[o] = s_a[rowBase + slotOf(u32(ap.x))];`}
          }`);
  return sum ? /* wgsl */ `
    for (var k = 0u; k < NG * geo.one; k++) {
      if (rg == k) {${store}
      }
      storageBarrier();   // direction k's additions are visible to the next direction's
    }` : store;
}

/** Workgroup / row bookkeeping shared by both programs (inside main). */
export const foldSetup = /* wgsl */ `${workgroupIds}
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

/** Stages B/C of states n0 .. n0+NB-1 of my row group's tile. */
const stageBCBody = (n0: string) => /* wgsl */ `
        for (var e = rgLid; e < NB * TL; e += R * S) {
          let mb = e / TL;
          let ap = access(dir, tile, e % TL);
          let p = ap.y;
          var bv = 0.0;
          var cv = 0.0;
          if (p >= 0 && ${n0} + mb < N) {
            let o = ((b * geo.G + grp) * N + ${n0} + mb) * geo.P + u32(p);
            bv = Bm[o];
            cv = Cm[o];
          }
          s_B[bcBase + mb * ROWLEN + slotOf(u32(ap.x))] = bv;
          s_C[bcBase + mb * ROWLEN + slotOf(u32(ap.x))] = cv;
        }`;

/** The first B/C round, staged together with the rows' inputs (before the same barrier). */
export const stageFirstBC = stageBCBody('0u');

/**
 * The loop over the states n: when all N states fit one B/C round (staged with the inputs), a plain
 * loop without barriers (unrolled on GPUs for N <= 4); else a rolled loop that stages the next round
 * at every NB-th state (uniform condition). `body` may use n and bcLane (my lane's B/C slots).
 */
export function forStatesStaged(v: FoldVariant, body: string): string {
  if (v.N <= v.NB) return forStates(v, `\n      let bcLane = bcBase + n * ROWLEN + lane * SLOT;${body}`);
  return /* wgsl */ `for (var n = 0u; n < N * geo.one; n++) {
      let nb = n % NB;
      if (nb == 0u && n > 0u) {
        workgroupBarrier();${stageBCBody('n')}
        workgroupBarrier();
      }
      let bcLane = bcBase + nb * ROWLEN + lane * SLOT;${body}
    }`;
}

/** Workgroup memory of a fold program, in bytes (`buffers`: 2 forward, 3 backward). */
export function foldSharedBytes(t: { S: number; I: number; R: number; NG: number; NB: number }, buffers: number): number {
  const rowLen = t.S * slotStride(t.I);
  return 4 * (buffers * t.NG * t.R * rowLen + 2 * t.NG * t.NB * rowLen);
}

/**
 * tileOrder (K, nTiles*TL) of (step offset q, position p) pairs: the accesses of each tile of each
 * direction sorted by map position (ties by offset), so that staged loads and stores walk memory in
 * address order. Past the end of the sequence: p = -2.
 */
export function tileOrderWgsl(TL: number): string {
  return /* wgsl */ `
struct Sizes { K: u32, L: u32, nTiles: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> sz: Sizes;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> order: array<vec2<i32>>;
const TL: u32 = ${TL}u;
var<workgroup> keys: array<i32, TL>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * sz.gridX;   // (direction, tile)
  if (w >= sz.K * sz.nTiles) { return; }
  let k = w / sz.nTiles;
  let t0 = (w % sz.nTiles) * TL;
  for (var q = lid; q < TL; q += 256u) {
    var p = -2;
    if (t0 + q < sz.L) { p = idx[k * sz.L + t0 + q]; }
    keys[q] = p;
  }
  workgroupBarrier();
  for (var q = lid; q < TL; q += 256u) {
    let p = keys[q];
    var rank = 0u;
    for (var q2 = 0u; q2 < TL; q2++) {
      let p2 = keys[q2];
      if (p2 < p || (p2 == p && q2 < q)) { rank++; }
    }
    order[w * TL + rank] = vec2<i32>(i32(q), p);
  }
}
`;
}
