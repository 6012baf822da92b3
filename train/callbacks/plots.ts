// Plots of the run, rendered without a browser (core/plot): loss.png (train/val, EMA), accuracy.png
// (top-1/top-5, EMA), lr.png (the whole schedule, the part done solid) and results.png (all three).
import { join } from 'node:path';
import { lineChart, gridOf, writePng, type Series } from '../../core/plot/index.ts';
import type { Callback, EpochMetrics, Trainer } from '../trainer.ts';
import { lrAt, type LrSchedule } from '../schedule.ts';

export function renderPlots(dir: string, history: readonly EpochMetrics[], lr?: { schedule: LrSchedule; totalSteps: number; stepsPerEpoch: number; step: number }): string[] {
  const x = history.map((m) => m.epoch);
  const col = (k: string) => history.map((m) => m[k] ?? NaN);
  const has = (k: string) => history.some((m) => Number.isFinite(m[k]));
  const pick = (defs: Array<[string, string, Partial<Series>?]>) => defs.filter(([k]) => has(k)).map(([k, name, extra]) => ({ name, x, y: col(k), ...extra }));
  const size = { width: 640, height: 400 };
  const panels = [];
  const written: string[] = [];
  const loss = pick([['train/loss', 'train/loss'], ['val/loss', 'val/loss'], ['val/loss_ema', 'val/loss (EMA)', { dash: [6, 4] }]]);
  if (loss.length) {
    const c = lineChart(loss, { ...size, title: 'loss', xLabel: 'epoch' });
    writePng(join(dir, 'loss.png'), c);
    panels.push(c);
    written.push('loss.png');
  }
  const acc = pick([
    ['metrics/accuracy_top1', 'top-1'], ['metrics/accuracy_top5', 'top-5'],
    ['metrics/accuracy_top1_ema', 'top-1 (EMA)', { dash: [6, 4] }], ['metrics/accuracy_top5_ema', 'top-5 (EMA)', { dash: [6, 4] }],
  ]).map((s) => ({ ...s, y: s.y.map((v) => v * 100) }));
  if (acc.length) {
    const c = lineChart(acc, { ...size, title: 'val accuracy (%)', xLabel: 'epoch', legend: 'bottom-right', yMax: 100 });
    writePng(join(dir, 'accuracy.png'), c);
    panels.push(c);
    written.push('accuracy.png');
  }
  if (lr && lr.totalSteps > 0) {
    // the schedule at <= 800 points, in epochs; done part solid, rest dashed
    const n = Math.min(800, lr.totalSteps);
    const steps = Array.from({ length: n }, (_, i) => Math.round((i * (lr.totalSteps - 1)) / Math.max(1, n - 1)));
    const ex = steps.map((t) => t / lr.stepsPerEpoch);
    const ey = steps.map((t) => lrAt(lr.schedule, t));
    let last = -1; // last point already trained
    steps.forEach((t, i) => { if (t <= lr.step) last = i; });
    const series: Series[] = [{ name: 'done', x: ex, y: ey.map((v, i) => (i <= last ? v : NaN)), markers: 0 }];
    if (last < n - 1) series.push({ name: 'to come', x: ex, y: ey.map((v, i) => (i >= last ? v : NaN)), dash: [6, 4], markers: 0, color: '#999999' });
    const c = lineChart(series, { ...size, title: 'learning rate', xLabel: 'epoch' });
    writePng(join(dir, 'lr.png'), c);
    panels.push(c);
    written.push('lr.png');
  }
  if (panels.length) {
    writePng(join(dir, 'results.png'), gridOf(panels, 3));
    written.push('results.png');
  }
  return written;
}

export class PlotsCallback implements Callback {
  readonly name = 'plots';
  constructor(readonly dir: string, readonly totalSteps: number) {}

  onEpochEnd(tr: Trainer): void {
    renderPlots(this.dir, tr.state.history, { schedule: tr.opts.schedule, totalSteps: this.totalSteps, stepsPerEpoch: tr.updatesPerEpoch, step: tr.state.step });
  }
}
