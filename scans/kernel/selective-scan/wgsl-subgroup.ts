// WGSL selective scan on subgroups (the fast path where the device has one subgroup size S).
// One subgroup per row (channel); a tile is I columns of S consecutive steps, step t0 + i*S + lane in
// lane `lane`'s item i, so every load and store is coalesced. Per column and state, the affine maps
// (a, b) = (exp(dt*A), dt*B*u) are scanned across lanes with subgroupShuffleUp (log2 S steps) and
// seeded by the state carried from the previous column (broadcast from the last lane). The forward
// has no workgroup barrier (subgroups assumed made of consecutive invocations, as on every GPU used).
// The backward recomputes each tile from the stored tile-start state, scans the adjoint
// g_t = dy_t C_t + a_{t+1} g_{t+1} with subgroupShuffleDown, and reduces dB/dC over the R rows of the
// workgroup in workgroup memory before storing per-row-block partial sums (or adding atomically).
import { atomicAddFn, channelSetup, loopBounds, prelude, type ShaderVariant } from './wgsl-common.ts';

const header = /* wgsl */ `enable subgroups;
diagnostic(off, subgroup_uniformity);
`;

const setup = /* wgsl */ `
  let wg = wid.x + wid.y * geo.gridX;
  let b = wg / geo.blocks;
  let blk = wg % geo.blocks;
  if (b >= geo.batch) { return; }
  let r = lid / S;
  let lane = lid % S;
`;

/** (a, b) <- inclusive scan over lanes of h -> a*h + b maps (earlier lanes applied first). */
const scanFns = /* wgsl */ `
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
// suffix scan of g -> b + a*g maps (later lanes applied first): b becomes g_t
fn scanDown(a: ptr<function, f32>, b: ptr<function, f32>, lane: u32) {
  for (var off = 1u; off < S; off = off * 2u) {
    let an = subgroupShuffleDown(*a, off);
    let bn = subgroupShuffleDown(*b, off);
    if (lane + off < S) {
      *b = *b + *a * bn;
      *a = *a * an;
    }
  }
}
`;

/** Loads of a tile's positions, u, dt (and its softplus derivative) for I columns. */
function loadTile(withDy: boolean): string {
  return /* wgsl */ `
      for (var i = 0u; i < LI; i++) {
        let p = posOf(dir, t0 + i * S + lane);
        pos[i] = p;
        var uv = 0.0;
        var x = bias;
        ${withDy ? 'var gv = 0.0;' : ''}
        if (p >= 0) {
          uv = u_in[(b * geo.uRows + uRow) * geo.P + u32(p)];
          x += delta_in[(b * geo.channels + c) * geo.P + u32(p)];
          ${withDy ? 'gv = dy[(b * geo.outRows + outRow) * geo.outLen + u32(p)];' : ''}
        }
        var d = x;
        ${withDy ? 'var f = 1.0;' : ''}
        SOFTPLUS
        if (p == -2) { d = 0.0; ${withDy ? 'f = 0.0;' : ''} }   // past the end: identity step
        uu[i] = uv;
        dt[i] = d;
        ${withDy ? 'dfac[i] = f;\n        dyv[i] = gv;' : ''}
      }`;
}

function finish(v: ShaderVariant, code: string): string {
  const L = loopBounds(v);
  return code
    .replace(/\bLI\b/g, L.I)
    .replace(/\bLN\b/g, L.N)
    .replace(/\bLR\b/g, L.R)
    .replace(/SOFTPLUS/g, v.softplus ? 'd = softplus(x);' : '')
    .replace('SOFTPLUS_GRAD', '');
}

