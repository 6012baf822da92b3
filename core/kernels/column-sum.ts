// Column sums of a row-major (P, N) float32 matrix on the GPU -> (N): the second pass of every kernel
// here that reduces over a long axis (LayerNorm dgamma/dbeta, depthwise and dense filter gradients,
// bias gradients). Workgroup = 32 columns x 8 row lanes; each lane sums every 8th row of its column
// (coalesced along columns), then the 8 lanes are added in workgroup memory.
import type { TensorInfo } from '../tf.ts';
import { dispatch, getPipeline, grid, uniformWords, type WebgpuBackendLike } from './webgpu-runtime.ts';

const COLUMN_SUM_WGSL = /* wgsl */ `
struct U { P: u32, N: u32, gridX: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = (wg.y * u.gridX + wg.x) * 32u + lid.x;
  var s = 0.0;
  if (col < u.N) {
    for (var r = lid.y; r < u.P; r += 8u) { s += src[r * u.N + col]; }
  }
  part[lid.y * 32u + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < u.N) {
    var t = 0.0;
    for (var k = 0u; k < 8u; k++) { t += part[k * 32u + lid.x]; }
    dst[col] = t;
  }
}
`;

/** dst (N) = sum over the P rows of src (P, N). `dst` must hold N floats. */
export function columnSum(be: WebgpuBackendLike, src: TensorInfo, P: number, N: number, dst: TensorInfo): void {
  const pipeline = getPipeline(be, 'ssmv-column-sum', () => COLUMN_SUM_WGSL, 'ColumnSum');
  const [gx, gy] = grid(be, Math.ceil(N / 32));
  dispatch(be, pipeline, uniformWords([P, N, gx, 0]), [src, dst], [gx, gy]);
}
