// WGSL text shared by the forward and backward selective-scan programs: the prelude, setup and
// per-thread pieces of the portable and subgroup kernels (everything baked into their text is a field
// of ShaderVariant, and the pipeline cache key is made from that whole object), and what all three
// families share (bindings, softplus, dt, lane scans, dB/dC stores), parameterised by what differs.
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
export interface LoopBounds { I: string; S: string; N: string; NP: string; R: string }

export function loopBounds(v: ShaderVariant): LoopBounds {
  const b = (c: string) => (v.rolled ? `(${c} * geo.one)` : c);
  return { I: b('I'), S: b('S'), N: b('N'), NP: b('NP'), R: b('R') };
}

export const variantKey = (v: ShaderVariant) => JSON.stringify(v);

/** softplus with the CUDA kernel's threshold (every family's prelude). */
export const softplusFn = /* wgsl */ `fn softplus(x: f32) -> f32 {
  if (x > 20.0) { return x; }   // threshold 20, as the CUDA kernel
  let e = exp(x);
  if (e < 1e-3) { return e * (1.0 - 0.5 * e); }   // log1p for small e
  return log(1.0 + e);
}
`;

/**
 * The statements after `let x = delta + bias`: d = dt (softplus or x), with `grad` also f = d dt / dx;
 * both 0 where `pastEnd` holds (an identity step). Lines joined by `indent`.
 */
export function dtFromX(softplus: boolean, grad: boolean, pastEnd: string, indent: string): string {
  const lines = ['var d = x;'];
  if (grad) lines.push('var f = 1.0;');
  lines.push(!softplus ? '' : grad ? 'd = softplus(x); if (x <= 20.0) { f = 1.0 / (1.0 + exp(-x)); }' : 'd = softplus(x);');
  lines.push(grad
    ? `if (${pastEnd}) { d = 0.0; f = 0.0; }   // past the end: identity step, no gradient`
    : `if (${pastEnd}) { d = 0.0; }   // past the end: identity step`);
  return lines.join(`\n${indent}`);
}

/** WGSL array type of an output: plain f32, or u32 words for compare-exchange float adds (atomicAddFn). */
const f32Buffer = (atomic: boolean) => (atomic ? 'array<atomic<u32>>' : 'array<f32>');

/** Bindings 1-6 of every scan program; binding 6 is the plan index, or the fold kernels' tileOrder. */
function inputBindings(tileOrder: boolean): string {
  return /* wgsl */ `@group(0) @binding(1) var<storage, read> u_in: array<f32>;
@group(0) @binding(2) var<storage, read> delta_in: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> Bm: array<f32>;
@group(0) @binding(5) var<storage, read> Cm: array<f32>;
@group(0) @binding(6) var<storage, read> ${tileOrder ? 'tileOrder: array<vec2<i32>>' : 'idx: array<i32>'};`;
}

/** Forward bindings (as webgpu.ts / webgpu-fold.ts dispatch them): 1-6 inputs, 7 y, 8 states; addY for an atomic y. */
export function forwardBindings(tileOrder: boolean, yAtomic: boolean): string {
  return /* wgsl */ `${inputBindings(tileOrder)}
@group(0) @binding(7) var<storage, read_write> y: ${f32Buffer(yAtomic)};
@group(0) @binding(8) var<storage, read_write> states: array<f32>;
${yAtomic ? atomicAddFn('addY', 'y') : ''}`;
}

/**
 * Backward bindings: 1-6 inputs, 7 states, 8 dy, 9 du, 10 ddelta, 11 dBC, 12 dParams; addDu/addDdelta
 * for atomic du/ddelta, addBC for atomic dB/dC.
 */
export function backwardBindings(tileOrder: boolean, accAtomic: boolean, bcAtomic: boolean): string {
  return /* wgsl */ `${inputBindings(tileOrder)}
@group(0) @binding(7) var<storage, read> states: array<f32>;
@group(0) @binding(8) var<storage, read> dy: array<f32>;
@group(0) @binding(9) var<storage, read_write> du: ${f32Buffer(accAtomic)};
@group(0) @binding(10) var<storage, read_write> ddelta: ${f32Buffer(accAtomic)};
@group(0) @binding(11) var<storage, read_write> dBC: ${f32Buffer(bcAtomic)};
@group(0) @binding(12) var<storage, read_write> dParams: array<f32>;
${bcAtomic ? atomicAddFn('addBC', 'dBC') : ''}
${accAtomic ? atomicAddFn('addDu', 'du') + atomicAddFn('addDdelta', 'ddelta') : ''}`;
}

/**
 * dB/dC of step p, state n (sums sb, sc over the rows of my block): into the per-row-block partials
 * (2, B, G, nBlocks, N, P), or with nBlocks null added into (2, B, G, N, P) by compare-exchange
 * (dcOff: the offset of dC there).
 */
