// WGSL of the fused AdamW update: one thread per element, 256 per workgroup, workgroups folded into
// (x, y) beyond the per-dimension limit. Nothing is baked into the text (sizes and step constants
// are uniforms), so one pipeline serves every parameter.
export const ADAMW_WGSL = /* wgsl */ `
struct U { n: u32, gridX: u32, decay: f32, b1: f32, b2: f32, stepSize: f32, bc2Sqrt: f32, eps: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> pOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> mOut: array<f32>;
@group(0) @binding(7) var<storage, read_write> vOut: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * u.gridX + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  let gi = g[i];
  let m1 = u.b1 * m[i] + (1.0 - u.b1) * gi;
  let v1 = u.b2 * v[i] + (1.0 - u.b2) * (gi * gi);
  let denom = sqrt(v1) / u.bc2Sqrt + u.eps;
  pOut[i] = p[i] * u.decay - u.stepSize * (m1 / denom);
  mOut[i] = m1;
  vOut[i] = v1;
}
`;
