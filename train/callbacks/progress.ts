// Progress per epoch: images/s, ETA, loss (as of the last read), lr. On a TTY one line redrawn in
// place (at most 10 times a second); otherwise a plain line every `plainEvery` seconds. Every epoch
// ends with a summary line (also written to the log file).
import type { Callback, EpochMetrics, StepInfo, StopReason, Trainer } from '../trainer.ts';
import type { RunLog } from './log.ts';

export interface ProgressOptions {
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  tty?: boolean;
  plainEvery?: number;
  log?: RunLog;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  const mm = String(m).padStart(2, '0'), ss = String(sec).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | undefined, d = 4) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** the one-line summary of an epoch row */
export function epochSummary(m: EpochMetrics, epochs: number, best: boolean): string {
  const parts = [`epoch ${m.epoch}/${epochs}`, `train/loss ${num(m['train/loss'])}`];
  if (m['val/loss'] !== undefined) parts.push(`val/loss ${num(m['val/loss'])}`, `top1 ${pct(m['metrics/accuracy_top1'])}`, `top5 ${pct(m['metrics/accuracy_top5'])}`);
  if (m['metrics/accuracy_top1_ema'] !== undefined) parts.push(`ema top1 ${pct(m['metrics/accuracy_top1_ema'])}`);
  parts.push(`lr ${m['lr/pg0']?.toExponential(2)}`, `${formatDuration(m.time)}`);
  return parts.join('  ') + (best ? '  *best' : '');
}

export class ProgressCallback implements Callback {
  readonly name = 'progress';
  private readonly out: NonNullable<ProgressOptions['out']>;
  private readonly tty: boolean;
  private epochStart = 0;
  private startBatch = 0;
  private images = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly o: ProgressOptions = {}) {
    this.out = o.out ?? process.stderr;
    this.tty = o.tty ?? Boolean(this.out.isTTY);
  }

  onEpochStart(tr: Trainer): void {
    this.startBatch = tr.state.batch; // > 0 when resumed mid-epoch
    this.epochStart = performance.now();
    this.images = 0;
    this.lastDraw = this.tty ? 0 : performance.now();
  }

  onBatchEnd(tr: Trainer, s: StepInfo): void {
    this.images += s.images;
    const now = performance.now();
    const nb = tr.opts.train.batchesPerEpoch;
    const finished = s.batch >= nb;
    if (this.tty ? now - this.lastDraw < 100 && !finished : now - this.lastDraw < (this.o.plainEvery ?? 10) * 1000) return;
    this.lastDraw = now;
    const line = this.line(tr, s, now);
    if (this.tty) {
      const width = Math.max(20, (this.out.columns ?? 100) - 1);
      this.out.write(`\r${line.slice(0, width).padEnd(Math.min(width, line.length))}\x1b[K`);
      this.drawn = true;
    } else this.out.write(line + '\n');
  }

  private line(tr: Trainer, s: StepInfo, now: number): string {
    const nb = tr.opts.train.batchesPerEpoch;
    const secs = (now - this.epochStart) / 1000;
    const done = s.batch;
    const rate = this.images / Math.max(1e-9, secs);
    const eta = ((nb - done) * secs) / Math.max(1, done - this.startBatch);
    const barW = 20;
    const fill = Math.round((done / nb) * barW);
    const bar = '='.repeat(Math.max(0, fill - 1)) + (fill ? (done >= nb ? '=' : '>') : '') + ' '.repeat(barW - fill);
    const e = `${tr.state.epoch + 1}/${tr.opts.epochs}`;
    return `${e.padStart(7)} [${bar}] ${String(done).padStart(String(nb).length)}/${nb}  ${rate.toFixed(1)} img/s  eta ${formatDuration(eta)}  loss ${num(tr.lastLoss)}  lr ${s.lr.toExponential(2)}`;
  }

  onEpochEnd(tr: Trainer, m: EpochMetrics): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
    const line = epochSummary(m, tr.opts.epochs, tr.isBest(m));
    this.out.write(line + '\n');
    this.o.log?.file(line);
  }

  onTrainEnd(tr: Trainer, reason: StopReason): void {
    if (this.tty && this.drawn) this.out.write('\n');
    this.drawn = false;
    if (reason !== 'completed' && tr.stopMessage) {
      this.out.write(`${reason === 'nan' ? 'stopped' : reason}: ${tr.stopMessage}\n`);
      this.o.log?.file(`${reason}: ${tr.stopMessage}`);
    }
  }
}
