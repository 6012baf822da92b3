// Which kind of data worker the loader uses by default, from the measurements in BENCHMARKS.md
// (Data pipeline): sharp/libvips serialises on something process-wide, so on a multi-core host
// child processes scale where the worker threads of one process stop (~500 images/s);
// on a 2 vCPU machine threads were about 5 % faster (less IPC and start-up).
import { availableParallelism } from 'node:os';

export type WorkerKind = 'thread' | 'process';

export const WORKER_KINDS: readonly WorkerKind[] = ['thread', 'process'];

/** 'process' on machines of more than 2 cores, 'thread' on 2 or fewer. */
export function defaultWorkerKind(cores = availableParallelism()): WorkerKind {
  return cores > 2 ? 'process' : 'thread';
}

/** 'thread' | 'process' | 'auto' (= defaultWorkerKind()); anything else is an error naming `key`. */
export function parseWorkerKind(v: string, key = 'worker_kind'): WorkerKind {
  if (v === 'auto') return defaultWorkerKind();
  if (v === 'thread' || v === 'process') return v;
  throw new Error(`${key}: expected thread, process or auto, got '${v}'`);
}
