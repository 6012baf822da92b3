// Messages between the loader and its worker threads, and how errors cross the boundary.
import { DataError, SampleError } from '../common.ts';
import type { Item, Sample } from '../types.ts';
import type { PipelineSpec } from '../pipeline/spec.ts';

export type ToWorker =
  | { type: 'init'; spec: PipelineSpec }
  | { type: 'run'; id: number; samples: Sample[]; rng: number[]; out?: Float32Array };

/** Parent -> child process (pool-process.ts): `files[k]` is in-flight slot k's image file. */
export type ToChild =
  | { type: 'init'; spec: PipelineSpec; files: string[] }
  // slot: the item's image, if the pipeline writes it into an `out` of `length` floats, goes to files[slot]
  | { type: 'run'; id: number; samples: Sample[]; rng: number[]; slot?: number; length?: number };

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  file?: string;
  field?: string;
  reason?: string;
}

export type FromWorker =
  | { type: 'ready' }
  // inPlace: the image was written into the run's `out` (shared memory) and is left out of `item`
  | { type: 'done'; id: number; item: Item; inPlace?: false }
  | { type: 'done'; id: number; item: Omit<Item, 'image'>; inPlace: true }
  | { type: 'fail'; id: number; error: WireError };

/** Child process -> parent: as FromWorker, but an in-place image lies in the run's slot file. */
export type FromChild = FromWorker;

export function toWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const w: WireError = { name: err.name, message: err.message, stack: err.stack };
  if (err instanceof SampleError) {
    w.file = err.file;
    w.reason = err.reason;
  } else if (err instanceof DataError) {
    w.file = err.file;
    w.field = err.field;
  }
  return w;
}

export function fromWire(w: WireError, where = 'a data worker thread'): Error {
  let e: Error;
  if (w.name === 'SampleError') e = new SampleError(w.file ?? '?', w.reason ?? w.message);
  else if (w.name === 'DataError') {
    e = new DataError(w.file ?? '?', w.field ?? '', '');
    e.message = w.message;
  } else {
    e = new Error(w.message);
    e.name = w.name;
  }
  if (w.stack) e.stack = `${w.stack}\n    (in ${where})`;
  return e;
}

/** Buffers of an item to transfer (not copy) back to the parent. */
export function transferList(item: Item): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of [item.image, item.boxes, item.classes, item.iscrowd, item.difficult, item.mask, item.instanceMasks]) {
    if (a && a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) out.add(a.buffer);
  }
  return [...out];
}
