// WGSL of the fused elementwise kernels. One generator: `V` floats per thread (vec4 when the size
// allows, else scalar), 256 threads per workgroup, workgroups folded into (x, y). The expression of
// each kernel is written once for both widths (T = f32 or vec4<f32>). Baked: the kernel's
// expression and V (both in the pipeline key); the element count is a uniform.

export interface EwKernel {
  /** tensor inputs, bound in order after the uniforms */
  inputs: string[];
  /** WGSL statements computing `out: T` from the inputs' values `<name>v: T` */
  body: string;
  /** inputs read per sample (one float per batch row, broadcast over the row), not per element */
  perRow?: string[];
}

/** erf by Abramowitz-Stegun 7.1.26 (max abs error 1.5e-7), the formula of tfjs' Erf kernel */
const ERF = /* wgsl */ `
fn erfT(x: T) -> T {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp(-a * a));
}
fn sigmoidT(x: T) -> T {
  // stable for large |x|: exp of a non-positive argument only
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= T(0.0));
}
`;

export function elementwiseWgsl(k: EwKernel, V: 1 | 4): string {
  const T = V === 4 ? 'vec4<f32>' : 'f32';
  const perRow = new Set(k.perRow ?? []);
  const binds = k.inputs.map((n, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${n}: array<${perRow.has(n) ? 'f32' : T}>;`).join('\n');
  const loads = k.inputs.map((n) => (perRow.has(n) ? `  let ${n}v = T(${n}[(i * ${V}u) / u.rowLen]);` : `  let ${n}v = ${n}[i];`)).join('\n');
  return /* wgsl */ `
alias T = ${T};
struct U { n: u32, gridX: u32, rowLen: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
${binds}
@group(0) @binding(${k.inputs.length + 1}) var<storage, read_write> result: array<T>;
${ERF}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * u.gridX + wg.x) * 256u + li;
  if (i >= u.n) { return; }
${loads}
  var out: T;
${k.body}
  result[i] = out;
}
`;
}

const INV_SQRT2 = '0.7071067811865476';
const INV_SQRT_2PI = '0.3989422804014327';

/** The kernels by registered name. */
export const EW_KERNELS: Record<string, EwKernel> = {
  // exact GELU (nn.GELU): x * Phi(x)
  SsmvGelu: { inputs: ['x'], body: `  out = 0.5 * xv * (1.0 + erfT(xv * ${INV_SQRT2}));` },
  // d/dx [x Phi(x)] = Phi(x) + x phi(x)
  SsmvGeluGrad: { inputs: ['dy', 'x'], body: `  out = dyv * (0.5 * (1.0 + erfT(xv * ${INV_SQRT2})) + xv * ${INV_SQRT_2PI} * exp(-0.5 * xv * xv));` },
  // SiLU: x sigmoid(x)
  SsmvSilu: { inputs: ['x'], body: '  out = xv * sigmoidT(xv);' },
  // d/dx [x s(x)] = s (1 + x (1 - s))
  SsmvSiluGrad: { inputs: ['dy', 'x'], body: '  let s = sigmoidT(xv);\n  out = dyv * s * (1.0 + xv * (1.0 - s));' },
  // residual + per-sample scaled branch (DropPath): x + branch * scale[b]
  SsmvScaledResidual: { inputs: ['x', 'branch', 'scale'], perRow: ['scale'], body: '  out = xv + branchv * scalev;' },
  // per-sample scale: a * scale[b] (the branch gradient of SsmvScaledResidual)
  SsmvRowScale: { inputs: ['a', 'scale'], perRow: ['scale'], body: '  out = av * scalev;' },
};
