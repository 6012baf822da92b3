// WGSL forward of the fold kernels (layout in wgsl-fold-common.ts). Per tile: u and delta staged (in
// map-position order) and read back as I consecutive steps per lane; per state n: each lane folds its
// steps (a = exp(dt*A), b = dt*B*u) into one map, the maps are scanned across the lanes (exclusive:
// the state entering each lane's first step), seeded by the state carried from the previous tile,
// and each lane re-runs its steps to accumulate y += C*h. The state entering every `seg`-th step is
// stored (the backward's recompute seeds). y leaves through workgroup memory; with ySum the NG row
// groups (the K directions of the same channels, walking their tiles in lockstep) add their y into
// the shared map-order row one direction after the other (storage barriers between), so the merge
// 'sum' needs neither atomics nor per-direction copies.
// Bindings: 1 u, 2 delta, 3 params (K*D, N+2) = [A | D | deltaBias], 4 B, 5 C, 6 tileOrder, 7 y, 8 states.
import { dtFromX, forwardBindings } from './wgsl-common.ts';
import { foldLaneMaps, forItems, forStatesStaged, foldPrelude, foldSetup, stageFirstBC, storeRowTile, type FoldVariant } from './wgsl-fold-common.ts';

export function foldForwardWgsl(v: FoldVariant): string {
  return /* wgsl */ `${foldPrelude(v)}
${forwardBindings(true, false)}

@compute @workgroup_size(${v.NG * v.R * v.S})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
${foldSetup}
  var outRow = c;
  if (${v.ySum}) { outRow = c % geo.Dk; }
  var carry: array<f32, N>;
  for (var n = 0u; n < N * geo.one; n++) { carry[n] = 0.0; }
  for (var tile = 0u; tile < geo.nTiles; tile++) {
    let t0 = tile * TL;
    workgroupBarrier();   // the previous tile's stores have read s_a
    ${forItems(v, 'j', /* wgsl */ `
      let ap = access(dir, tile, j * S + lane);
      let p = ap.y;
      var uv = 0.0;
      var dv = 0.0;
      if (p >= 0) {
        uv = u_in[(b * geo.uRows + uRow) * geo.P + u32(p)];
        dv = delta_in[(b * geo.channels + c) * geo.P + u32(p)];
      }
      s_a[rowBase + slotOf(u32(ap.x))] = uv;
      s_b[rowBase + slotOf(u32(ap.x))] = dv;`)}
${stageFirstBC}
    workgroupBarrier();
    var uu: array<f32, I>;
    var dt: array<f32, I>;
    var yacc: array<f32, I>;
    ${forItems(v, 'i', /* wgsl */ `
      let x = s_b[laneBase + i] + bias;
      ${dtFromX(v.softplus, false, 't0 + lane * I + i >= geo.L', '      ')}
      uu[i] = s_a[laneBase + i];
      dt[i] = d;
      yacc[i] = Dc * uu[i];`)}
    ${forStatesStaged(v, /* wgsl */ `
      let An = params[pr + n];
${foldLaneMaps(v)}
      let h0 = carry[n];
      var h = ea * h0 + eb;   // state entering my first step
      let ts = t0 + lane * I;
      if (ts < geo.L && ts % geo.seg == 0u) { states[((b * geo.channels + c) * geo.nSeg + ts / geo.seg) * N + n] = h; }
      carry[n] = subgroupShuffle(fa * h0 + fb, S - 1u);
      ${forItems(v, 'i', /* wgsl */ `
        h = aa[i] * h + bb[i];
        yacc[i] += s_C[bcLane + i] * h;`)}`)}
    // my lanes wrote and read only their own slots of s_a since the staging barrier
    ${forItems(v, 'i', 's_a[laneBase + i] = yacc[i];')}
    workgroupBarrier();
    ${storeRowTile(v, 'y', '(b * geo.outRows + outRow) * geo.outLen', v.ySum)}
  }
}
`;
}
