// Column sums of a row-major (P, N) float32 matrix on the GPU -> (N): the second pass of every kernel
// here that reduces over a long axis (LayerNorm dgamma/dbeta, depthwise and dense filter gradients,
// bias gradients). Workgroup = 32 columns x 8 row lanes; each lane sums every 8th row of its column
// (coalesced along columns), then the 8 lanes are added in workgroup memory. Long columns are summed
// in row chunks first (grid z), then the chunk partials.
import type { TensorInfo } from '../tf.ts';
import { dispatch, getPipeline, grid, uniformWords, type WebgpuBackendLike } from './webgpu-runtime.ts';

const COLUMN_SUM_WGSL = /* wgsl */ `
struct U { P: u32, N: u32, gridX: u32, rowsPer: u32, pad0: u32, pad1: u32, pad2: u32, pad3: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = (wg.y * u.gridX + wg.x) * 32u + lid.x;
  // rowsPer = 0: all P rows into dst[col]; else rows of chunk wg.z into dst[wg.z * N + col]
  var r0 = 0u;
  var r1 = u.P;
  if (u.rowsPer > 0u) {
    r0 = wg.z * u.rowsPer;
    r1 = min(u.P, r0 + u.rowsPer);
  }
  var s = 0.0;
  if (col < u.N) {
    for (var r = r0 + lid.y; r < r1; r += 8u) { s += src[r * u.N + col]; }
  }
  part[lid.y * 32u + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < u.N) {
    var t = 0.0;
    for (var k = 0u; k < 8u; k++) { t += part[k * 32u + lid.x]; }
    dst[wg.z * u.N + col] = t;
  }
}
`;

/** rows one workgroup of the first pass sums per column before the partials are added */
const ROWS_PER_CHUNK = 256;
/** workgroups the first pass aims for */
const TARGET_WORKGROUPS = 1024;

/**
 * dst (N) = sum over the P rows of src (P, N). `dst` must hold N floats. When the columns alone give
 * few workgroups and P is long, rows are first summed in chunks (a (chunks, N) partial through the
 * same kernel on row blocks), then the chunks: two passes instead of one long serial loop per lane.
 */
export function columnSum(be: WebgpuBackendLike, src: TensorInfo, P: number, N: number, dst: TensorInfo): void {
  const colGroups = Math.ceil(N / 32);
  const chunks = Math.min(Math.floor(P / ROWS_PER_CHUNK), Math.ceil(TARGET_WORKGROUPS / colGroups));
  const pipeline = getPipeline(be, 'ssmv-column-sum', () => COLUMN_SUM_WGSL, 'ColumnSum');
  if (chunks < 2) {
    const [gx, gy] = grid(be, colGroups);
    dispatch(be, pipeline, uniformWords([P, N, gx, 0, 0, 0, 0, 0]), [src, dst], [gx, gy]);
    return;
  }
  const rowsPer = Math.ceil(P / chunks);
  const used = Math.ceil(P / rowsPer);
  const partial = be.makeTensorInfo([used, N], 'float32');
  const [gx, gy] = grid(be, colGroups);
  // z = chunk: rows [z*rowsPer, min(P, (z+1)*rowsPer)) into partial row z
  dispatch(be, pipeline, uniformWords([P, N, gx, rowsPer, 0, 0, 0, 0]), [src, partial], [gx, gy, used]);
  columnSum(be, partial, used, N, dst);
  be.disposeData(partial.dataId);
}
