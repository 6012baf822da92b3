// DataLoader: per-epoch seeded order, sharding, batches prepared `prefetch` batches ahead on a pool
// of worker processes or threads (or in this thread with workers = 0) so decoding overlaps the
// training step.
// Every item draws from its own generator seeded by (seed, epoch, sample index), so the batches are
// identical whichever path or worker made them. A sample that cannot be loaded (missing file,
// corrupt or truncated image) is skipped — the batch comes out smaller (a batch left empty is not
// yielded) — counted, and reported at the end of the epoch; `strict` makes it fatal.
import { Rng } from '../core/rng.ts';
import { SampleError } from './common.ts';
import { collate } from './collate.ts';
import { configureSharp } from './io/decode.ts';
import { buildPipeline, fixedOutputSize, type Pipeline } from './pipeline/index.ts';
import type { PipelineSpec } from './pipeline/spec.ts';
import { epochIndices, mixSeed, toBatches } from './sampler.ts';
import { Mixup, type MixupOptions } from './transforms/mixup.ts';
import type { Batch, BatchInfo, Dataset, Item, Sample } from './types.ts';
import { defaultWorkers, WorkerPool } from './worker/pool.ts';
import { ProcessPool } from './worker/pool-process.ts';
import { defaultWorkerKind, type WorkerKind } from './worker/kind.ts';

export interface LoaderOptions {
  dataset: Dataset;
  pipeline: PipelineSpec;
  batchSize: number;
  /** reshuffle every epoch (default false) */
  shuffle?: boolean;
  seed?: number;
  /** drop the last partial batch; when sharding, truncate instead of pad (default false) */
  dropLast?: boolean;
  rank?: number;
  worldSize?: number;
  /** workers (processes or threads); 0 runs the pipeline in this thread (default: one per core) */
  workers?: number;
  /**
   * 'process': child processes (sharp scales across processes, not across the threads of one);
   * 'thread': worker threads of this process. Same batches either way. Default: defaultWorkerKind().
   */
  workerKind?: WorkerKind;
  /**
   * items each worker works on at once (one decoding while another transforms). Default 2 for
   * threads, 3 for processes (16-core Xeon, 15 processes: 1,460-1,490 / 1,480-1,580 / 1,780
   * images/s with 1 / 2 / 3).
   */
  inFlightPerWorker?: number;
  /** batches prepared ahead of the one being consumed (default 2) */
  prefetch?: number;
  /** a sample that cannot be loaded is an error instead of being skipped (default false) */
  strict?: boolean;
  /** batch-level Mixup/CutMix (classification) */
  mixup?: MixupOptions;
  /** where the end-of-epoch report of skipped samples goes (default: process warning) */
  onReport?: (report: EpochReport) => void;
}

export interface SkippedSample {
  index: number;
  file: string;
  reason: string;
}

export interface EpochReport {
  epoch: number;
  batches: number;
  loaded: number;
  skipped: SkippedSample[];
  seconds: number;
}

type Outcome = { ok: true; item: Item } | { ok: false; error: Error };

export function formatReport(r: EpochReport): string {
  const head = `epoch ${r.epoch}: skipped ${r.skipped.length} of ${r.loaded + r.skipped.length} samples`;
  const byReason = new Map<string, number>();
  for (const s of r.skipped) {
    const k = s.reason.startsWith('cannot decode') ? 'cannot decode' : s.reason;
    byReason.set(k, (byReason.get(k) ?? 0) + 1);
  }
  const reasons = [...byReason].map(([k, n]) => `${n} ${k}`).join(', ');
  const first = r.skipped.slice(0, 5).map((s) => `  ${s.file}: ${s.reason}`).join('\n');
  return `${head} (${reasons})\n${first}${r.skipped.length > 5 ? `\n  ... ${r.skipped.length - 5} more` : ''}`;
}

export class DataLoader {
  readonly dataset: Dataset;
  private readonly o: Required<Omit<LoaderOptions, 'mixup' | 'onReport'>> & Pick<LoaderOptions, 'onReport'>;
  private readonly pipe: Pipeline;
  private readonly mixup: Mixup | null;
  private pool: WorkerPool | ProcessPool | null = null;
  private nextEpoch = 0;
  /** report of the last finished epoch */
  lastReport: EpochReport | null = null;

  constructor(options: LoaderOptions) {
    this.dataset = options.dataset;
    this.o = {
      shuffle: false, seed: 0, dropLast: false, rank: 0, worldSize: 1, workers: defaultWorkers(),
      prefetch: 2, strict: false, ...options,
      workerKind: options.workerKind ?? defaultWorkerKind(),
      inFlightPerWorker: options.inFlightPerWorker ?? ((options.workerKind ?? defaultWorkerKind()) === 'process' ? 3 : 2),
    };
    if (!Number.isInteger(this.o.workers) || this.o.workers < 0) throw new Error(`workers must be an integer >= 0, got ${this.o.workers}`);
    if (this.o.workerKind !== 'thread' && this.o.workerKind !== 'process') throw new Error(`workerKind must be 'thread' or 'process', got '${this.o.workerKind}'`);
    if (!Number.isInteger(this.o.prefetch) || this.o.prefetch < 0) throw new Error(`prefetch must be an integer >= 0, got ${this.o.prefetch}`);
    this.pipe = buildPipeline(options.pipeline);
    this.mixup = options.mixup ? new Mixup(options.mixup) : null;
    if (this.mixup && !options.pipeline.kind.startsWith('classify')) throw new Error('Mixup/CutMix applies to classification pipelines only');
    configureSharp();
  }

