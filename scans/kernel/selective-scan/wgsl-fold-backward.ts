// WGSL backward of the fold kernels (layout in wgsl-fold-common.ts). Tiles are walked in reverse
// (one tile = one segment of the states the forward stored). Per tile: u, delta, dy staged (in
// map-position order) and read back as I consecutive steps per lane; per state n: the forward is
// recomputed from the stored segment-start state (lane folds + exclusive scan across lanes), the
// adjoint g_t = dy_t C_t + a_{t+1} g_{t+1} is folded per lane in reverse and suffix-scanned across
// lanes, seeded by the adjoint carried from the tile to the right; dB/dC are summed over the R rows of
// the row group in workgroup memory and stored as per-row-group partials (or added by compare-exchange).
// du and ddelta leave through workgroup memory; with duSum the NG row groups (the K directions of the
// same channels) add du into the shared u row one after the other.
// dA, dD, dDeltaBias: per-channel partials (B, K*D, N+2), summed over the lanes.
// Bindings: 1 u, 2 delta, 3 params, 4 B, 5 C, 6 tileOrder, 7 states, 8 dy, 9 du, 10 ddelta,
// 11 dBC (2, B, G, Dg/R, N, P) partials or (2, B, G, N, P) atomics, 12 dParams (B, K*D, N+2).
import { backwardBindings, dtFromX, laneParamsStore, storeDBC } from './wgsl-common.ts';
import { foldLaneMaps, forItems, forStatesStaged, foldPrelude, foldSetup, stageFirstBC, storeRowTile, type FoldVariant } from './wgsl-fold-common.ts';

