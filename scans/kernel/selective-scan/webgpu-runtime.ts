// The selective-scan kernels dispatch through the shared WebGPU runtime of core/kernels
// (core/kernels/webgpu-runtime.ts: pipelines, dispatch, grid, zero-fills, copies; timed by
// core/kernels/gpu-profiler.ts). What is scan-specific stays here: the binding checks with the
// scan's kernel name, its program names and its advice (split the batch or the channels).
import { tf, type TensorInfo } from '../../../core/tf.ts';
import {
  checkStorageCount, checkStorageSizes, copyTensor, dispatch, getPipeline, grid, type WebgpuBackendLike,
} from '../../../core/kernels/webgpu-runtime.ts';
import { REDUCE_PARTIALS_WGSL } from './wgsl-subgroup.ts';

// The shared runtime under the names the scan's dispatch files (webgpu.ts, webgpu-fold.ts) import.
export { clearTensors, copyTensor, dispatch, getPipeline, grid, type WebgpuBackendLike } from '../../../core/kernels/webgpu-runtime.ts';

/** Fails with a clear message (instead of Dawn's silent zeros) when a binding exceeds the device limit. */
export function checkBindingSizes(backend: WebgpuBackendLike, named: Record<string, TensorInfo>): void {
  checkStorageSizes(backend, 'selectiveScan', named, 'split the batch (or channels) into smaller calls');
}

/** Fails when the `program` ('forward' | 'backward') binds more storage buffers than the device allows. */
export function checkStorageBindings(backend: WebgpuBackendLike, count: number, program: string): void {
  checkStorageCount(backend, 'selectiveScan', count, program);
}

/**
 * dB, dC (B, G, N, P) out of a backward's dBC buffer: with `blocks` row-block partials
 * (2, B, G, blocks, N, P) summed by the reduce pass, else (2, B, G, N, P) (atomic sums, or the
 * partials of a single block) copied out.
 */
export function splitDBC(
  be: WebgpuBackendLike, dBC: TensorInfo, g: { batch: number; G: number; N: number; P: number }, blocks: number | null,
): [TensorInfo, TensorInfo] {
  const bcShape = [g.batch, g.G, g.N, g.P];
  const dB = be.makeTensorInfo(bcShape, 'float32');
  const dC = be.makeTensorInfo(bcShape, 'float32');
  if (blocks !== null) {
    const reduce = getPipeline(be, 'ssm-reduce-partials', () => REDUCE_PARTIALS_WGSL, 'SelectiveScanReducePartials');
    const outer = g.batch * g.G;
    const inner = g.N * g.P;
    const [rx, ry] = grid(be, Math.ceil((outer * inner) / 256));
    dispatch(be, reduce, Uint32Array.from([outer, blocks, inner, rx]), [dBC, dB, dC], [rx, ry]);
  } else {
    const bcBytes = tf.util.sizeFromShape(bcShape) * 4;
    copyTensor(be, dBC, 0, dB, bcBytes);
    copyTensor(be, dBC, bcBytes, dC, bcBytes);
  }
  return [dB, dC];
}
