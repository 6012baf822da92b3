// WGSL of the weight-gradient GEMM: out[b, m, n] = sum_k A(b, k, m) * B(b, k, n) over a long k
// (rows of a batch: B*H*W), the shape of every weight gradient (Linear: A = dy, B = x; dense conv:
// A = im2col(x) gathered on the fly, B = dy). The output is small and k is huge, so k is split
// across workgroups (`splits`), each writing a partial (splits, batch, M, N) that a column-sum pass
// adds. Tile 64 (m) x 64 (n), 16x16 threads with 4x4 each, k steps of 16 through workgroup memory.
// Baked: the A mode ('dense' or 'conv' with the conv geometry), all in the pipeline key.

export interface ConvGeom { KH: number; KW: number; SH: number; SW: number; PH: number; PW: number; DH: number; DW: number }

export type AMode = { kind: 'dense' } | ({ kind: 'conv' } & ConvGeom);

export const aKey = (a: AMode) => (a.kind === 'dense' ? 'dense' : `conv_k${a.KH}x${a.KW}_s${a.SH}x${a.SW}_p${a.PH}x${a.PW}_d${a.DH}x${a.DW}`);

function loadA(a: AMode): string {
  if (a.kind === 'dense') {
    return `fn loadA(b: u32, k: u32, m: u32) -> f32 { return A[(b * u.K + k) * u.M + m]; }`;
  }
  // k = (img, oh, ow) over the dy pixels; m = (kh, kw, ci) over the HWIO filter rows
  return `fn loadA(b: u32, k: u32, m: u32) -> f32 {
  let ci = m % u.Ci;
  let t = m / u.Ci;
  let kw = i32(t % ${a.KW}u);
  let kh = i32(t / ${a.KW}u);
  let ow = i32(k % u.OW);
  let r = k / u.OW;
  let oh = i32(r % u.OH);
  let img = r / u.OH;
  let ih = oh * ${a.SH} + kh * ${a.DH} - ${a.PH};
  let iw = ow * ${a.SW} + kw * ${a.DW} - ${a.PW};
  if (ih < 0 || iw < 0 || ih >= i32(u.H) || iw >= i32(u.W)) { return 0.0; }
  return A[((img * u.H + u32(ih)) * u.W + u32(iw)) * u.Ci + ci];
}`;
}

export function weightGradWgsl(a: AMode): string {
  return /* wgsl */ `
struct U { M: u32, N: u32, K: u32, kPerSplit: u32, tilesN: u32, batches: u32, H: u32, W: u32, Ci: u32, OH: u32, OW: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> Bm: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
${loadA(a)}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tm = wg.x / u.tilesN;
  let tn = wg.x % u.tilesN;
  let split = wg.y;
  let b = wg.z;
  let k0 = split * u.kPerSplit;
  let k1 = min(u.K, k0 + u.kPerSplit);
  let li = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var kb = k0; kb < k1; kb += 16u) {
    for (var i = 0u; i < 4u; i++) {
      let idx = li + i * 256u;
      let kk = idx / 64u;
      let c = idx % 64u;
      let k = kb + kk;
      let m = tm * 64u + c;
      let n = tn * 64u + c;
      var av = 0.0;
      var bv = 0.0;
      if (k < k1) {
        if (m < u.M) { av = loadA(b, k, m); }
        if (n < u.N) { bv = Bm[(b * u.K + k) * u.N + n]; }
      }
      As[idx] = av;
      Bs[idx] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a4 = vec4<f32>(As[kk * 64u + lid.y * 4u], As[kk * 64u + lid.y * 4u + 1u], As[kk * 64u + lid.y * 4u + 2u], As[kk * 64u + lid.y * 4u + 3u]);
      let b4 = vec4<f32>(Bs[kk * 64u + lid.x * 4u], Bs[kk * 64u + lid.x * 4u + 1u], Bs[kk * 64u + lid.x * 4u + 2u], Bs[kk * 64u + lid.x * 4u + 3u]);
      acc[0] += a4.x * b4;
      acc[1] += a4.y * b4;
      acc[2] += a4.z * b4;
      acc[3] += a4.w * b4;
    }
    workgroupBarrier();
  }
  let base = (split * u.batches + b) * u.M;
  for (var i = 0u; i < 4u; i++) {
    let m = tm * 64u + lid.y * 4u + i;
    if (m >= u.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = tn * 64u + lid.x * 4u + j;
      if (n < u.N) { partials[(base + m) * u.N + n] = acc[i][j]; }
    }
  }
}
`;
}
