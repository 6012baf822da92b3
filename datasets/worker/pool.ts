// A pool of data worker threads (node:worker_threads), each running the same pipeline. Items go to
// the least-busy worker, up to `inFlight` per worker. Workers share the process' libuv threadpool
// (where sharp decodes), so UV_THREADPOOL_SIZE must be set before Node starts: the pool warns when
// it is smaller than the number of items it keeps in flight.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Item, Sample } from '../types.ts';
import type { PipelineSpec } from '../pipeline/spec.ts';
import { fromWire, type FromWorker, type ToWorker } from './protocol.ts';

interface Pending {
  /** the caller's view of the item's slot in shared memory, if it passed one */
  out?: Float32Array;
  resolve: (item: Item) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  ready: Promise<void>;
}

/** libuv threadpool size in force (it is read once, when the pool first starts). */
export function uvThreadpoolSize(): number {
  const v = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(v) && v > 0 ? Math.min(v, 1024) : 4;
}

/** Default worker count: one per core (the main thread mostly waits on the GPU). */
export function defaultWorkers(): number {
  return availableParallelism();
}

let warned = false;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly queue: Array<{ id: number; samples: Sample[]; rng: number[]; out?: Float32Array }> = [];
  private nextId = 0;
  private broken: Error | null = null;
  private closed = false;

  constructor(readonly size: number, spec: PipelineSpec, readonly inFlight = 2) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`WorkerPool: size must be a positive integer, got ${size}`);
    if (!warned && size * inFlight > uvThreadpoolSize()) {
      warned = true;
      process.emitWarning(
        `data loader: ${size} workers x ${inFlight} items in flight share a libuv threadpool of ${uvThreadpoolSize()} threads ` +
          `(where sharp decodes); start node with UV_THREADPOOL_SIZE=${size * inFlight} to let every worker decode at once`,
      );
    }
    // tsx is not inherited by worker threads in Node 20: entry.mjs registers it (see there)
    const url = new URL('./entry.mjs', import.meta.url);
    const execArgv = process.execArgv.filter((a, i, all) => !/tsx/.test(a) && !(a === '--import' && /tsx/.test(all[i + 1] ?? '')));
    for (let k = 0; k < size; k++) {
      const worker = new Worker(url, { execArgv });
      let onReady!: () => void;
      const slot: Slot = { worker, busy: 0, ready: new Promise<void>((r) => (onReady = r)) };
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          onReady();
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        slot.busy--;
        this.setRef();
        if (m.type === 'done') p.resolve(m.inPlace ? ({ ...m.item, image: p.out! } as Item) : m.item);
        else p.reject(fromWire(m.error));
        this.pump();
      });
      worker.on('error', (e) => this.fail(new Error(`data worker ${k} crashed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`data worker ${k} exited with code ${code}`));
      });
      worker.postMessage({ type: 'init', spec } satisfies ToWorker);
      this.slots.push(slot);
    }
    this.setRef();
  }

  /** Idle workers must not keep the process alive; busy ones must (the caller awaits them). */
  private setRef(): void {
    const busy = this.pending.size > 0;
    for (const s of this.slots) {
      if (busy) s.worker.ref();
      else s.worker.unref();
    }
  }

  private fail(e: Error): void {
    if (this.broken) return;
    this.broken = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private pump(): void {
    while (this.queue.length) {
      let best: Slot | null = null;
      for (const s of this.slots) if (s.busy < this.inFlight && (!best || s.busy < best.busy)) best = s;
      if (!best) return;
      const job = this.queue.shift()!;
      best.busy++;
      best.worker.postMessage({ type: 'run', id: job.id, samples: job.samples, rng: job.rng, out: job.out } satisfies ToWorker);
    }
  }

  /**
   * Runs one item: `samples` = [sample, ...partners], `rng` = the per-item generator state. `out`,
   * a view of a SharedArrayBuffer, is where the worker may write the image (the item then comes
   * back with `image === out`); a view of ordinary memory would be copied, so it is refused.
   */
  run(samples: Sample[], rng: number[], out?: Float32Array): Promise<Item> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    if (out && !(out.buffer instanceof SharedArrayBuffer)) return Promise.reject(new Error('WorkerPool.run: out must be a view of a SharedArrayBuffer'));
    const id = this.nextId++;
    return new Promise<Item>((resolve, reject) => {
      this.pending.set(id, { out, resolve, reject });
      this.setRef();
      this.queue.push({ id, samples, rng, out });
      this.pump();
    });
  }

  /** Waits until every worker has built its pipeline (startup cost, e.g. before timing). */
  async ready(): Promise<void> {
    for (const s of this.slots) s.worker.ref();
    await Promise.all(this.slots.map((s) => s.ready));
    this.setRef();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('WorkerPool closed'));
    this.pending.clear();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
