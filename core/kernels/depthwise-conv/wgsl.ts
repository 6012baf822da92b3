// WGSL of the depthwise conv kernels (NHWC, channel multiplier 1, filter (KH, KW, C)). V = 4 channels
// per thread (vec4) when C % 4 == 0, else 1. Baked into the text and the key: KH, KW, strides,
// dilations, paddings, V, bias. Sizes (B, H, W, OH, OW, C/V) are uniforms.

export interface DwGeom {
  KH: number; KW: number; SH: number; SW: number; DH: number; DW: number; PH: number; PW: number;
  V: 1 | 4; bias: boolean;
}

export const dwKey = (g: DwGeom) => `k${g.KH}x${g.KW}_s${g.SH}x${g.SW}_d${g.DH}x${g.DW}_p${g.PH}x${g.PW}_v${g.V}_b${g.bias ? 1 : 0}`;

const HEADER = (V: number) => `
alias T = ${V === 4 ? 'vec4<f32>' : 'f32'};
struct U { B: u32, H: u32, W: u32, OH: u32, OW: u32, CV: u32, n: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> u: U;`;

/** y[b, oh, ow, c] = bias[c] + sum_{kh, kw} x[b, oh*SH + kh*DH - PH, ow*SW + kw*DW - PW, c] w[kh, kw, c] */
export function dwForwardWgsl(g: DwGeom): string {
  return /* wgsl */ `${HEADER(g.V)}
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> w: array<T>;
${g.bias ? '@group(0) @binding(3) var<storage, read> bias: array<T>;' : ''}
@group(0) @binding(${g.bias ? 4 : 3}) var<storage, read_write> y: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * u.gridX + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  let cv = i % u.CV;
  let pix = i / u.CV;
  let ow = i32(pix % u.OW);
  let t = pix / u.OW;
  let oh = i32(t % u.OH);
  let b = t / u.OH;
  var acc = ${g.bias ? 'bias[cv]' : 'T(0.0)'};
  for (var kh = 0; kh < ${g.KH}; kh++) {
    let ih = oh * ${g.SH} + kh * ${g.DH} - ${g.PH};
    if (ih < 0 || ih >= i32(u.H)) { continue; }
    let rowBase = (b * u.H + u32(ih)) * u.W;
    for (var kw = 0; kw < ${g.KW}; kw++) {
      let iw = ow * ${g.SW} + kw * ${g.DW} - ${g.PW};
      if (iw < 0 || iw >= i32(u.W)) { continue; }
      acc += x[(rowBase + u32(iw)) * u.CV + cv] * w[u32(kh * ${g.KW} + kw) * u.CV + cv];
    }
  }
  y[i] = acc;
}
`;
}

/** dx[b, ih, iw, c] = sum over the (kh, kw, oh, ow) with ih = oh*SH + kh*DH - PH (and the same in w) of dy w */
export function dwGradInputWgsl(g: DwGeom): string {
  return /* wgsl */ `${HEADER(g.V)}
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> w: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * u.gridX + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  let cv = i % u.CV;
  let pix = i / u.CV;
  let iw = i32(pix % u.W);
  let t = pix / u.W;
  let ih = i32(t % u.H);
  let b = t / u.H;
  var acc = T(0.0);
  for (var kh = 0; kh < ${g.KH}; kh++) {
    let th = ih + ${g.PH} - kh * ${g.DH};
    if (th < 0 || th % ${g.SH} != 0) { continue; }
    let oh = th / ${g.SH};
    if (oh >= i32(u.OH)) { continue; }
    let rowBase = (b * u.OH + u32(oh)) * u.OW;
    for (var kw = 0; kw < ${g.KW}; kw++) {
      let tw = iw + ${g.PW} - kw * ${g.DW};
      if (tw < 0 || tw % ${g.SW} != 0) { continue; }
      let ow = tw / ${g.SW};
      if (ow >= i32(u.OW)) { continue; }
      acc += dy[(rowBase + u32(ow)) * u.CV + cv] * w[u32(kh * ${g.KW} + kw) * u.CV + cv];
    }
  }
  dx[i] = acc;
}
`;
}

/**
 * Filter (and bias) gradient, first pass: workgroup (64 channel groups, 4 pixel lanes) per
 * (chunk of output pixels, 64 channel groups); each thread accumulates KH*KW (+1 for the bias)
 * sums over its pixels, the 4 lanes are added in workgroup memory, and the workgroup writes one
 * partial row (chunk) of KK*C (+C) floats. A column-sum pass adds the chunks.
 */
export function dwGradFilterWgsl(g: DwGeom): string {
  const KK = g.KH * g.KW;
  const NA = KK + (g.bias ? 1 : 0);
  return /* wgsl */ `${HEADER(g.V)}
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> x: array<T>;
@group(0) @binding(3) var<storage, read_write> partials: array<T>;
var<workgroup> red: array<T, 256>;
@compute @workgroup_size(64, 4)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // u.n = pixels per chunk, u.gridX = number of chunks; wg.x = chunk, wg.y = channel group block
  let cv = wg.y * 64u + lid.x;
  let chunk = wg.x;
  let npix = u.B * u.OH * u.OW;
  var acc: array<T, ${NA}>;
  for (var k = 0u; k < ${NA}u; k++) { acc[k] = T(0.0); }
  if (cv < u.CV) {
    let p0 = chunk * u.n;
    let p1 = min(npix, p0 + u.n);
    for (var p = p0 + lid.y; p < p1; p += 4u) {
      let ow = i32(p % u.OW);
      let t = p / u.OW;
      let oh = i32(t % u.OH);
      let b = t / u.OH;
      let d = dy[p * u.CV + cv];
      ${g.bias ? `acc[${KK}u] += d;` : ''}
      for (var kh = 0; kh < ${g.KH}; kh++) {
        let ih = oh * ${g.SH} + kh * ${g.DH} - ${g.PH};
        if (ih < 0 || ih >= i32(u.H)) { continue; }
        let rowBase = (b * u.H + u32(ih)) * u.W;
        for (var kw = 0; kw < ${g.KW}; kw++) {
          let iw = ow * ${g.SW} + kw * ${g.DW} - ${g.PW};
          if (iw < 0 || iw >= i32(u.W)) { continue; }
          acc[kh * ${g.KW} + kw] += d * x[(rowBase + u32(iw)) * u.CV + cv];
        }
      }
    }
  }
  let l = lid.y * 64u + lid.x;
  for (var k = 0u; k < ${NA}u; k++) {
    red[l] = acc[k];
    workgroupBarrier();
    if (lid.y == 0u && cv < u.CV) {
      partials[(chunk * ${NA}u + k) * u.CV + cv] = red[lid.x] + red[64u + lid.x] + red[128u + lid.x] + red[192u + lid.x];
    }
    workgroupBarrier();
  }
}
`;
}
