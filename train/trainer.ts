// The training loop (nanoGPT's shape, ultralytics' event names): epochs of optimizer updates, each
// made of `accum` micro-batches; lr from the schedule per update; global-norm clipping; validation at
// the end of every epoch. Everything else (EMA, checkpoints, CSV/log, plots, progress bar, Ctrl-C)
// is a callback on the named events:
//   onTrainStart -> [onEpochStart -> onBatchEnd* -> onValEnd -> onEpochEnd]* -> onTrainEnd
// onValEnd may add columns to the epoch row (the EMA's metrics); the row is then recorded (best
// metric decided) and onEpochEnd callbacks read it (checkpoints, CSV, plots).
// GPU->CPU syncs: the losses (and grad norms) are read every `logInterval` updates and at the end of
// each epoch, all pending values in one read; validation reads once. Nothing else blocks.
import { tf, type Tensor } from '../core/tf.ts';
import { globalRng, type Rng } from '../core/rng.ts';
import type { Batch } from '../datasets/types.ts';
import type { BatchSource } from './data.ts';
import type { Optimizer } from './optim/optimizer.ts';
import { clipGradNorm } from './optim/clip.ts';
import { ParamGrads, addGradsInto } from './param-grads.ts'; // core/autograd variableGrads, keyed by parameter name
import { lrAt, type LrSchedule } from './schedule.ts';
import { crossEntropy, softTargetCrossEntropy } from './loss.ts';
import { evaluate, type Classifier, type EvalResult } from './evaluate.ts';
import type { Module } from '../core/nn/module.ts';
import type { RunLog } from './callbacks/log.ts';

type Awaitable = void | Promise<void>;

/** What onBatchEnd sees after each optimizer update. */
export interface StepInfo {
  epoch: number;
  /** batches of this epoch done (micro-batches) */
  batch: number;
  /** optimizer updates done in total */
  step: number;
  lr: number;
  /** images in this update */
  images: number;
}

/** One row of metrics.csv (ultralytics classify names; accuracies are fractions). */
export type EpochMetrics = Record<string, number>;

export type StopReason = 'completed' | 'interrupted' | 'nan' | 'error';

export interface Callback {
  name: string;
  onTrainStart?(tr: Trainer): Awaitable;
  onEpochStart?(tr: Trainer): Awaitable;
  onBatchEnd?(tr: Trainer, s: StepInfo): Awaitable;
  /** after validation of the model; may add columns to `m` */
  onValEnd?(tr: Trainer, m: EpochMetrics): Awaitable;
  onEpochEnd?(tr: Trainer, m: EpochMetrics): Awaitable;
  onTrainEnd?(tr: Trainer, reason: StopReason): Awaitable;
}

/** Everything needed to continue exactly (stored in the checkpoint's JSON). */
export interface TrainState {
  /** epoch in progress (0-based); after the last epoch, == epochs */
  epoch: number;
  /** batches of `epoch` already consumed */
  batch: number;
  /** optimizer updates done */
  step: number;
  /** sum of per-update mean losses and the number of updates of the epoch in progress */
  epochLossSum: number;
  epochLossCount: number;
  bestMetric: number;
  bestEpoch: number;
  history: EpochMetrics[];
  /** training seconds before this process (resume) */
  elapsed: number;
}

/**
 * A task other than classification (detection, segmentation: train/detect.ts, train/segment.ts): how a
 * batch becomes a loss and what validation reports. `prepare` runs before the taped forward and may
 * read the device (proposals, targets); `loss` runs inside variableGrads (core/autograd.ts; synchronous).
 */
export interface TaskHooks {
  prepare?(batch: Batch): Promise<unknown>;
  loss(batch: Batch, prepared: unknown): tf.Scalar;
  /** columns of the epoch row (replaces the classification validation) */
  validate?(): Promise<EpochMetrics>;
  /** checkpoint selection metric (default: classification's fitness) */
  fitness?(m: EpochMetrics): number;
}

