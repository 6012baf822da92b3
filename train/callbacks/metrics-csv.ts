// metrics.csv: one row per epoch, ultralytics' column names (epoch, time, train/loss,
// metrics/accuracy_top1, metrics/accuracy_top5, val/loss, lr/pg0, + the EMA's and the grad norm).
// Rewritten whole (atomically) from the trainer's history, so a resumed run keeps earlier rows.
import { join } from 'node:path';
import type { Callback, EpochMetrics, Trainer } from '../trainer.ts';
import { writeFileAtomic } from '../checkpoint.ts';

const ORDER = ['epoch', 'time', 'train/loss', 'metrics/accuracy_top1', 'metrics/accuracy_top5', 'val/loss', 'metrics/accuracy_top1_ema', 'metrics/accuracy_top5_ema', 'val/loss_ema', 'train/grad_norm', 'lr/pg0'];

export function metricsCsv(rows: readonly EpochMetrics[]): string {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) keys.add(k);
  const cols = [...ORDER.filter((k) => keys.has(k)), ...[...keys].filter((k) => !ORDER.includes(k)).sort()];
  const fmt = (k: string, v: number | undefined) => (v === undefined ? '' : k === 'epoch' ? String(v) : Number.isFinite(v) ? String(+v.toPrecision(7)) : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((k) => fmt(k, r[k])).join(','))].join('\n') + '\n';
}

export class MetricsCsvCallback implements Callback {
  readonly name = 'metrics-csv';
  constructor(readonly dir: string) {}

  onEpochEnd(tr: Trainer): void {
    writeFileAtomic(join(this.dir, 'metrics.csv'), metricsCsv(tr.state.history));
  }
}