export function foldBackwardWgsl(v: FoldVariant): string {
  const storeBC = storeDBC(v.partial ? 'geo.nbk' : null);
  return /* wgsl */ `${foldPrelude(v)}
${backwardBindings(true, false, !v.partial)}

@compute @workgroup_size(${v.NG * v.R * v.S})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
${foldSetup}
  var dyRow = c;
  if (${v.dyShared}) { dyRow = c % geo.Dk; }
  var duRow = c;                 // geo.outRows here: rows of the du tensor
  if (${v.duSum}) { duRow = c % geo.Dk; }
  var dAacc: array<f32, N>;
  var gcarry: array<f32, N>;     // adjoint entering the tile from the right: a_{t+1} g_{t+1}
  for (var n = 0u; n < N * geo.one; n++) { dAacc[n] = 0.0; gcarry[n] = 0.0; }
  var dDacc = 0.0;
  var dbiasAcc = 0.0;
  for (var tt = 0u; tt < geo.nTiles; tt++) {
    let tile = geo.nTiles - 1u - tt;
    let t0 = tile * TL;
    workgroupBarrier();   // the previous tile's stores have read s_a / s_b
    ${forItems(v, 'j', /* wgsl */ `
      let ap = access(dir, tile, j * S + lane);
      let p = ap.y;
      var uv = 0.0;
      var dv = 0.0;
      var gv = 0.0;
      if (p >= 0) {
        uv = u_in[(b * geo.uRows + uRow) * geo.P + u32(p)];
        dv = delta_in[(b * geo.channels + c) * geo.P + u32(p)];
        gv = dy[(b * geo.dyRows + dyRow) * geo.outLen + u32(p)];
      }
      let sl = rowBase + slotOf(u32(ap.x));
      s_a[sl] = uv;
      s_b[sl] = dv;
      s_c[sl] = gv;`)}
${stageFirstBC}
    workgroupBarrier();
    var uu: array<f32, I>;
    var dt: array<f32, I>;
    var dfac: array<f32, I>;     // d dt / d (delta + bias)
    var dyv: array<f32, I>;
    var duv: array<f32, I>;
    var ddt: array<f32, I>;
    ${forItems(v, 'i', /* wgsl */ `
      let x = s_b[laneBase + i] + bias;
      ${dtFromX(v.softplus, true, 't0 + lane * I + i >= geo.L', '      ')}
      uu[i] = s_a[laneBase + i];
      dt[i] = d;
      dfac[i] = f;
      dyv[i] = s_c[laneBase + i];
      duv[i] = Dc * dyv[i];
      ddt[i] = 0.0;
      dDacc += dyv[i] * uu[i];`)}
    ${forStatesStaged(v, /* wgsl */ `
      let An = params[pr + n];
      // forward recompute from the stored segment-start state
${foldLaneMaps(v)}
      var h = ea * states[((b * geo.channels + c) * geo.nSeg + tile) * N + n] + eb;
      var hp: array<f32, I>;     // state before each step
      ${forItems(v, 'i', /* wgsl */ `
        hp[i] = h;
        h = aa[i] * h + bb[i];`)}
      // adjoint: my lane maps x = a_{next} g_{next} (from the right) to a_{first} g_{first}: ra*x + rb
      var ra = 1.0;
      var rb = 0.0;
      ${forItems(v, 'i', /* wgsl */ `
        rb = aa[i] * (dyv[i] * s_C[bcLane + i] + rb);
        ra = aa[i] * ra;`, true)}
      scanDown(&ra, &rb, lane);
      var xa = subgroupShuffleDown(ra, 1u);
      var xb = subgroupShuffleDown(rb, 1u);
      if (lane == S - 1u) { xa = 1.0; xb = 0.0; }
      let gin = gcarry[n];
      var x = xa * gin + xb;
      gcarry[n] = subgroupShuffle(ra * gin + rb, 0u);
      var dAn = 0.0;
      ${forItems(v, 'i', /* wgsl */ `
        let Bv = s_B[bcLane + i];
        let g = dyv[i] * s_C[bcLane + i] + x;   // adjoint of h_t
        let e = g * hp[i] * aa[i];
        ddt[i] += e * An + g * Bv * uu[i];
        dAn += e * dt[i];
        duv[i] += g * dt[i] * Bv;
        // my dB / dC contributions, into my own slots (my lanes read only their own since the staging barrier)
        s_a[laneBase + i] = g * dt[i] * uu[i];
        s_b[laneBase + i] = dyv[i] * (aa[i] * hp[i] + bb[i]);
        x = aa[i] * g;`, true)}
      dAacc[n] += dAn;
      workgroupBarrier();
      // dB/dC summed over the R rows of my row group, one store per step (in map-position order)
      for (var m = rgLid; m < TL; m += R * S) {
        let ap = access(dir, tile, m);
        let p = ap.y;
        if (p >= 0) {
          let sq = slotOf(u32(ap.x));
          var sb = 0.0;
          var sc = 0.0;
          for (var rr = 0u; rr < R * geo.one; rr++) {
            sb += s_a[(rg * R + rr) * ROWLEN + sq];
            sc += s_b[(rg * R + rr) * ROWLEN + sq];
          }${storeBC}
        }
      }
      workgroupBarrier();`)}
    ${forItems(v, 'i', /* wgsl */ `
      let dx = ddt[i] * dfac[i];
      dbiasAcc += dx;   // zero tokens too: their dt is softplus(bias)
      s_a[laneBase + i] = duv[i];
      s_b[laneBase + i] = dx;`)}
    workgroupBarrier();
    ${forItems(v, 'j', /* wgsl */ `
      let ap = access(dir, tile, j * S + lane);
      let p = ap.y;
      if (p >= 0) { ddelta[(b * geo.channels + c) * geo.P + u32(p)] = s_b[rowBase + slotOf(u32(ap.x))]; }`)}
    ${storeRowTile(v, 'du', '(b * geo.outRows + duRow) * geo.P', v.duSum)}
  }
  // per-channel partials: dA (N), dD, dDeltaBias, summed over the lanes${laneParamsStore('N * geo.one')}
}
`;
}
