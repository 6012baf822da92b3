// The selective-scan kernels dispatch through the shared WebGPU runtime of core/kernels
// (core/kernels/webgpu-runtime.ts: pipelines, dispatch, grid, zero-fills, copies; timed by
// core/kernels/gpu-profiler.ts). What is scan-specific stays here: the binding checks with the
// scan's kernel name, its program names and its advice (split the batch or the channels).
import type { TensorInfo } from '../../../core/tf.ts';
import { checkStorageCount, checkStorageSizes, type WebgpuBackendLike } from '../../../core/kernels/webgpu-runtime.ts';

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
