// Raw WebGPU dispatch inside tfjs' webgpu backend (ecosystem.md 1.13) for the custom kernels of
// core/kernels/* and the selective-scan kernels (scans/kernel/selective-scan): our own pipelines
// (several outputs, up to the device's storage-binding count), recorded into tfjs' command encoder so
// ordering with every tfjs op holds, using tfjs' buffer pool and its deferred submission. Every
// dispatch can be timed by the GPU profiler (gpu-profiler.ts).
import { tf, type TensorInfo } from '../tf.ts';
import { timedPass } from './gpu-profiler.ts';

/** The parts of tfjs' WebGPUBackend used here (public in its .d.ts, or stable fields of backend_webgpu.js). */
export interface WebgpuBackendLike {
  device: GPUDevice;
  queue: GPUQueue;
  adapterInfo?: { vendor?: string; architecture?: string };
  tensorMap: { get(id: object): { resource: GPUBuffer | null; shape: number[] } };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  uniformPendingDisposal: GPUBuffer[];
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  disposeData(dataId: object, force?: boolean): boolean;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/**
 * Compiles (once per device and key) a compute pipeline with entry point `main`. `key` must cover
 * everything baked into the WGSL text (sizes, flags, workgroup shape): the cache is keyed by it alone.
 */
export function getPipeline(be: WebgpuBackendLike, key: string, code: () => string, label: string): GPUComputePipeline {
  let cache = pipelines.get(be.device);
  if (!cache) pipelines.set(be.device, (cache = new Map()));
  let p = cache.get(key);
  if (!p) {
    const text = code();
    if (process.env.SSMV_PRINT_WGSL) process.stderr.write(`--- ${label} (${key})\n${text}\n`);
    const module = be.device.createShaderModule({ code: text, label });
    p = be.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    cache.set(key, p);
  }
  return p;
}

function bufferOf(be: WebgpuBackendLike, t: TensorInfo): GPUBuffer {
  be.uploadToGPU(t.dataId);
  const r = be.tensorMap.get(t.dataId).resource;
  if (!r) throw new Error('webgpu kernel: tensor has no GPU buffer');
  return r;
}

/**
 * Fails with a clear message (instead of Dawn's silent zeros) when a tensor is larger than one
 * storage binding may be on this device (maxStorageBufferBindingSize, 2 GiB - 4 on an H100/H200).
 */
export function checkStorageSizes(be: WebgpuBackendLike, kernel: string, named: Record<string, TensorInfo>, hint = 'split the batch into smaller calls'): void {
  const limit = be.device.limits.maxStorageBufferBindingSize;
  for (const [name, t] of Object.entries(named)) {
    const bytes = tf.util.sizeFromShape(t.shape) * 4;
    if (bytes > limit) {
      throw new Error(
        `${kernel}(webgpu): '${name}' [${t.shape.join(', ')}] needs a ${bytes}-byte storage binding, above this device's ` +
          `maxStorageBufferBindingSize of ${limit} bytes; ${hint}`,
      );
    }
  }
}

/** Fails when a program binds more storage buffers than one shader stage may have on this device. */
export function checkStorageCount(be: WebgpuBackendLike, kernel: string, count: number, program = ''): void {
  const limit = be.device.limits.maxStorageBuffersPerShaderStage;
  if (count > limit) {
    throw new Error(`${kernel}(webgpu): ${program ? `the ${program} program ` : ''}binds ${count} storage buffers; this device allows ${limit} per shader stage`);
  }
}

/** Both checks for a program that binds exactly the named tensors. */
export function checkBindings(be: WebgpuBackendLike, kernel: string, named: Record<string, TensorInfo>): void {
  checkStorageCount(be, kernel, Object.keys(named).length);
  checkStorageSizes(be, kernel, named);
}

/** Zero-fills the buffers of the given tensors (outputs accumulated into, with atomics or not, or partly written). */
export function clearTensors(be: WebgpuBackendLike, ts: TensorInfo[]): void {
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  for (const t of ts) {
    const buf = bufferOf(be, t);
    be.commandEncoder!.clearBuffer(buf, 0, tf.util.sizeFromShape(t.shape) * 4);
    be.commandQueueOwnedIds.add(t.dataId);
  }
}

/** Copies `bytes` from src (at byte srcOffset) into dst (at 0). */
export function copyTensor(be: WebgpuBackendLike, src: TensorInfo, srcOffset: number, dst: TensorInfo, bytes: number): void {
  const s = bufferOf(be, src);
  const d = bufferOf(be, dst);
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  be.commandEncoder!.copyBufferToBuffer(s, srcOffset, d, 0, bytes);
  be.commandQueueOwnedIds.add(src.dataId);
  be.commandQueueOwnedIds.add(dst.dataId);
}

/** Splits a linear workgroup count into (x, y) within the per-dimension limit (shaders rebuild the index from gridX). */
export function grid(be: WebgpuBackendLike, count: number): [number, number] {
  const max = be.device.limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [Math.max(1, count), 1];
  const y = Math.ceil(count / max);
  const x = Math.ceil(count / y);
  if (y > max) throw new Error(`webgpu kernel: ${count} workgroups exceed ${max} x ${max}`);
  return [x, y];
}

/**
 * Records one dispatch: binding 0 is the uniform block (32-bit words: u32, or f32 written through
 * the same buffer), bindings 1.. the tensors in order (inputs and outputs alike).
 */
export function dispatch(be: WebgpuBackendLike, pipeline: GPUComputePipeline, uniforms: ArrayBuffer | ArrayBufferView, tensors: TensorInfo[], workgroups: [number, number] | [number, number, number]): void {
  const buffers = tensors.map((t) => bufferOf(be, t));
  const bytes = ArrayBuffer.isView(uniforms) ? new Uint8Array(uniforms.buffer, uniforms.byteOffset, uniforms.byteLength) : new Uint8Array(uniforms);
  const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
  const ubuf = be.bufferManager.acquireBuffer(size, GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM);
  const padded = new Uint8Array(size);
  padded.set(bytes);
  be.queue.writeBuffer(ubuf, 0, padded);
  be.uniformPendingDisposal.push(ubuf);
  for (const t of tensors) be.commandQueueOwnedIds.add(t.dataId);
  const bindGroup = be.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: ubuf } }, ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }))],
  });
  be.ensureCommandEncoderReady();
  const timed = timedPass(pipeline.label);
  let pass: GPUComputePassEncoder;
  if (timed) {
    be.endComputePassEncoder();
    pass = be.commandEncoder!.beginComputePass(timed);
  } else {
    if (!be.computePassEncoder) be.computePassEncoder = be.commandEncoder!.beginComputePass({});
    pass = be.computePassEncoder;
  }
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2] ?? 1);
  if (timed) pass.end();
  be.dispatchCountInPass++;
  if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= be.dispatchCountInPass) {
    be.endComputePassEncoder();
    be.submitQueue();
  }
}