export function storeDBC(nBlocks: string | null, dcOff = 'geo.batch * geo.G * N * geo.P'): string {
  return nBlocks !== null
    ? /* wgsl */ `
          let pb = (((b * geo.G + grp) * ${nBlocks} + (c0 % geo.Dg) / R) * N + n) * geo.P + u32(p);
          dBC[pb] = sb;
          dBC[geo.batch * geo.G * ${nBlocks} * N * geo.P + pb] = sc;`
    : /* wgsl */ `
          let o = ((b * geo.G + grp) * N + n) * geo.P + u32(p);
          // skip exact +0 (bit test: a float compare may treat NaN as 'equal' and drop it)
          if (bitcast<u32>(sb) != 0u) { addBC(o, sb); }
          if (bitcast<u32>(sc) != 0u) { addBC(${dcOff} + o, sc); }`;
}

/**
 * One step of a lane's (thread's) fold of its I steps into h -> fa*h + fb, keeping each step's map
 * (aa, bb); B of the step at s_B[bSlot + i].
 */
export const foldStep = (bSlot: string) => /* wgsl */ `
        let a = exp(dt[i] * An);
        let bv = dt[i] * s_B[${bSlot} + i] * uu[i];
        aa[i] = a;
        bb[i] = bv;
        fa = a * fa;
        fb = a * fb + bv;`;

/** Subgroup kernels (subgroup and fold families): the extension, no uniformity analysis of shuffles. */
export const subgroupsHeader = /* wgsl */ `enable subgroups;
diagnostic(off, subgroup_uniformity);
`;

/** Scans over the S lanes of a subgroup (log2 S shuffle rounds), used by the subgroup and fold kernels. */
export const laneScanFns = /* wgsl */ `
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

/** dParams row of my channel from per-lane partials dAacc (N), dDacc, dbiasAcc, summed over the lanes. */
export const laneParamsStore = (nBound: string) => /* wgsl */ `
  for (var n = 0u; n < ${nBound}; n++) {
    let sA = subgroupAdd(dAacc[n]);
    if (lane == 0u) { dParams[(b * geo.channels + c) * NP + n] = sA; }
  }
  let sD = subgroupAdd(dDacc);
  let sBias = subgroupAdd(dbiasAcc);
  if (lane == 0u) {
    dParams[(b * geo.channels + c) * NP + N] = sD;
    dParams[(b * geo.channels + c) * NP + N + 1u] = sBias;
  }`;

/** Batch element and block of this workgroup (2D grid of gridX columns); out-of-range workgroups return. */
export const workgroupIds = /* wgsl */ `
  let wg = wid.x + wid.y * geo.gridX;
  let b = wg / geo.blocks;
  let blk = wg % geo.blocks;
  if (b >= geo.batch) { return; }`;

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

${softplusFn}
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

/**
 * Entry point of the portable and subgroup programs (`setup`: their workgroup bookkeeping) up to my
 * channel's D and deltaBias, inside the loop over the kCount directions (the program closes both).
 */
export const mainOpening = (v: ShaderVariant, setup: string) => /* wgsl */ `@compute @workgroup_size(${v.R * v.S})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
${setup}
  for (var kk = 0u; kk < geo.kCount; kk++) {
${channelSetup}
    let Dc = params[pr + N];
    let bias = params[pr + N + 1u];`;

export const workgroupSetup = /* wgsl */ `${workgroupIds}
  let r = lid / S;
  let s = lid % S;
  let rowBase = r * S * SLOT;
`;

// Portable kernels (wgsl-forward.ts, wgsl-backward.ts): one thread of S per row owns I consecutive steps.

/** One value per step of my row's tile, read coalesced (step q = s + i*S, 0 at zero tokens) into s_x. */
export const stageRowValue = (L: LoopBounds, read: string) => /* wgsl */ `
      for (var i = 0u; i < ${L.I}; i++) {
        let q = s + i * S;
        let p = s_pos[q];
        var val = 0.0;
        if (p >= 0) { val = ${read}; }
        s_x[rowBase + slotOf(q)] = val;
      }`;

/**
 * Per state n (inside its loop): B/C of the tile staged in s_B/s_C (shared by the R rows), then each
 * thread folds its I steps into h -> fa*h + fb, keeping each step's map (aa, bb).
 */
export const stageAndFold = (L: LoopBounds) => /* wgsl */ `
        workgroupBarrier();
        for (var q = lid; q < TL; q += R * S) {
          let p = s_pos[q];
          var bv = 0.0;
          var cv = 0.0;
          if (p >= 0) {
            let o = ((b * geo.G + grp) * N + n) * geo.P + u32(p);
            bv = Bm[o];
            cv = Cm[o];
          }
          s_B[slotOf(q)] = bv;
          s_C[slotOf(q)] = cv;
        }
        workgroupBarrier();
        let An = params[pr + n];
        var aa: array<f32, I>;
        var bb: array<f32, I>;
        var fa = 1.0;
        var fb = 0.0;
        for (var i = 0u; i < ${L.I}; i++) {${foldStep('s * SLOT')}
        }`;

/**
 * Serial scan of my row's S thread maps (sA[j], sB[j]) from the state h (one thread per row): sB[j]
 * becomes the state entering thread j, h the state after the tile.
 */
export const serialScan = (L: LoopBounds, sA: string, sB: string) => /* wgsl */ `
          for (var j = 0u; j < ${L.S}; j++) {
            let ja = ${sA}[r * S + j];
            let jb = ${sB}[r * S + j];
            ${sB}[r * S + j] = h;   // state entering thread j
            h = ja * h + jb;
          }`;
