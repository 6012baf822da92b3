// WGSL of the LayerNorm kernels. Layout: 256 threads per workgroup, T threads per row (T in
// 32..256, so each thread holds E = ceil(C / T) <= 8 values in registers when C <= 2048), RPW = 256 / T
// rows per workgroup; row sums by a tree in workgroup memory. Baked into the text (and the
// pipeline key): C, T, E. Everything else is a uniform.

export interface LnTiling { C: number; T: number; E: number; RPW: number }

export function lnTiling(C: number): LnTiling {
  let T = 32;
  while (T < 256 && Math.ceil(C / T) > 8) T *= 2;
  return { C, T, E: Math.ceil(C / T), RPW: 256 / T };
}

export const lnKey = (t: LnTiling) => `C${t.C}_T${t.T}_E${t.E}`;

/** sum of `red[slot*T .. slot*T+T)` into red[slot*T] (all threads of the workgroup call it) */
function treeReduce(name: string, T: number): string {
  return `
  for (var o = ${T / 2}u; o > 0u; o = o >> 1u) {
    if (t < o) { ${name}[lid] += ${name}[lid + o]; }
    workgroupBarrier();
  }`;
}

export function layerNormForwardWgsl(k: LnTiling): string {
  const { C, T, E, RPW } = k;
  return /* wgsl */ `
struct U { rows: u32, gridX: u32, eps: f32, pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> meanOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstdOut: array<f32>;
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slot = lid / ${T}u;
  let t = lid % ${T}u;
  let row = (wg.y * u.gridX + wg.x) * ${RPW}u + slot;
  let valid = row < u.rows;
  let base = row * ${C}u;
  var v: array<f32, ${E}>;
  var s = 0.0;
  for (var e = 0u; e < ${E}u; e++) {
    let c = t + e * ${T}u;
    var xv = 0.0;
    if (valid && c < ${C}u) { xv = x[base + c]; }
    v[e] = xv;
    s += xv;
  }
  red[lid] = s;
  workgroupBarrier();${treeReduce('red', T)}
  let mu = red[slot * ${T}u] / ${C}.0;
  workgroupBarrier();
  var q = 0.0;
  for (var e = 0u; e < ${E}u; e++) {
    let c = t + e * ${T}u;
    if (c < ${C}u) { let d = v[e] - mu; q += d * d; }
  }
  red[lid] = q;
  workgroupBarrier();${treeReduce('red', T)}
  let r = inverseSqrt(red[slot * ${T}u] / ${C}.0 + u.eps);
  if (valid) {
    for (var e = 0u; e < ${E}u; e++) {
      let c = t + e * ${T}u;
      if (c < ${C}u) { y[base + c] = (v[e] - mu) * r * gamma[c] + beta[c]; }
    }
    if (t == 0u) { meanOut[row] = mu; rstdOut[row] = r; }
  }
}
`;
}

/**
 * Backward: workgroups stride over row blocks (numWG of them); per row dx, and per thread running
 * column sums of dy*xhat and dy over its rows, written as partials (numWG*RPW, 2, C) at the end.
 */
export function layerNormBackwardWgsl(k: LnTiling): string {
  const { C, T, E, RPW } = k;
  return /* wgsl */ `
struct U { rows: u32, numWG: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> meanIn: array<f32>;
@group(0) @binding(5) var<storage, read> rstdIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> partials: array<f32>;
var<workgroup> red1: array<f32, 256>;
var<workgroup> red2: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slot = lid / ${T}u;
  let t = lid % ${T}u;
  var accG: array<f32, ${E}>;
  var accB: array<f32, ${E}>;
  var gam: array<f32, ${E}>;
  for (var e = 0u; e < ${E}u; e++) {
    let c = t + e * ${T}u;
    accG[e] = 0.0;
    accB[e] = 0.0;
    gam[e] = 0.0;
    if (c < ${C}u) { gam[e] = gamma[c]; }
  }
  for (var blk = wg.x; blk * ${RPW}u < u.rows; blk += u.numWG) {
    let row = blk * ${RPW}u + slot;
    let valid = row < u.rows;
    let base = row * ${C}u;
    var mu = 0.0;
    var r = 0.0;
    if (valid) { mu = meanIn[row]; r = rstdIn[row]; }
    var xh: array<f32, ${E}>;
    var g: array<f32, ${E}>;
    var s1 = 0.0;
    var s2 = 0.0;
    for (var e = 0u; e < ${E}u; e++) {
      let c = t + e * ${T}u;
      var d = 0.0;
      var xv = 0.0;
      if (valid && c < ${C}u) { d = dy[base + c]; xv = x[base + c]; }
      let h = (xv - mu) * r;
      xh[e] = h;
      g[e] = d * gam[e];
      s1 += g[e];
      s2 += g[e] * h;
      accG[e] += d * h;
      accB[e] += d;
    }
    red1[lid] = s1;
    red2[lid] = s2;
    workgroupBarrier();
    for (var o = ${T / 2}u; o > 0u; o = o >> 1u) {
      if (t < o) { red1[lid] += red1[lid + o]; red2[lid] += red2[lid + o]; }
      workgroupBarrier();
    }
    let m1 = red1[slot * ${T}u] / ${C}.0;
    let m2 = red2[slot * ${T}u] / ${C}.0;
    workgroupBarrier();
    if (valid) {
      for (var e = 0u; e < ${E}u; e++) {
        let c = t + e * ${T}u;
        if (c < ${C}u) { dx[base + c] = r * (g[e] - m1 - xh[e] * m2); }
      }
    }
  }
  let prow = wg.x * ${RPW}u + slot;
  for (var e = 0u; e < ${E}u; e++) {
    let c = t + e * ${T}u;
    if (c < ${C}u) {
      partials[prow * ${2 * C}u + c] = accG[e];
      partials[prow * ${2 * C}u + ${C}u + c] = accB[e];
    }
  }
}
`;
}