export function forwardSubgroupWgsl(v: ShaderVariant): string {
  const yType = v.atomic ? 'array<atomic<u32>>' : 'array<f32>';
  const write = v.atomic ? 'addY(o, yacc[i]);' : v.loopK ? 'y[o] = y[o] + yacc[i];' : 'y[o] = yacc[i];';
  return finish(v, /* wgsl */ `${header}
${prelude(v)}
@group(0) @binding(1) var<storage, read> u_in: array<f32>;
@group(0) @binding(2) var<storage, read> delta_in: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> Bm: array<f32>;
@group(0) @binding(5) var<storage, read> Cm: array<f32>;
@group(0) @binding(6) var<storage, read> idx: array<i32>;
@group(0) @binding(7) var<storage, read_write> y: ${yType};
@group(0) @binding(8) var<storage, read_write> states: array<f32>;
${v.atomic ? atomicAddFn('addY', 'y') : ''}
${scanFns}

@compute @workgroup_size(${v.R * v.S})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
${setup}
  for (var kk = 0u; kk < geo.kCount; kk++) {
${channelSetup}
    let Dc = params[pr + N];
    let bias = params[pr + N + 1u];
    var carry: array<f32, N>;
    for (var n = 0u; n < LN; n++) { carry[n] = 0.0; }
    for (var tile = 0u; tile < geo.nTiles; tile++) {
      let t0 = tile * TL;
      var pos: array<i32, I>;
      var uu: array<f32, I>;
      var dt: array<f32, I>;
      var yacc: array<f32, I>;
${loadTile(false)}
      for (var i = 0u; i < LI; i++) { yacc[i] = Dc * uu[i]; }
      for (var n = 0u; n < LN; n++) {
        let An = params[pr + n];
        var bv: array<f32, I>;
        var cv: array<f32, I>;
        for (var i = 0u; i < LI; i++) {
          let p = pos[i];
          bv[i] = 0.0;
          cv[i] = 0.0;
          if (p >= 0) {
            let o = ((b * geo.G + grp) * N + n) * geo.P + u32(p);
            bv[i] = Bm[o];
            cv[i] = Cm[o];
          }
        }
        var h0 = carry[n];
        if (lane == 0u) { states[((b * geo.channels + c) * geo.nTiles + tile) * N + n] = h0; }
        for (var i = 0u; i < LI; i++) {
          var a = exp(dt[i] * An);
          var bb = dt[i] * bv[i] * uu[i];
          scanUp(&a, &bb, lane);
          let h = a * h0 + bb;
          yacc[i] += cv[i] * h;
          h0 = subgroupShuffle(h, S - 1u);
        }
        carry[n] = h0;
      }
      for (var i = 0u; i < LI; i++) {
        let p = pos[i];
        if (p >= 0) {
          let o = (b * geo.outRows + outRow) * geo.outLen + u32(p);
          ${write}
        }
      }
    }
    ${v.loopK ? 'storageBarrier();   // the next direction accumulates y written by other invocations' : ''}
  }
}
`);
}