/** Uniform block builder: u32 and f32 words in declaration order (WGSL struct of 4-byte scalars). */
export function uniformWords(values: Array<number | { f32: number }>): ArrayBuffer {
  const buf = new ArrayBuffer(values.length * 4);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  values.forEach((v, i) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`uniformWords: ${v} is not a u32`);
      u[i] = v;
    } else f[i] = v.f32;
  });
  return buf;
}

/** The backend object when the current backend is webgpu. */
export function webgpuBackend(backend: unknown): WebgpuBackendLike {
  return backend as WebgpuBackendLike;
}

/**
 * Copies elements [begin, begin + size) of a flat tensor into a new tensor of `shape` (tfjs' Slice
 * kernel of the backend, called directly: no engine bookkeeping inside a kernel).
 */
export function sliceFlat(be: WebgpuBackendLike, t: TensorInfo, begin: number, size: number, shape: number[]): TensorInfo {
  const kernel = tf.getKernel('Slice', 'webgpu');
  if (!kernel) throw new Error('webgpu kernel: tfjs has no Slice kernel registered for webgpu');
  const flat: TensorInfo = { dataId: t.dataId, shape: [tf.util.sizeFromShape(t.shape)], dtype: t.dtype };
  const s = kernel.kernelFunc({ inputs: { x: flat }, backend: be as unknown as tf.KernelBackend, attrs: { begin: [begin], size: [size] } }) as TensorInfo;
  if (tf.util.sizeFromShape(shape) !== size) throw new Error(`sliceFlat: shape [${shape}] does not hold ${size} elements`);
  return { dataId: s.dataId, shape, dtype: s.dtype };
}
