// A pool of data worker child processes (child_process.fork), each running the same pipeline as
// the thread workers (pool.ts). Why processes: inside one Node process sharp/libvips serialises on
// something process-wide, so the thread pool stops near 500 images/s on a 16-core host while
// separate processes scale (BENCHMARKS.md, Data pipeline). Each child gets its own small libuv
// threadpool (UV_THREADPOOL_SIZE = its items in flight, set in its environment: libuv reads it when
// the child starts) and `inFlight` items at a time. Items carry the same per-item generator state
// as with threads, so batches are the same whatever the worker kind.
//
// Transport: requests and small results over the IPC channel (advanced serialisation: typed arrays
// as such); an image the pipeline writes into the loader's batch slot comes back through a file
// per (child, in-flight slot) on tmpfs, read straight into the slot (no SharedArrayBuffer across
// processes in Node). The files are unlinked as soon as the child has opened them, so nothing is
// left behind even if the parent dies; a child exits when its channel closes.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, read, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Item, Sample } from '../types.ts';
import type { PipelineSpec } from '../pipeline/spec.ts';
import { fromWire, type FromChild, type ToChild } from './protocol.ts';

interface Pending {
  out?: Float32Array;
  /** the in-flight slot (file) the image comes back through */
  slot?: number;
  resolve: (item: Item) => void;
  reject: (e: Error) => void;
}

interface Child {
  proc: ChildProcess;
  /** free in-flight slots (indices into fds) */
  free: number[];
  /** this parent's read descriptors of the slot files */
  fds: number[];
  busy: number;
  ready: Promise<void>;
  exited: Promise<void>;
  /** ids of the items this child is working on */
  pending: Map<number, Pending>;
}

/** tmpfs where there is one (Linux /dev/shm): the slot files then never touch a disk. */
function slotDir(): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  try {
    return mkdtempSync(join(base, 'ssmv-data-'));
  } catch {
    return mkdtempSync(join(tmpdir(), 'ssmv-data-'));
  }
}

/**
 * Reads a slot file into `out` on the libuv threadpool: the kernel's copy (and the page faults of
 * a freshly allocated batch buffer) then cost a pool thread, not the loader's main thread.
 */
function readInto(fd: number, out: Float32Array): Promise<void> {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      if (done === bytes.length) return resolve();
      read(fd, bytes, done, bytes.length - done, done, (err, n) => {
        if (err) reject(err);
        else if (n === 0) reject(new Error(`data worker process: slot file ended after ${done} of ${bytes.length} bytes`));
        else step(done + n);
      });
    };
    step(0);
  });
}

export class ProcessPool {
  private readonly children: Child[] = [];
  private readonly queue: Array<{ id: number; samples: Sample[]; rng: number[]; out?: Float32Array }> = [];
  private nextId = 0;
  private broken: Error | null = null;
  private closed = false;
  /** items sent to a child and not yet back */
  private active = 0;
  /** queued items (not yet sent to a child) by id */
  private readonly waiting = new Map<number, Pending>();
  private readonly dir: string;
  private readyCount = 0;
  /** rejects once the pool breaks (a child crashed or exited): ready() must not wait forever */
  private readonly failed: Promise<never>;
  private rejectBroken!: (e: Error) => void;

