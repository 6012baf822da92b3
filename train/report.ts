// Text the CLI prints after a run: the per-epoch table and where the results are.
import type { EpochMetrics } from './trainer.ts';
import type { ClassifyResult } from './classify.ts';
import type { BackendInfo } from '../core/backend.ts';
import { formatDuration } from './callbacks/progress.ts';

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : (v * 100).toFixed(2));
const fix = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4));

/** A fixed-width table; columns: epoch, train/loss, val/loss, top-1 %, top-5 %, EMA top-1 %, time. */
export function resultsTable(rows: readonly EpochMetrics[], bestEpoch = -1): string {
  const hasVal = rows.some((r) => r['val/loss'] !== undefined);
  const hasEma = rows.some((r) => r['metrics/accuracy_top1_ema'] !== undefined);
  const head = ['epoch', 'train/loss', ...(hasVal ? ['val/loss', 'top-1 %', 'top-5 %'] : []), ...(hasEma ? ['EMA top-1 %'] : []), 'time'];
  const body = rows.map((r) => [
    `${r.epoch}${r.epoch === bestEpoch ? '*' : ''}`, fix(r['train/loss']),
    ...(hasVal ? [fix(r['val/loss']), pct(r['metrics/accuracy_top1']), pct(r['metrics/accuracy_top5'])] : []),
    ...(hasEma ? [pct(r['metrics/accuracy_top1_ema'])] : []),
    formatDuration(r.time),
  ]);
  return alignedTable(head, body);
}

/** a fixed-width table: the first column left-aligned, the others right-aligned, two spaces apart */
export function alignedTable(head: readonly string[], body: readonly string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

/** the last summary line: wall time and the backend (with the GPU adapter) */
export function timeOnBackend(seconds: number, b: BackendInfo): string {
  return `${formatDuration(seconds)} on ${b.backend}${b.adapter ? ` (${b.adapter.description})` : ''}`;
}

export function runSummary(r: ClassifyResult): string {
  const lines = [resultsTable(r.history, r.best.epoch)];
  if (r.reason !== 'completed') lines.push(`stopped (${r.reason}): ${r.message}`);
  if (r.best.weights) lines.push(`best: epoch ${r.best.epoch}, top-1 ${(r.best.metric * 100).toFixed(2)}%${r.best.weights.endsWith('.ema.safetensors') ? ' (EMA)' : ''} -> ${r.best.weights}`);
  lines.push(`results in ${r.dir}: last.* (resume=${r.dir}/last), metrics.csv, ${r.config.plots ? 'loss.png accuracy.png lr.png results.png, ' : ''}train.log`);
  lines.push(timeOnBackend(r.seconds, r.backend));
  return lines.join('\n') + '\n';
}
