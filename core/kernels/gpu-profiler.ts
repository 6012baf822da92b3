// GPU timestamps per dispatch (bench only): while a profile is active, every tfjs WebGPU program
// (through a wrapper around WebGPUBackend.recordAndSubmit) and every dispatch of webgpu-runtime.ts
// (core/kernels and the selective-scan kernels) runs in its own compute pass with begin/end timestamp
// writes. Unlike tf.time/tf.profile, nothing is submitted per program: the queries are resolved once
// at the end. Needs the 'timestamp-query' feature.
import type { TensorInfo } from '../tf.ts';

interface Profile {
  device: GPUDevice;
  sets: GPUQuerySet[];
  labels: string[];
  /** output shape per label index (tfjs programs), for the per-shape table */
  shapes: string[];
  restore: () => void;
}

/** dispatches per query set (2 queries each; a query set holds at most 4096 queries) */
const PER_SET = 2048;
let active: Profile | null = null;

function slot(label: string, shape: string): GPUComputePassDescriptor {
  const p = active!;
  const i = p.labels.length;
  if (i % PER_SET === 0) p.sets.push(p.device.createQuerySet({ type: 'timestamp', count: 2 * PER_SET }));
  p.labels.push(label);
  p.shapes.push(shape);
  const j = i % PER_SET;
  return { timestampWrites: { querySet: p.sets[p.sets.length - 1], beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 } };
}

/** A pass descriptor with timestamp writes for one dispatch, or null when no profile is active. */
export function timedPass(label: string, shape = ''): GPUComputePassDescriptor | null {
  return active ? slot(label, shape) : null;
}

export function profiling(): boolean {
  return active !== null;
}

interface TfjsBackendPatch {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  activeTimers: unknown;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  recordAndSubmit(program: { constructor: { name: string }; outputShape?: number[] }, output: TensorInfo, ...rest: unknown[]): void;
}

/**
 * Starts timing every dispatch on the webgpu backend `backend` (tfjs' WebGPUBackend): the dispatches
 * of core/kernels/webgpu-runtime.ts and, unless `programs` is false, every tfjs program. Returns false
 * (and times nothing) when the device has no timestamp queries.
 */
export function startGpuProfile(backend: unknown, { programs = true }: { programs?: boolean } = {}): boolean {
  const be = backend as TfjsBackendPatch;
  if (active) throw new Error('gpu profiler: a profile is already active');
  if (!be.device.features.has('timestamp-query')) return false;
  if (!programs) {
    active = { device: be.device, sets: [], labels: [], shapes: [], restore: () => {} };
    return true;
  }
  const orig = be.recordAndSubmit;
  const own = Object.prototype.hasOwnProperty.call(be, 'recordAndSubmit');
  be.recordAndSubmit = function (this: TfjsBackendPatch, program, output, ...rest) {
    if (!active || this.activeTimers != null) return orig.call(this, program, output, ...rest);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    const shape = output?.shape ? `[${output.shape.join(',')}]` : '';
    this.computePassEncoder = this.commandEncoder!.beginComputePass(slot(program.constructor.name, shape));
    orig.call(this, program, output, ...rest);
    this.endComputePassEncoder(); // one dispatch per timed pass (recordAndSubmit may have submitted already)
  };
  active = {
    device: be.device, sets: [], labels: [], shapes: [],
    restore: () => {
      if (own) be.recordAndSubmit = orig;
      else delete (be as unknown as Record<string, unknown>).recordAndSubmit;
    },
  };
  return true;
}

export interface DispatchTime { label: string; shape: string; ms: number }

interface SubmitBackend {
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: GPUCommandEncoder | null;
}

/** Stops the profile; resolves every query and returns the GPU time of each dispatch, in order. */
export async function stopGpuProfile(backend: unknown): Promise<DispatchTime[]> {
  const p = active;
  if (!p) return [];
  active = null;
  p.restore();
  const be = backend as SubmitBackend;
  const n = p.labels.length;
  if (!n) return [];
  const bytes = p.sets.length * 2 * PER_SET * 8;
  const resolve = p.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = p.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  p.sets.forEach((set, s) => {
    const used = Math.min(PER_SET, n - s * PER_SET);
    be.commandEncoder!.resolveQuerySet(set, 0, 2 * used, resolve, s * 2 * PER_SET * 8);
  });
  be.commandEncoder!.copyBufferToBuffer(resolve, 0, read, 0, bytes);
  be.submitQueue();
  await read.mapAsync(GPUMapMode.READ); // GPU->CPU sync: every profiled dispatch has finished
  const ts = new BigUint64Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  resolve.destroy();
  for (const s of p.sets) s.destroy();
  return p.labels.map((label, i) => {
    const s = Math.floor(i / PER_SET), j = i % PER_SET;
    const base = s * 2 * PER_SET;
    const d = ts[base + 2 * j + 1] - ts[base + 2 * j];
    return { label, shape: p.shapes[i], ms: d > 0n ? Number(d) / 1e6 : 0 };
  });
}
