// WGSL selective scan on subgroups (the fast path where the device has one subgroup size S).
// One subgroup per row (channel); a tile is I columns of S consecutive steps, step t0 + i*S + lane in
// lane `lane`'s item i, so every load and store is coalesced. Per column and state, the affine maps
// (a, b) = (exp(dt*A), dt*B*u) are scanned across lanes with subgroupShuffleUp (log2 S steps) and
// seeded by the state carried from the previous column (broadcast from the last lane). The forward
// has no workgroup barrier (subgroups assumed made of consecutive invocations, as on every GPU used).
// The backward recomputes each tile from the stored tile-start state, scans the adjoint
// g_t = dy_t C_t + a_{t+1} g_{t+1} with subgroupShuffleDown, and reduces dB/dC over the R rows of the
// workgroup in workgroup memory before storing per-row-block partial sums (or adding atomically).
import {
  backwardBindings, dtFromX, forwardBindings, laneParamsStore, laneScanFns, loopBounds, mainOpening, prelude, storeDBC, subgroupsHeader,
  workgroupIds, type ShaderVariant,
} from './wgsl-common.ts';

const setup = /* wgsl */ `${workgroupIds}
  let r = lid / S;
  let lane = lid % S;
`;

/** Loads of a tile's positions, u, dt (and its softplus derivative and dy) for I columns. */
function loadTile(v: ShaderVariant, withDy: boolean): string {
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
        ${dtFromX(v.softplus, withDy, 'p == -2', '        ')}
        uu[i] = uv;
        dt[i] = d;
        ${withDy ? 'dfac[i] = f;\n        dyv[i] = gv;' : ''}
      }`;
}

/** B and C of state n at my I steps (0 at zero tokens). */
const loadBC = /* wgsl */ `
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
        }`;

function finish(v: ShaderVariant, code: string): string {
  const L = loopBounds(v);
  return code
    .replace(/\bLI\b/g, L.I)
    .replace(/\bLN\b/g, L.N)
    .replace(/\bLR\b/g, L.R);
}

export function forwardSubgroupWgsl(v: ShaderVariant): string {
  const write = v.atomic ? 'addY(o, yacc[i]);' : v.loopK ? 'y[o] = y[o] + yacc[i];' : 'y[o] = yacc[i];';
  return finish(v, /* wgsl */ `${subgroupsHeader}
${prelude(v)}
${forwardBindings(false, v.atomic)}
${laneScanFns}

${mainOpening(v, setup)}
    var carry: array<f32, N>;
    for (var n = 0u; n < LN; n++) { carry[n] = 0.0; }
    for (var tile = 0u; tile < geo.nTiles; tile++) {
      let t0 = tile * TL;
      var pos: array<i32, I>;
      var uu: array<f32, I>;
      var dt: array<f32, I>;
      var yacc: array<f32, I>;
${loadTile(v, false)}
      for (var i = 0u; i < LI; i++) { yacc[i] = Dc * uu[i]; }
      for (var n = 0u; n < LN; n++) {
        let An = params[pr + n];
${loadBC}
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
  const writeDu = v.atomic ? 'addDu(o, duv[i]);' : v.loopK ? 'du[o] = du[o] + duv[i];' : 'du[o] = duv[i];';
  const writeDdelta = v.atomic ? 'addDdelta(o, dx);' : 'ddelta[o] = dx;';
  // dB/dC: per-row-block partials (2, B, G, Dg/R, N, P), or atomic adds into (2, B, G, N, P)
  const storeBC = v.partial ? `\n            let nb = geo.Dg / R;${storeDBC('nb')}` : storeDBC(null);
  return finish(v, /* wgsl */ `${subgroupsHeader}
${prelude(v)}
${backwardBindings(false, v.atomic, !v.partial)}
${laneScanFns}

var<workgroup> s_red: array<f32, 2u * R * TL>;   // dB / dC contributions of the R rows

${mainOpening(v, setup)}
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
${loadTile(v, true)}
      var duv: array<f32, I>;
      var ddt: array<f32, I>;
      for (var i = 0u; i < LI; i++) {
        duv[i] = Dc * dyv[i];
        ddt[i] = 0.0;
        dDacc += dyv[i] * uu[i];
      }
      for (var n = 0u; n < LN; n++) {
        let An = params[pr + n];
${loadBC}
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
    // per-channel partials: dA (N), dD, dDeltaBias, summed over the lanes${laneParamsStore('LN')}
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