export interface TrainerOptions {
  /** a Classifier, unless `task` says how to compute the loss */
  model: Module;
  task?: TaskHooks;
  optimizer: Optimizer;
  schedule: LrSchedule;
  train: BatchSource;
  val?: BatchSource;
  epochs: number;
  /** micro-batches per optimizer update */
  accum?: number;
  /** max global grad norm (0 = off) */
  clipGrad?: number;
  /** label smoothing for hard labels (soft targets carry their own) */
  smoothing?: number;
  /** updates between loss reads */
  logInterval?: number;
  callbacks?: Callback[];
  rng?: Rng;
}

export class Trainer {
  readonly model: Module;
  readonly optimizer: Optimizer;
  readonly callbacks: Callback[];
  readonly accum: number;
  readonly updatesPerEpoch: number;
  state: TrainState = { epoch: 0, batch: 0, step: 0, epochLossSum: 0, epochLossCount: 0, bestMetric: -Infinity, bestEpoch: -1, history: [], elapsed: 0 };
  stopReason: StopReason | null = null;
  stopMessage = '';
  /** last loss read from the device (mean over the updates since the previous read) */
  lastLoss = NaN;
  lastGradNorm = NaN;
  /** running mean loss of the epoch so far (as of the last read) */
  get epochLoss(): number {
    return this.state.epochLossCount ? this.state.epochLossSum / this.state.epochLossCount : NaN;
  }
  private pending: Array<{ loss: Tensor; norm: Tensor }> = [];
  private readonly paramGrads: ParamGrads;
  private startTime = 0;

  constructor(readonly opts: TrainerOptions) {
    this.model = opts.model;
    this.optimizer = opts.optimizer;
    this.callbacks = opts.callbacks ?? [];
    this.accum = Math.max(1, opts.accum ?? 1);
    this.updatesPerEpoch = Math.ceil(opts.train.batchesPerEpoch / this.accum);
    this.paramGrads = new ParamGrads(opts.optimizer.groups);
  }

  get rng(): Rng {
    return this.opts.rng ?? globalRng;
  }

  lr(step = this.state.step): number {
    return lrAt(this.opts.schedule, step);
  }

  /** seconds of training so far, including time before a resume */
  get elapsed(): number {
    return this.state.elapsed + (this.startTime ? (performance.now() - this.startTime) / 1000 : 0);
  }

  /** Asks the loop to stop after the current update (Ctrl-C, time limits, callbacks). */
  requestStop(reason: StopReason, message = ''): void {
    if (!this.stopReason) {
      this.stopReason = reason;
      this.stopMessage = message;
    }
  }

  async fit(): Promise<StopReason> {
    this.startTime = performance.now();
    const st = this.state;
    await this.emit('onTrainStart');
    try {
      while (st.epoch < this.opts.epochs && !this.stopReason) {
        if (st.batch === 0) { st.epochLossSum = 0; st.epochLossCount = 0; }
        await this.emit('onEpochStart');
        await this.trainEpoch();
        await this.flush(); // GPU->CPU sync: the epoch's remaining losses
        if (this.stopReason) break;
        const metrics = await this.endOfEpoch();
        await this.emit('onValEnd', metrics);
        this.record(metrics);
        await this.emit('onEpochEnd', metrics);
      }
    } catch (e) {
      this.requestStop('error', (e as Error).message);
      this.disposePending();
      await this.emit('onTrainEnd', 'error');
      throw e;
    }
    const reason = this.stopReason ?? 'completed';
    await this.emit('onTrainEnd', reason);
    return reason;
  }

