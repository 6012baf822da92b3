// WGSL forward of the selective scan (see webgpu-config.ts for the tiling). Per tile: positions of
// the tile's steps (plan index or t), u and delta loaded coalesced and transposed through workgroup
// memory so each thread holds I consecutive steps; per state n: B/C tile (shared by the R rows),
// per-thread affine fold (a = exp(dt*A), b = dt*B*u), serial scan of the S folds by one thread per
// row seeded by the carried state, re-run, y += C*h; y written back at the map positions.
// Bindings: 1 u, 2 delta, 3 params (K*D, N+2) = [A | D | deltaBias], 4 B, 5 C, 6 index, 7 y, 8 states.
import { atomicAddFn, channelSetup, loopBounds, prelude, workgroupSetup, type ShaderVariant } from './wgsl-common.ts';

export function forwardWgsl(v: ShaderVariant): string {
  const yType = v.atomic ? 'array<atomic<u32>>' : 'array<f32>';
  const write = v.atomic ? 'addY(o, val);' : v.loopK ? 'y[o] = y[o] + val;' : 'y[o] = val;';
  const L = loopBounds(v);
  return /* wgsl */ `
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

var<workgroup> s_pos: array<i32, TL>;
var<workgroup> s_x: array<f32, R * S * SLOT>;
var<workgroup> s_B: array<f32, S * SLOT>;
var<workgroup> s_C: array<f32, S * SLOT>;
var<workgroup> s_aA: array<f32, R * S>;
var<workgroup> s_aB: array<f32, R * S>;
var<workgroup> s_carry: array<f32, R * N>;

@compute @workgroup_size(${v.R * v.S})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
${workgroupSetup}
  for (var kk = 0u; kk < geo.kCount; kk++) {
${channelSetup}
    let Dc = params[pr + N];
    let bias = params[pr + N + 1u];
    if (s == 0u) { for (var n = 0u; n < ${L.N}; n++) { s_carry[r * N + n] = 0.0; } }
    for (var tile = 0u; tile < geo.nTiles; tile++) {
      let t0 = tile * TL;
      workgroupBarrier();
      for (var q = lid; q < TL; q += R * S) { s_pos[q] = posOf(dir, t0 + q); }
      workgroupBarrier();
      // u: coalesced over s, transposed to I consecutive steps per thread
      for (var i = 0u; i < ${L.I}; i++) {
        let q = s + i * S;
        let p = s_pos[q];
        var val = 0.0;
        if (p >= 0) { val = u_in[(b * geo.uRows + uRow) * geo.P + u32(p)]; }
        s_x[rowBase + slotOf(q)] = val;
      }
      workgroupBarrier();
      var uu: array<f32, I>;
      for (var i = 0u; i < ${L.I}; i++) { uu[i] = s_x[rowBase + s * SLOT + i]; }
      workgroupBarrier();
      for (var i = 0u; i < ${L.I}; i++) {
        let q = s + i * S;
        let p = s_pos[q];
        var val = 0.0;
        if (p >= 0) { val = delta_in[(b * geo.channels + c) * geo.P + u32(p)]; }
        s_x[rowBase + slotOf(q)] = val;
      }
      workgroupBarrier();
      var dt: array<f32, I>;
      var yacc: array<f32, I>;
      for (var i = 0u; i < ${L.I}; i++) {
        let x = s_x[rowBase + s * SLOT + i] + bias;
        var d = x;
        ${v.softplus ? 'd = softplus(x);' : ''}
        if (s_pos[s * I + i] == -2) { d = 0.0; }   // past the end: identity step
        dt[i] = d;
        yacc[i] = Dc * uu[i];
      }
      for (var n = 0u; n < ${L.N}; n++) {
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
        for (var i = 0u; i < ${L.I}; i++) {
          let a = exp(dt[i] * An);
          let bv = dt[i] * s_B[s * SLOT + i] * uu[i];
          aa[i] = a;
          bb[i] = bv;
          fa = a * fa;
          fb = a * fb + bv;
        }
        s_aA[r * S + s] = fa;
        s_aB[r * S + s] = fb;
        workgroupBarrier();
        if (s == 0u) {
          var h = s_carry[r * N + n];
          states[((b * geo.channels + c) * geo.nTiles + tile) * N + n] = h;
          for (var j = 0u; j < ${L.S}; j++) {
            let ja = s_aA[r * S + j];
            let jb = s_aB[r * S + j];
            s_aB[r * S + j] = h;   // state entering thread j
            h = ja * h + jb;
          }
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
