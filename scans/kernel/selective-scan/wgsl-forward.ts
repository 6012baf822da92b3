// WGSL forward of the selective scan (see webgpu-config.ts for the tiling). Per tile: positions of
// the tile's steps (plan index or t), u and delta loaded coalesced and transposed through workgroup
// memory so each thread holds I consecutive steps; per state n: B/C tile (shared by the R rows),
// per-thread affine fold (a = exp(dt*A), b = dt*B*u), serial scan of the S folds by one thread per
// row seeded by the carried state, re-run, y += C*h; y written back at the map positions.
// Bindings: 1 u, 2 delta, 3 params (K*D, N+2) = [A | D | deltaBias], 4 B, 5 C, 6 index, 7 y, 8 states.
import {
  dtFromX, forwardBindings, loopBounds, mainOpening, prelude, serialScan, stageAndFold, stageRowValue, workgroupSetup, type ShaderVariant,
} from './wgsl-common.ts';

export function forwardWgsl(v: ShaderVariant): string {
  const write = v.atomic ? 'addY(o, val);' : v.loopK ? 'y[o] = y[o] + val;' : 'y[o] = val;';
  const L = loopBounds(v);
  return /* wgsl */ `
${prelude(v)}
${forwardBindings(false, v.atomic)}

var<workgroup> s_pos: array<i32, TL>;
var<workgroup> s_x: array<f32, R * S * SLOT>;
var<workgroup> s_B: array<f32, S * SLOT>;
var<workgroup> s_C: array<f32, S * SLOT>;
var<workgroup> s_aA: array<f32, R * S>;
var<workgroup> s_aB: array<f32, R * S>;
var<workgroup> s_carry: array<f32, R * N>;

${mainOpening(v, workgroupSetup)}
    if (s == 0u) { for (var n = 0u; n < ${L.N}; n++) { s_carry[r * N + n] = 0.0; } }
    for (var tile = 0u; tile < geo.nTiles; tile++) {
      let t0 = tile * TL;
      workgroupBarrier();
      for (var q = lid; q < TL; q += R * S) { s_pos[q] = posOf(dir, t0 + q); }
      workgroupBarrier();
      // u: coalesced over s, transposed to I consecutive steps per thread${stageRowValue(L, 'u_in[(b * geo.uRows + uRow) * geo.P + u32(p)]')}
      workgroupBarrier();
      var uu: array<f32, I>;
      for (var i = 0u; i < ${L.I}; i++) { uu[i] = s_x[rowBase + s * SLOT + i]; }
      workgroupBarrier();${stageRowValue(L, 'delta_in[(b * geo.channels + c) * geo.P + u32(p)]')}
      workgroupBarrier();
      var dt: array<f32, I>;
      var yacc: array<f32, I>;
      for (var i = 0u; i < ${L.I}; i++) {
        let x = s_x[rowBase + s * SLOT + i] + bias;
        ${dtFromX(v.softplus, false, 's_pos[s * I + i] == -2', '        ')}
        dt[i] = d;
        yacc[i] = Dc * uu[i];
      }
      for (var n = 0u; n < ${L.N}; n++) {${stageAndFold(L)}
        s_aA[r * S + s] = fa;
        s_aB[r * S + s] = fb;
        workgroupBarrier();
        if (s == 0u) {
          var h = s_carry[r * N + n];
          states[((b * geo.channels + c) * geo.nTiles + tile) * N + n] = h;${serialScan(L, 's_aA', 's_aB')}
          s_carry[r * N + n] = h;
        }
        workgroupBarrier();
        var h = s_aB[r * S + s];
        for (var i = 0u; i < ${L.I}; i++) {
          h = aa[i] * h + bb[i];
          yacc[i] += s_C[s * SLOT + i] * h;
        }
        ${v.W > 0 ? /* wgsl */ `
        // LBMamba: h_bwd[t] = a_t * (b_{t+1} + h_bwd[t+1]), 0 at each window's last step
        var hb = 0.0;
        for (var ii = ${L.I}; ii > 0u; ii--) {
          let i = ii - 1u;
          if ((i + 1u) % W == 0u) { hb = 0.0; } else { hb = aa[i] * (bb[i + 1u] + hb); }
          yacc[i] += s_C[s * SLOT + i] * hb;
        }` : ''}
      }
      for (var i = 0u; i < ${L.I}; i++) { s_x[rowBase + s * SLOT + i] = yacc[i]; }
      workgroupBarrier();
      for (var i = 0u; i < ${L.I}; i++) {
        let q = s + i * S;
        let p = s_pos[q];
        if (p >= 0) {
          let o = (b * geo.outRows + outRow) * geo.outLen + u32(p);
          let val = s_x[rowBase + slotOf(q)];
          ${write}
        }
      }
    }
    ${v.loopK ? 'storageBarrier();   // the next direction reads y written by other threads' : ''}
  }
}
`;
}