  private async trainEpoch(): Promise<void> {
    const st = this.state;
    const o = this.opts;
    const nb = o.train.batchesPerEpoch;
    this.model.train();
    let group: Group | null = null;
    for await (const batch of o.train.batches(st.epoch, st.batch)) {
      // micro-batches of this update: accum, or what is left of the epoch (timm's last_accum_steps);
      // each micro-batch loss is divided by that count
      const size: number = group ? group.size : Math.min(this.accum, nb - st.batch);
      const prepared = o.task?.prepare ? await o.task.prepare(batch) : undefined;
      const { loss, grads } = this.microStep(batch, size, prepared);
      if (group) {
        group.grads = addGradsInto(group.grads, grads);
        group.loss = addScalar(group.loss, loss);
        group.images += batch.shape[0];
        group.done++;
      } else group = { grads, loss, images: batch.shape[0], size, done: 1 };
      st.batch++;
      if (group.done < group.size && st.batch < nb) continue;
      await this.update(group);
      group = null;
      if (this.stopReason) return;
    }
    // the source ended early (a loader that dropped an unloadable batch): apply what was accumulated
    if (group) await this.update(group);
  }

  /** clip, one optimizer update at the scheduled lr, queue the loss for the next read, onBatchEnd */
  private async update(g: Group): Promise<void> {
    const st = this.state;
    const lr = this.lr();
    const { grads: clipped, norm } = clipGradNorm(g.grads, this.opts.clipGrad ?? 0);
    for (const t of g.grads.values()) t.dispose();
    this.optimizer.step(clipped, lr);
    for (const t of clipped.values()) t.dispose();
    st.step++;
    this.pending.push({ loss: g.loss, norm });
    if (this.pending.length >= (this.opts.logInterval ?? 20)) await this.flush(); // GPU->CPU sync every logInterval updates
    await this.emit('onBatchEnd', { epoch: st.epoch, batch: st.batch, step: st.step, lr, images: g.images });
  }

  /** forward + backward of one micro-batch; the loss is divided by the micro-batches of its update */
  private microStep(batch: Batch, divisor: number, prepared?: unknown): { loss: Tensor; grads: Map<string, Tensor> } {
    const task = this.opts.task;
    if (task) {
      const { value, grads } = this.paramGrads.compute(() => {
        const l = task.loss(batch, prepared);
        return (divisor === 1 ? l : tf.div(l, divisor)) as tf.Scalar;
      });
      return { loss: value, grads };
    }
    const [B] = batch.shape;
    const x = tf.tensor4d(batch.images, batch.shape);
    const soft = batch.targets !== undefined;
    if (!soft && !batch.labels) throw new Error('training batch has neither labels nor soft targets');
    const y = soft ? tf.tensor2d(batch.targets!, [B, batch.targets!.length / B]) : tf.tensor1d(batch.labels!, 'int32');
    try {
      const { value, grads } = this.paramGrads.compute(() => {
        const logits = (this.model as Classifier).forward(x);
        const l = soft ? softTargetCrossEntropy(logits, y) : crossEntropy(logits, y, this.opts.smoothing ?? 0);
        return (divisor === 1 ? l : tf.div(l, divisor)) as tf.Scalar;
      });
      return { loss: value, grads };
    } finally {
      x.dispose();
      y.dispose();
    }
  }

