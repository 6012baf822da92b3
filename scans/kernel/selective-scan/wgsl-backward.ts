// WGSL backward of the selective scan (models.md 1.3): tiles walked in reverse; per tile and state
// the forward is recomputed from the state the forward stored at the tile start, and the adjoint
// g_t = dy_t C_t + a_{t+1} g_{t+1} is scanned in reverse the same way (per-thread affine fold, serial
// scan of the S folds by one thread per row, carried across tiles). dB/dC are reduced over the R rows
// in workgroup memory, then added to global memory atomically (several workgroups share a group);
// dA, dD, dDeltaBias are reduced per channel and written as per-batch partials (B, K*D, N+2).
// Bindings: 1 u, 2 delta, 3 params, 4 B, 5 C, 6 index, 7 states, 8 dy, 9 du, 10 ddelta,
// 11 dBC (2, B, G, N, P) = [dB | dC], 12 dParams (B, K*D, N+2).
import {
  backwardBindings, dtFromX, loopBounds, mainOpening, prelude, serialScan, stageAndFold, stageRowValue, storeDBC, workgroupSetup,
  type ShaderVariant,
} from './wgsl-common.ts';

export function backwardWgsl(v: ShaderVariant): string {
  const writeDu = v.atomic ? 'addDu(o, dv);' : v.loopK ? 'du[o] = du[o] + dv;' : 'du[o] = dv;';
  const writeDdelta = v.atomic ? 'addDdelta(o, xv);' : 'ddelta[o] = xv;';
  const lb = v.W > 0;
  const L = loopBounds(v);
  return /* wgsl */ `
${prelude(v)}
${backwardBindings(false, v.atomic, true)}

var<workgroup> s_pos: array<i32, TL>;
var<workgroup> s_x: array<f32, R * S * SLOT>;
var<workgroup> s_y: array<f32, R * S * SLOT>;
var<workgroup> s_B: array<f32, S * SLOT>;
var<workgroup> s_C: array<f32, S * SLOT>;
var<workgroup> s_fA: array<f32, R * S>;
var<workgroup> s_fB: array<f32, R * S>;
var<workgroup> s_rA: array<f32, R * S>;
var<workgroup> s_rB: array<f32, R * S>;
var<workgroup> s_gcarry: array<f32, R * N>;

${mainOpening(v, workgroupSetup)}
    var dAacc: array<f32, N>;
    for (var n = 0u; n < ${L.N}; n++) { dAacc[n] = 0.0; }
    var dDacc = 0.0;
    var dbiasAcc = 0.0;
    if (s == 0u) { for (var n = 0u; n < ${L.N}; n++) { s_gcarry[r * N + n] = 0.0; } }
    for (var tt = 0u; tt < geo.nTiles; tt++) {
      let tile = geo.nTiles - 1u - tt;
      let t0 = tile * TL;
      workgroupBarrier();
      for (var q = lid; q < TL; q += R * S) { s_pos[q] = posOf(dir, t0 + q); }
      workgroupBarrier();
      // u and dy of my row, coalesced over s, transposed to I consecutive steps per thread
      for (var i = 0u; i < ${L.I}; i++) {
        let q = s + i * S;
        let p = s_pos[q];
        var uv = 0.0;
        var gv = 0.0;
        if (p >= 0) {
          uv = u_in[(b * geo.uRows + uRow) * geo.P + u32(p)];
          gv = dy[(b * geo.outRows + outRow) * geo.outLen + u32(p)];
        }
        s_x[rowBase + slotOf(q)] = uv;
        s_y[rowBase + slotOf(q)] = gv;
      }
      workgroupBarrier();
      var uu: array<f32, I>;
      var dyv: array<f32, I>;
      for (var i = 0u; i < ${L.I}; i++) {
        uu[i] = s_x[rowBase + s * SLOT + i];
        dyv[i] = s_y[rowBase + s * SLOT + i];
      }
      workgroupBarrier();${stageRowValue(L, 'delta_in[(b * geo.channels + c) * geo.P + u32(p)]')}
      workgroupBarrier();
      var dt: array<f32, I>;
      var dfac: array<f32, I>;   // d dt / d (delta + bias)
      var ddt: array<f32, I>;
      var duv: array<f32, I>;
      for (var i = 0u; i < ${L.I}; i++) {
        let x = s_x[rowBase + s * SLOT + i] + bias;
        ${dtFromX(v.softplus, true, 's_pos[s * I + i] == -2', '        ')}
        dt[i] = d;
        dfac[i] = f;
        ddt[i] = 0.0;
        duv[i] = Dc * dyv[i];
        dDacc += dyv[i] * uu[i];
      }
      for (var n = 0u; n < ${L.N}; n++) {${stageAndFold(L)}
        // reverse fold: g_out = a_first * g_first as an affine map of g_in (the adjoint entering from the right)
        var ra = 1.0;
        var rb = 0.0;
        for (var ii = ${L.I}; ii > 0u; ii--) {
          let i = ii - 1u;
          rb = dyv[i] * s_C[s * SLOT + i] + rb;
          rb = aa[i] * rb;
          ra = aa[i] * ra;
        }
        s_fA[r * S + s] = fa;
        s_fB[r * S + s] = fb;
        s_rA[r * S + s] = ra;
        s_rB[r * S + s] = rb;
        workgroupBarrier();
        if (s == 0u) {
          var h = states[((b * geo.channels + c) * geo.nTiles + tile) * N + n];${serialScan(L, 's_fA', 's_fB')}
          var g = s_gcarry[r * N + n];
          for (var jj = ${L.S}; jj > 0u; jj--) {
            let j = jj - 1u;
            let ja = s_rA[r * S + j];
            let jb = s_rB[r * S + j];
            s_rB[r * S + j] = g;   // adjoint entering thread j from the right
            g = ja * g + jb;
          }
          s_gcarry[r * N + n] = g;
        }
        workgroupBarrier();
        var hp: array<f32, I>;     // state before step i
        var h = s_fB[r * S + s];
        for (var i = 0u; i < ${L.I}; i++) {
          hp[i] = h;
          h = aa[i] * h + bb[i];
        }
        var gg: array<f32, I>;     // adjoint of h_i (forward path)
        var gnext = s_rB[r * S + s];
        for (var ii = ${L.I}; ii > 0u; ii--) {
          let i = ii - 1u;
          gnext = dyv[i] * s_C[s * SLOT + i] + gnext;
          gg[i] = gnext;
          gnext = aa[i] * gnext;
        }
        var da: array<f32, I>;
        var db: array<f32, I>;
        var hc: array<f32, I>;     // state seen by C (h_fwd + h_bwd)
        for (var i = 0u; i < ${L.I}; i++) {
          da[i] = gg[i] * hp[i];
          db[i] = gg[i];
          hc[i] = aa[i] * hp[i] + bb[i];
        }
        ${lb ? /* wgsl */ `
        // LBMamba: h_bwd[t] = a_t (b_{t+1} + h_bwd[t+1]) inside windows of W steps; its adjoint runs
        // forward in t: gb_t = dy_t C_t + a_{t-1} gb_{t-1}.
        var hb: array<f32, I>;
        var hbn = 0.0;
        for (var ii = ${L.I}; ii > 0u; ii--) {
          let i = ii - 1u;
          if ((i + 1u) % W == 0u) { hbn = 0.0; } else { hbn = aa[i] * (bb[i + 1u] + hbn); }
          hb[i] = hbn;
          hc[i] += hbn;
        }
        var gb = 0.0;
        for (var i = 0u; i < ${L.I}; i++) {
          let first = i % W == 0u;
          let last = (i + 1u) % W == 0u;
          if (first) { gb = 0.0; } else { db[i] += aa[i - 1u] * gb; gb = aa[i - 1u] * gb; }
          gb += dyv[i] * s_C[s * SLOT + i];
          if (!last) { da[i] += gb * (bb[i + 1u] + hb[i + 1u]); }
        }` : ''}
        var dAn = 0.0;
        for (var i = 0u; i < ${L.I}; i++) {
          let bv = s_B[s * SLOT + i];
          let ea = da[i] * aa[i];
          ddt[i] += ea * An + db[i] * bv * uu[i];
          dAn += ea * dt[i];
          duv[i] += db[i] * dt[i] * bv;
          s_x[rowBase + s * SLOT + i] = db[i] * dt[i] * uu[i];    // dB contribution
          s_y[rowBase + s * SLOT + i] = dyv[i] * hc[i];           // dC contribution
        }
        dAacc[n] += dAn;
        workgroupBarrier();
        // reduce dB/dC over the R rows (same group and positions), then add to global memory
        let dcOff = geo.batch * geo.G * N * geo.P;
        for (var q = lid; q < TL; q += R * S) {
          let p = s_pos[q];
          if (p >= 0) {
            var sb = 0.0;
            var sc = 0.0;
            for (var rr = 0u; rr < ${L.R}; rr++) {
              sb += s_x[rr * S * SLOT + slotOf(q)];
              sc += s_y[rr * S * SLOT + slotOf(q)];
            }
${storeDBC(null, 'dcOff')}
          }
        }
      }
      workgroupBarrier();
      for (var i = 0u; i < ${L.I}; i++) {
        let dx = ddt[i] * dfac[i];
        dbiasAcc += dx;   // zero tokens too: their dt is softplus(bias)
        s_x[rowBase + s * SLOT + i] = duv[i];
        s_y[rowBase + s * SLOT + i] = dx;
      }
      workgroupBarrier();
      for (var i = 0u; i < ${L.I}; i++) {
        let q = s + i * S;
        let p = s_pos[q];
        if (p >= 0) {
          let dv = s_x[rowBase + slotOf(q)];
          let xv = s_y[rowBase + slotOf(q)];
          var o = (b * geo.uRows + uRow) * geo.P + u32(p);
          ${writeDu}
          o = (b * geo.channels + c) * geo.P + u32(p);
          ${writeDdelta}
        }
      }
    }
    // per-channel partials: dA (N), dD, dDeltaBias, reduced over the S threads of the row
    for (var n = 0u; n < ${L.NP}; n++) {
      var val = dbiasAcc;
      if (n < N) { val = dAacc[n]; } else if (n == N) { val = dDacc; }
      workgroupBarrier();
      s_fA[r * S + s] = val;
      workgroupBarrier();
      if (s == 0u) {
        var sum = 0.0;
        for (var j = 0u; j < ${L.S}; j++) { sum += s_fA[r * S + j]; }
        dParams[(b * geo.channels + c) * NP + n] = sum;
      }
    }
    ${v.loopK ? 'storageBarrier();   // the next direction accumulates du written by other threads' : ''}
  }
}
`;
}