export function backwardSubgroupWgsl(v: ShaderVariant): string {
  const accType = v.atomic ? 'array<atomic<u32>>' : 'array<f32>';
  const writeDu = v.atomic ? 'addDu(o, duv[i]);' : v.loopK ? 'du[o] = du[o] + duv[i];' : 'du[o] = duv[i];';
  const writeDdelta = v.atomic ? 'addDdelta(o, dx);' : 'ddelta[o] = dx;';
  // dB/dC: per-row-block partials (2, B, G, Dg/R, N, P), or atomic adds into (2, B, G, N, P)
  const bcType = v.partial ? 'array<f32>' : 'array<atomic<u32>>';
  const storeBC = v.partial
    ? /* wgsl */ `
            let nb = geo.Dg / R;
            let pb = ((((b * geo.G + grp) * nb + (c0 % geo.Dg) / R) * N + n) * geo.P) + u32(p);
            dBC[pb] = sb;
            dBC[geo.batch * geo.G * nb * N * geo.P + pb] = sc;`
    : /* wgsl */ `
            let o = ((b * geo.G + grp) * N + n) * geo.P + u32(p);
            // skip exact +0 (bit test: a float compare may treat NaN as 'equal' and drop it)
            if (bitcast<u32>(sb) != 0u) { addBC(o, sb); }
            if (bitcast<u32>(sc) != 0u) { addBC(geo.batch * geo.G * N * geo.P + o, sc); }`;
  return finish(v, /* wgsl */ `${header}
${prelude(v)}
@group(0) @binding(1) var<storage, read> u_in: array<f32>;
@group(0) @binding(2) var<storage, read> delta_in: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> Bm: array<f32>;
@group(0) @binding(5) var<storage, read> Cm: array<f32>;
@group(0) @binding(6) var<storage, read> idx: array<i32>;
@group(0) @binding(7) var<storage, read> states: array<f32>;
@group(0) @binding(8) var<storage, read> dy: array<f32>;
@group(0) @binding(9) var<storage, read_write> du: ${accType};
@group(0) @binding(10) var<storage, read_write> ddelta: ${accType};
@group(0) @binding(11) var<storage, read_write> dBC: ${bcType};
@group(0) @binding(12) var<storage, read_write> dParams: array<f32>;
${v.partial ? '' : atomicAddFn('addBC', 'dBC')}
${v.atomic ? atomicAddFn('addDu', 'du') + atomicAddFn('addDdelta', 'ddelta') : ''}
${scanFns}

var<workgroup> s_red: array<f32, 2u * R * TL>;   // dB / dC contributions of the R rows

@compute @workgroup_size(${v.R * v.S})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
${setup}
  for (var kk = 0u; kk < geo.kCount; kk++) {
${channelSetup}
    let Dc = params[pr + N];
    let bias = params[pr + N + 1u];
    var dAacc: array<f32, N>;
    var gcarry: array<f32, N>;   // adjoint entering the tile from the right: a_{t+1} g_{t+1}
    for (var n = 0u; n < LN; n++) { dAacc[n] = 0.0; gcarry[n] = 0.0; }
    var dDacc = 0.0;
    var dbiasAcc = 0.0;
    for (var tt = 0u; tt < geo.nTiles; tt++) {
      let tile = geo.nTiles - 1u - tt;
      let t0 = tile * TL;
      var pos: array<i32, I>;
      var uu: array<f32, I>;
      var dt: array<f32, I>;
      var dfac: array<f32, I>;
      var dyv: array<f32, I>;
${loadTile(true).replace('SOFTPLUS', v.softplus ? 'd = softplus(x); if (x <= 20.0) { f = 1.0 / (1.0 + exp(-x)); }' : '')}
      var duv: array<f32, I>;
      var ddt: array<f32, I>;
      for (var i = 0u; i < LI; i++) {
        duv[i] = Dc * dyv[i];
        ddt[i] = 0.0;
        dDacc += dyv[i] * uu[i];
      }
      for (var n = 0u; n < LN; n++) {
        let An = params[pr + n];
        var bv: array<f32, I>;
        var cv: array<f32, I>;
        for (var i = 0u; i < LI; i++) {
          let p = pos[i];
          bv[i] = 0.0;
          cv[i] = 0.0;
          if (p >= 0) {
            let o = ((b * geo.G + grp) * N + n) * geo.P + u32(p);
            bv[i] = Bm[o];
            cv[i] = Cm[o];
          }
        }
        // forward recompute from the tile-start state: aa = exp(dt*A), hp = state before each step
        var aa: array<f32, I>;
        var hp: array<f32, I>;
        var h0 = states[((b * geo.channels + c) * geo.nTiles + tile) * N + n];
        for (var i = 0u; i < LI; i++) {
          let a0 = exp(dt[i] * An);
          aa[i] = a0;
          var a = a0;
          var bb = dt[i] * bv[i] * uu[i];
          scanUp(&a, &bb, lane);
          let h = a * h0 + bb;
          var prev = subgroupShuffleUp(h, 1u);
          if (lane == 0u) { prev = h0; }
          hp[i] = prev;
          h0 = subgroupShuffle(h, S - 1u);
        }
        // adjoint, columns in reverse
        var gin = gcarry[n];
        var dAn = 0.0;
        var dBc: array<f32, I>;
        var dCc: array<f32, I>;
        for (var ii = LI; ii > 0u; ii--) {
          let i = ii - 1u;
          var al = subgroupShuffleDown(aa[i], 1u);
          var be = dyv[i] * cv[i];
          if (lane == S - 1u) { al = 0.0; be += gin; }
          scanDown(&al, &be, lane);
          let g = be;   // adjoint of h_t
          gin = subgroupShuffle(aa[i] * g, 0u);
          let ea = g * hp[i] * aa[i];
          let bu = bv[i] * uu[i];
          ddt[i] += ea * An + g * bu;
          dAn += ea * dt[i];
          duv[i] += g * dt[i] * bv[i];
          dBc[i] = g * dt[i] * uu[i];
          dCc[i] = dyv[i] * (aa[i] * hp[i] + dt[i] * bu);
        }
        gcarry[n] = gin;
        dAacc[n] += dAn;
        // dB/dC: reduce over the R rows, one store (or atomic add) per step
        workgroupBarrier();
        for (var i = 0u; i < LI; i++) {
          s_red[(r * I + i) * S + lane] = dBc[i];
          s_red[(R + r) * TL + i * S + lane] = dCc[i];
        }
        workgroupBarrier();
        for (var q = lid; q < TL; q += R * S) {
          let p = posOf(dir, t0 + q);
          if (p >= 0) {
            var sb = 0.0;
            var sc = 0.0;
            for (var rr = 0u; rr < LR; rr++) {
              sb += s_red[rr * TL + q];
              sc += s_red[(R + rr) * TL + q];
            }
${storeBC}
          }
        }
      }
      for (var i = 0u; i < LI; i++) {
        let p = pos[i];
        let dx = ddt[i] * dfac[i];
        dbiasAcc += dx;   // zero tokens too: their dt is softplus(bias)
        if (p >= 0) {
          var o = (b * geo.uRows + uRow) * geo.P + u32(p);
          ${writeDu}
          o = (b * geo.channels + c) * geo.P + u32(p);
          ${writeDdelta}
        }
      }
    }
    // per-channel partials: dA (N), dD, dDeltaBias, summed over the lanes
    for (var n = 0u; n < LN; n++) {
      let sA = subgroupAdd(dAacc[n]);
      if (lane == 0u) { dParams[(b * geo.channels + c) * NP + n] = sA; }
    }
    let sD = subgroupAdd(dDacc);
    let sBias = subgroupAdd(dbiasAcc);
    if (lane == 0u) {
      dParams[(b * geo.channels + c) * NP + N] = sD;
      dParams[(b * geo.channels + c) * NP + N + 1u] = sBias;
    }
    ${v.loopK ? 'storageBarrier();   // the next direction accumulates du written by other invocations' : ''}
  }
}
`);
}

/** dB, dC = sum over the Dg/R row blocks of the partials (2, B, G, Dg/R, N, P). */
export const REDUCE_PARTIALS_WGSL = /* wgsl */ `
struct Sizes { outer: u32, blocks: u32, inner: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> sz: Sizes;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> dB: array<f32>;
@group(0) @binding(3) var<storage, read_write> dC: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * sz.gridX) * 256u + lid;   // over outer (B*G) x inner (N*P)
  let total = sz.outer * sz.inner;
  if (i >= total) { return; }
  let o = i / sz.inner;
  let k = i % sz.inner;
  var sb = 0.0;
  var sc = 0.0;
  for (var j = 0u; j < sz.blocks; j++) {
    let at = (o * sz.blocks + j) * sz.inner + k;
    sb += part[at];
    sc += part[total * sz.blocks + at];
  }
  dB[i] = sb;
  dC[i] = sc;
}
`;