  /** Reads every pending loss / grad norm in one transfer; stops the run on a non-finite loss. */
  async flush(): Promise<void> {
    if (!this.pending.length) return;
    const items = this.pending;
    this.pending = [];
    const packed = tf.tidy(() => tf.concat([tf.stack(items.map((p) => p.loss)), tf.stack(items.map((p) => p.norm))]));
    this.disposeItems(items);
    const vals = await packed.data(); // GPU->CPU sync (every logInterval updates / epoch end)
    packed.dispose();
    const n = items.length;
    const st = this.state;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(vals[i])) {
        const at = st.step - n + i + 1;
        // overrides a pending Ctrl-C: a NaN run must not save its weights
        this.stopReason = 'nan';
        this.stopMessage = `loss is ${vals[i]} at update ${at} (epoch ${st.epoch + 1}); stopping. The weights after it are not saved; the last good checkpoint is kept.`;
        return;
      }
      sum += vals[i];
    }
    st.epochLossSum += sum;
    st.epochLossCount += n;
    this.lastLoss = sum / n;
    this.lastGradNorm = vals[2 * n - 1];
  }

  private async endOfEpoch(): Promise<EpochMetrics> {
    const st = this.state;
    const m: EpochMetrics = { epoch: st.epoch + 1, time: this.elapsed, 'train/loss': this.epochLoss };
    if (this.opts.task?.validate) Object.assign(m, await this.opts.task.validate());
    else if (this.opts.val) {
      const r = await evaluate(this.model as Classifier, this.opts.val);
      Object.assign(m, evalColumns(r, ''));
    }
    m['train/grad_norm'] = this.lastGradNorm;
    m['lr/pg0'] = this.lr(Math.max(0, st.step - 1));
    st.epoch++;
    st.batch = 0;
    return m;
  }

  /** Records the epoch row and updates the best metric. */
  private record(m: EpochMetrics): void {
    const st = this.state;
    st.history.push(m);
    const fit = (this.opts.task?.fitness ?? fitness)(m);
    if (Number.isFinite(fit) && fit > st.bestMetric) {
      st.bestMetric = fit;
      st.bestEpoch = m.epoch;
    }
  }

  /** true when the row just recorded is the best so far */
  isBest(m: EpochMetrics): boolean {
    return this.state.bestEpoch === m.epoch;
  }

  private async emit<K extends keyof Omit<Callback, 'name'>>(event: K, ...args: unknown[]): Promise<void> {
    for (const cb of this.callbacks) {
      const fn = cb[event] as ((tr: Trainer, ...a: unknown[]) => Awaitable) | undefined;
      if (fn) await fn.call(cb, this, ...args);
    }
  }

  private disposeItems(items: Array<{ loss: Tensor; norm: Tensor }>): void {
    for (const p of items) { p.loss.dispose(); p.norm.dispose(); }
  }

  private disposePending(): void {
    this.disposeItems(this.pending);
    this.pending = [];
  }
}

/** the micro-batches of one optimizer update, summed on the device */
interface Group {
  grads: Map<string, Tensor>;
  loss: Tensor;
  images: number;
  /** micro-batches in this update, and how many are done */
  size: number;
  done: number;
}

/** fit() timed; `cleanup` (closing the loaders) runs however it ends; the end line goes to the run log */
export async function fitTimed(trainer: Trainer, log: RunLog, cleanup: () => Promise<void>): Promise<{ reason: StopReason; seconds: number }> {
  const t0 = performance.now();
  let reason: StopReason;
  try {
    reason = await trainer.fit();
  } finally {
    await cleanup();
  }
  const seconds = (performance.now() - t0) / 1000;
  log.file(`end: ${reason}${trainer.stopMessage ? ` (${trainer.stopMessage})` : ''} after ${seconds.toFixed(1)} s; tensors in memory ${tf.memory().numTensors}`);
  return { reason, seconds };
}

/** checkpoint selection metric: the best top-1 of the model or its EMA (VMamba tracks both) */
export function fitness(m: EpochMetrics): number {
  const a = m['metrics/accuracy_top1'];
  const b = m['metrics/accuracy_top1_ema'];
  if (a === undefined && b === undefined) return -(m['train/loss'] ?? Infinity);
  return Math.max(a ?? -Infinity, b ?? -Infinity);
}

export function evalColumns(r: EvalResult, suffix: '' | '_ema'): EpochMetrics {
  return {
    [`metrics/accuracy_top1${suffix}`]: r.top1,
    [`metrics/accuracy_top5${suffix}`]: r.top5,
    [`val/loss${suffix}`]: r.loss,
  };
}

function addScalar(a: Tensor, b: Tensor): Tensor {
  const s = tf.add(a, b);
  a.dispose();
  b.dispose();
  return s;
}