  constructor(readonly size: number, spec: PipelineSpec, readonly inFlight = 2) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`ProcessPool: size must be a positive integer, got ${size}`);
    if (!Number.isInteger(inFlight) || inFlight < 1) throw new Error(`ProcessPool: inFlight must be a positive integer, got ${inFlight}`);
    // tsx registered through its API (bin/ssmv.mjs) or --import is not something a child can rely
    // on inheriting: child-entry.mjs registers it, as entry.mjs does for threads
    const entry = new URL('./child-entry.mjs', import.meta.url);
    const execArgv = process.execArgv.filter((a, i, all) => !/tsx/.test(a) && !(a === '--import' && /tsx/.test(all[i + 1] ?? '')));
    const env = { ...process.env, UV_THREADPOOL_SIZE: String(inFlight) };
    this.failed = new Promise<never>((_, reject) => (this.rejectBroken = reject));
    this.failed.catch(() => {}); // observed by ready() only
    this.dir = slotDir();
    for (let k = 0; k < size; k++) {
      const files = Array.from({ length: inFlight }, (_, s) => join(this.dir, `w${k}-s${s}`));
      const fds = files.map((f) => openSync(f, 'w+'));
      const proc = fork(entry, [], { execArgv, env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let onReady!: () => void;
      const child: Child = {
        proc, fds, free: files.map((_, s) => s), busy: 0, pending: new Map(),
        ready: new Promise<void>((r) => (onReady = r)),
        exited: new Promise<void>((r) => proc.once('exit', () => r())),
      };
      proc.on('message', (m: FromChild) => this.onMessage(child, m, onReady, files));
      proc.on('error', (e) => this.fail(new Error(`data worker process ${k} failed: ${e.message}`)));
      proc.on('exit', (code, signal) => {
        if (!this.closed) this.fail(new Error(`data worker process ${k} exited with ${signal ?? `code ${code}`}`));
      });
      proc.send({ type: 'init', spec, files } satisfies ToChild);
      this.children.push(child);
    }
    this.setRef();
  }

  private onMessage(child: Child, m: FromChild, onReady: () => void, files: string[]): void {
    if (m.type === 'ready') {
      for (const f of files) rmSync(f, { force: true }); // the child holds them open: nothing to clean up later
      if (++this.readyCount === this.size) rmSync(this.dir, { recursive: true, force: true });
      onReady();
      return;
    }
    const p = child.pending.get(m.id);
    if (!p) return;
    child.pending.delete(m.id);
    if (m.type === 'fail') {
      this.release(child, p);
      p.reject(fromWire(m.error, 'a data worker process'));
    } else if (!m.inPlace) {
      this.release(child, p);
      p.resolve(m.item);
    } else {
      // the slot file is free for this child's next item only once it has been read
      const item = m.item;
      readInto(child.fds[p.slot!], p.out!).then(
        () => {
          this.release(child, p);
          p.resolve({ ...item, image: p.out! } as Item);
        },
        (e: Error) => {
          this.release(child, p);
          p.reject(e);
        },
      );
    }
  }

  private release(child: Child, p: Pending): void {
    child.busy--;
    this.active--;
    if (p.slot !== undefined) child.free.push(p.slot);
    if (this.closed) return;
    this.setRef();
    this.pump();
  }

  /** Idle children must not keep the parent alive; busy ones must (the caller awaits them). */
  private setRef(): void {
    const busy = this.active > 0 || this.queue.length > 0;
    for (const c of this.children) {
      if (busy) {
        c.proc.ref();
        c.proc.channel?.ref();
      } else {
        c.proc.unref();
        c.proc.channel?.unref();
      }
    }
  }

  /** Rejects every item in flight or queued with `e` and forgets them. */
  private rejectAll(e: Error): void {
    for (const c of this.children) {
      for (const p of c.pending.values()) p.reject(e);
      c.pending.clear();
    }
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
    this.queue.length = 0;
  }

  private fail(e: Error): void {
    if (this.broken) return;
    this.broken = e;
    this.rejectBroken(e);
    this.rejectAll(e);
  }

  private pump(): void {
    while (this.queue.length) {
      let best: Child | null = null;
      for (const c of this.children) if (c.busy < this.inFlight && (!best || c.busy < best.busy)) best = c;
      if (!best) return;
      const job = this.queue.shift()!;
      const p = this.waiting.get(job.id)!;
      this.waiting.delete(job.id);
      best.busy++;
      this.active++;
      if (job.out) p.slot = best.free.pop();
      best.pending.set(job.id, p);
      const m: ToChild = { type: 'run', id: job.id, samples: job.samples, rng: job.rng };
      if (job.out) Object.assign(m, { slot: p.slot, length: job.out.length });
      best.proc.send(m);
    }
  }

  /**
   * Runs one item: `samples` = [sample, ...partners], `rng` = the per-item generator state. `out`
   * (any Float32Array: the item's batch slot) is where a pipeline that writes its image into a
   * given buffer has it copied; the item then comes back with `image === out`.
   */
  run(samples: Sample[], rng: number[], out?: Float32Array): Promise<Item> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error('ProcessPool is closed'));
    const id = this.nextId++;
    return new Promise<Item>((resolve, reject) => {
      this.waiting.set(id, { out, resolve, reject });
      this.queue.push({ id, samples, rng, out });
      this.pump();
      this.setRef();
    });
  }

  /** Waits until every child has built its pipeline (startup cost, e.g. before timing). */
  async ready(): Promise<void> {
    for (const c of this.children) {
      c.proc.ref();
      c.proc.channel?.ref();
    }
    try {
      await Promise.race([Promise.all(this.children.map((c) => c.ready)), this.failed]);
    } finally {
      this.setRef();
    }
  }

  /** Process ids of the children (for tests: none must outlive close()). */
  get pids(): number[] {
    return this.children.map((c) => c.proc.pid!).filter((p) => p !== undefined);
  }

  /** Ends every child and waits for it to exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const e = new Error('ProcessPool closed');
    this.rejectAll(e);
    await Promise.all(
      this.children.map((c) => {
        if (c.proc.exitCode === null && c.proc.signalCode === null) {
          c.proc.ref();
          c.proc.kill('SIGTERM');
        }
        return c.exited;
      }),
    );
    for (const c of this.children) for (const fd of c.fds) closeSync(fd);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