  private sampler() {
    const o = this.o;
    return { length: this.dataset.samples.length, shuffle: o.shuffle, seed: o.seed, rank: o.rank, worldSize: o.worldSize, dropLast: o.dropLast };
  }

  /** Batches per epoch on this rank (before any batch is lost to skipped samples). */
  get length(): number {
    const { worldSize: w, dropLast, batchSize } = this.o;
    const n = this.dataset.samples.length;
    const perRank = w === 1 ? n : dropLast ? Math.floor(n / w) : Math.ceil(n / w);
    return dropLast ? Math.floor(perRank / batchSize) : Math.ceil(perRank / batchSize);
  }

  /** Sample indices of every batch of `epoch` on this rank (the order the batches will have). */
  batchIndices(epoch: number): Int32Array[] {
    return toBatches(epochIndices(this.sampler(), epoch), this.o.batchSize, this.o.dropLast);
  }

  /** `out`: the item's slot in the batch buffer (shared memory when workers write it). */
  private async runItem(index: number, epoch: number, out?: Float32Array): Promise<Outcome> {
    const samples = this.dataset.samples;
    const rng = new Rng(mixSeed(this.o.seed, epoch, index, 0x17e3));
    const group: Sample[] = [samples[index]];
    const k = this.pipe.partners(rng);
    for (let j = 0; j < k; j++) group.push(samples[rng.int(samples.length)]);
    try {
      if (this.o.workers > 0) {
        return { ok: true, item: await this.startPool().run(group, rng.getState(), out) };
      }
      return { ok: true, item: await this.pipe.run(group, rng, out) };
    } catch (e) {
      return { ok: false, error: e as Error };
    }
  }

  private startPool(): WorkerPool | ProcessPool {
    const { workers, workerKind, inFlightPerWorker } = this.o;
    this.pool ??= workerKind === 'process' ? new ProcessPool(workers, this.pipe.spec, inFlightPerWorker) : new WorkerPool(workers, this.pipe.spec, inFlightPerWorker);
    return this.pool;
  }

  /** Process ids of the worker processes now running (empty with threads or in-process). */
  get workerPids(): number[] {
    return this.pool instanceof ProcessPool ? this.pool.pids : [];
  }

  private async makeBatch(indices: Int32Array, epoch: number, b: number): Promise<{ batch: Batch; skipped: SkippedSample[] }> {
    // With a fixed output size, items are normalised straight into their slot of the batch's image
    // buffer (shared memory when worker threads write it; worker processes' images are read into
    // it): no per-item array, no transfer, no copy when collating — on the main thread those cost
    // more than the rest of its work.
    const hw = fixedOutputSize(this.pipe.spec);
    const px = hw ? hw[0] * hw[1] * 3 : 0;
    const shared = this.o.workers > 0 && this.o.workerKind === 'thread';
    const into = hw ? new Float32Array(shared ? new SharedArrayBuffer(indices.length * px * 4) : new ArrayBuffer(indices.length * px * 4)) : undefined;
    const outcomes = await Promise.all(Array.from(indices, (i, k) => this.runItem(i, epoch, into?.subarray(k * px, (k + 1) * px))));
    const items: Item[] = [], info: BatchInfo[] = [], bad: number[] = [], skipped: SkippedSample[] = [];
    outcomes.forEach((r, k) => {
      const s = this.dataset.samples[indices[k]];
      if (r.ok) {
        items.push(r.item);
        info.push({ index: s.index, id: s.id, file: s.file, sourceSize: r.item.sourceSize, affine: r.item.affine });
        return;
      }
      if (!(r.error instanceof SampleError) || this.o.strict) throw r.error;
      bad.push(s.index);
      skipped.push({ index: s.index, file: r.error.file, reason: r.error.reason });
    });
    const batch = collate(items, info, bad, into);
    if (this.mixup && items.length) this.mixup.apply(batch, new Rng(mixSeed(this.o.seed, epoch, b, 0x313)));
    return { batch, skipped };
  }

  /** The batches of `epoch` from batch `start` on (resume mid-epoch), prepared `prefetch` ahead. */
  async *epoch(epoch: number, start = 0): AsyncGenerator<Batch> {
    const t0 = performance.now();
    const batches = this.batchIndices(epoch);
    const skipped: SkippedSample[] = [];
    const started: Array<Promise<{ batch: Batch; skipped: SkippedSample[] }>> = [];
    const begin = (b: number) => {
      if (b < batches.length && !started[b]) {
        const p = this.makeBatch(batches[b], epoch, b);
        p.catch(() => {}); // surfaced when awaited; never an unhandled rejection if the consumer stops early
        started[b] = p;
      }
    };
    let loaded = 0;
    for (let b = start; b < batches.length; b++) {
      for (let k = b; k <= b + this.o.prefetch; k++) begin(k);
      const { batch, skipped: lost } = await started[b];
      skipped.push(...lost);
      loaded += batch.shape[0];
      if (batch.shape[0]) yield batch; // every sample of it was skipped: nothing to train on
    }
    this.lastReport = { epoch, batches: batches.length, loaded, skipped, seconds: (performance.now() - t0) / 1000 };
    if (skipped.length) {
      if (this.o.onReport) this.o.onReport(this.lastReport);
      else process.emitWarning(formatReport(this.lastReport));
    } else this.o.onReport?.(this.lastReport);
    this.nextEpoch = epoch + 1;
  }

  /** `for await (const batch of loader)` runs the next epoch. */
  [Symbol.asyncIterator](): AsyncGenerator<Batch> {
    return this.epoch(this.nextEpoch);
  }

  /** Starts the workers now (so their start-up is not timed with the first batch). */
  async warmup(): Promise<void> {
    if (this.o.workers > 0) {
      await this.startPool().ready();
    }
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}
