// Raw WebGPU dispatch inside tfjs' webgpu backend (ecosystem.md 1.13): our own pipelines with several
// outputs and more bindings than a WebGPUProgram allows, recorded into tfjs' command encoder so that
// ordering with every other tfjs op holds, with tfjs' buffer pool and deferred submission.
import type { TensorInfo } from '../../../core/tf.ts';
import { tf } from '../../../core/tf.ts';

/** The parts of tfjs' WebGPUBackend we use (public in its .d.ts, or stable fields of backend_webgpu.js). */
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

/** Compiles (once per device and key) a compute pipeline; `key` must cover everything baked into `code`. */
export function getPipeline(backend: WebgpuBackendLike, key: string, code: () => string, label: string): GPUComputePipeline {
  let cache = pipelines.get(backend.device);
  if (!cache) pipelines.set(backend.device, (cache = new Map()));
  let p = cache.get(key);
  if (!p) {
    const text = code();
    const module = backend.device.createShaderModule({ code: text, label });
    if (process.env.SSMV_PRINT_WGSL) process.stderr.write(`--- ${label} (${key})\n${text}\n`);
    p = backend.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    cache.set(key, p);
  }
  return p;
}

export function bufferOf(backend: WebgpuBackendLike, t: TensorInfo): GPUBuffer {
  backend.uploadToGPU(t.dataId);
  const r = backend.tensorMap.get(t.dataId).resource;
  if (!r) throw new Error('selectiveScan(webgpu): tensor has no GPU buffer');
  return r;
}

/** Fails with a clear message (instead of Dawn's silent zeros) when a binding exceeds the device limit. */
export function checkBindingSizes(backend: WebgpuBackendLike, named: Record<string, TensorInfo>, extra: Record<string, number> = {}): void {
  const limit = backend.device.limits.maxStorageBufferBindingSize;
  const sizes: Array<[string, number, string]> = Object.entries(named).map(([n, t]) => [n, tf.util.sizeFromShape(t.shape) * 4, `[${t.shape.join(', ')}]`]);
  for (const [n, bytes] of Object.entries(extra)) sizes.push([n, bytes, '']);
  for (const [name, bytes, shape] of sizes) {
    if (bytes > limit) {
      throw new Error(
        `selectiveScan(webgpu): '${name}' ${shape} needs a ${bytes}-byte storage binding, above this device's ` +
          `maxStorageBufferBindingSize of ${limit} bytes; split the batch (or channels) into smaller calls`,
      );
    }
  }
}

export function checkStorageBindings(backend: WebgpuBackendLike, count: number, what: string): void {
  const limit = backend.device.limits.maxStorageBuffersPerShaderStage;
  if (count > limit) {
    throw new Error(`selectiveScan(webgpu): the ${what} program binds ${count} storage buffers; this device allows ${limit} per shader stage`);
  }
}

function ensurePass(backend: WebgpuBackendLike): GPUComputePassEncoder {
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder!.beginComputePass({});
  return backend.computePassEncoder;
}

/** Zero-fills the buffers of the given tensors (outputs that are accumulated into or partly written). */
export function clearTensors(backend: WebgpuBackendLike, ts: TensorInfo[]): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  for (const t of ts) {
    const buf = bufferOf(backend, t);
    backend.commandEncoder!.clearBuffer(buf, 0, tf.util.sizeFromShape(t.shape) * 4);
    backend.commandQueueOwnedIds.add(t.dataId);
  }
}

/** Copies `bytes` from src (at srcOffset) into dst (at 0). */
export function copyTensor(backend: WebgpuBackendLike, src: TensorInfo, srcOffset: number, dst: TensorInfo, bytes: number): void {
  const s = bufferOf(backend, src);
  const d = bufferOf(backend, dst);
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.commandEncoder!.copyBufferToBuffer(s, srcOffset, d, 0, bytes);
  backend.commandQueueOwnedIds.add(src.dataId);
  backend.commandQueueOwnedIds.add(dst.dataId);
}

/** GPU timestamps around each of our dispatches while active (bench only; one compute pass per dispatch). */
interface Profiler { querySet: GPUQuerySet; capacity: number; labels: string[] }
let profiler: Profiler | null = null;

export function startProfiling(backend: WebgpuBackendLike, capacity = 256): boolean {
  if (!backend.device.features.has('timestamp-query')) return false;
  profiler = { querySet: backend.device.createQuerySet({ type: 'timestamp', count: 2 * capacity }), capacity, labels: [] };
  return true;
}

/** Stops profiling; returns the GPU time of each profiled dispatch (ms), in order. */
export async function stopProfiling(backend: WebgpuBackendLike): Promise<Array<{ label: string; ms: number }>> {
  const p = profiler;
  profiler = null;
  if (!p || !p.labels.length) return [];
  const n = 2 * p.labels.length;
  const resolve = backend.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = backend.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.commandEncoder!.resolveQuerySet(p.querySet, 0, n, resolve, 0);
  backend.commandEncoder!.copyBufferToBuffer(resolve, 0, read, 0, n * 8);
  backend.submitQueue();
  await read.mapAsync(GPUMapMode.READ); // GPU->CPU sync
  const ts = new BigUint64Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  resolve.destroy();
  p.querySet.destroy();
  return p.labels.map((label, i) => ({ label, ms: Number(ts[2 * i + 1] - ts[2 * i]) / 1e6 }));
}

/**
 * Records one dispatch: binding 0 is the uniform block (u32 words), bindings 1.. the tensors in order.
 * Workgroup counts above maxComputeWorkgroupsPerDimension are folded into y (shader uses gridX).
 */
export function dispatch(backend: WebgpuBackendLike, pipeline: GPUComputePipeline, uniforms: Uint32Array, tensors: TensorInfo[], workgroups: [number, number]): void {
  const buffers = tensors.map((t) => bufferOf(backend, t));
  const size = Math.ceil(uniforms.byteLength / 16) * 16;
  const ubuf = backend.bufferManager.acquireBuffer(size, GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM);
  const padded = new Uint8Array(size);
  padded.set(new Uint8Array(uniforms.buffer, uniforms.byteOffset, uniforms.byteLength));
  backend.queue.writeBuffer(ubuf, 0, padded);
  backend.uniformPendingDisposal.push(ubuf);
  for (const t of tensors) backend.commandQueueOwnedIds.add(t.dataId);
  const bindGroup = backend.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: ubuf } }, ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }))],
  });
  if (profiler && profiler.labels.length < profiler.capacity) {
    const i = profiler.labels.length;
    profiler.labels.push(pipeline.label);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    const timed = backend.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: profiler.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
    timed.setPipeline(pipeline);
    timed.setBindGroup(0, bindGroup);
    timed.dispatchWorkgroups(workgroups[0], workgroups[1]);
    timed.end();
  } else {
    const pass = ensurePass(backend);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1]);
  }
  backend.dispatchCountInPass++;
  if (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** Splits a linear workgroup count into (x, y) within the per-dimension limit. */
export function grid(backend: WebgpuBackendLike, count: number): [number, number] {
  const max = backend.device.limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [count, 1];
  const y = Math.ceil(count / max);
  const x = Math.ceil(count / y);
  if (y > max) throw new Error(`selectiveScan(webgpu): ${count} workgroups exceed ${max} x ${max}`);
  return [x, y];
}
