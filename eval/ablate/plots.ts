// The ablation's pictures (core/plot, no browser): accuracy against throughput (one point per scan,
// error bars = standard deviation over seeds), one bar chart per metric (with the same error bars),
// the ERF heat map of each scan (raw maps averaged over seeds, then scaled as the config says), and
// each scan's path on the first stage's map (scans/draw.ts).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Axes, Canvas, extent, formatNumber, gridOf, heatmap, seriesColor, writePng, type RGBA } from '../../core/plot/index.ts';
import { niceStep } from '../../core/plot/axes.ts';
import { drawPlans } from '../../scans/draw.ts';
import { scans } from '../../scans/index.ts';
import type { AblateConfig, ErfScale } from './config.ts';
import { NO_SCAN } from './config.ts';
import { scaleErf, erfAreaRatios } from './erf.ts';
import type { AblationRow, ScanSummary, Stat } from './results.ts';

const W = 640, H = 400;

export interface Point {
  label: string;
  x: Stat;
  y: Stat;
}

/** label of a (model, scan) in pictures: the scan, prefixed by the model when several are compared */
export function labelOf(s: { model: string; scan: string }, models: number): string {
  return models > 1 ? `${s.model}/${s.scan}` : s.scan;
}

function errorBar(c: Canvas, x0: number, y0: number, x1: number, y1: number, color: RGBA | string, cap: number, vertical: boolean): void {
  c.line(x0, y0, x1, y1, color, { width: 1.5 });
  if (vertical) {
    c.line(x0 - cap, y0, x0 + cap, y0, color, { width: 1.5 });
    c.line(x1 - cap, y1, x1 + cap, y1, color, { width: 1.5 });
  } else {
    c.line(x0, y0 - cap, x0, y0 + cap, color, { width: 1.5 });
    c.line(x1, y1 - cap, x1, y1 + cap, color, { width: 1.5 });
  }
}

/** Scatter with error bars in x and y and a label beside each point. */
export function scatterChart(points: readonly Point[], o: { title: string; xLabel: string; yLabel: string; width?: number; height?: number }): Canvas {
  const c = new Canvas(o.width ?? W, o.height ?? H, 'white');
  const xs = points.flatMap((p) => [p.x.mean - (p.x.std ?? 0), p.x.mean + (p.x.std ?? 0)]);
  const ys = points.flatMap((p) => [p.y.mean - (p.y.std ?? 0), p.y.mean + (p.y.std ?? 0)]);
  const [xlo, xhi] = extent(xs, { pad: 0.12 });
  const [ylo, yhi] = extent(ys, { pad: 0.12 });
  const ax = new Axes(c, { kind: 'linear', lo: xlo, hi: xhi }, { kind: 'linear', lo: ylo, hi: yhi }, { title: o.title, xLabel: o.xLabel, yLabel: o.yLabel });
  ax.drawFrame();
  points.forEach((p, i) => {
    const color = seriesColor(i);
    const px = ax.px(p.x.mean), py = ax.py(p.y.mean);
    if (p.y.std) errorBar(c, px, ax.py(p.y.mean - p.y.std), px, ax.py(p.y.mean + p.y.std), color, 4, true);
    if (p.x.std) errorBar(c, ax.px(p.x.mean - p.x.std), py, ax.px(p.x.mean + p.x.std), py, color, 4, false);
    c.fillCircle(px, py, 5, color);
    // labels alternate above and below their points, so neighbours at one height stay readable
    const right = px < (ax.x0 + ax.x1) / 2;
    const above = i % 2 === 0;
    c.text(px + (right ? 7 : -7), above ? py - 4 : py + 4, p.label, color, { scale: ax.s, baseline: above ? 'bottom' : 'top', align: right ? 'left' : 'right' });
  });
  return c;
}

/** One bar per label with its own colour, value labels and error bars (std over seeds). */
export function barsWithErrors(labels: readonly string[], stats: ReadonlyArray<Stat | undefined>, o: { title: string; yLabel: string; digits?: number; width?: number; height?: number }): Canvas {
  const c = new Canvas(o.width ?? W, o.height ?? H, 'white');
  const tops = stats.map((s) => (s ? s.mean + (s.std ?? 0) : 0));
  let [lo, hi] = extent([0, ...tops], { pad: 0 });
  if (hi > 0) hi *= 1.12;
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step || 1;
  const ax = new Axes(c, { kind: 'band', labels }, { kind: 'linear', lo, hi }, { title: o.title, yLabel: o.yLabel });
  ax.drawFrame();
  const bw = ax.bandWidth() * 0.7;
  const zero = ax.py(0);
  stats.forEach((s, i) => {
    if (!s) {
      c.text(ax.px(i), zero - 4, 'n/a', '#888888', { scale: ax.s, align: 'center', baseline: 'bottom' });
      return;
    }
    const color = seriesColor(i);
    const y = ax.py(s.mean);
    c.fillRect(ax.px(i) - bw / 2, Math.min(y, zero), bw, Math.abs(zero - y), color);
    let top = y;
    if (s.std) {
      errorBar(c, ax.px(i), ax.py(s.mean - s.std), ax.px(i), ax.py(s.mean + s.std), '#222222', Math.min(8, bw / 4), true);
      top = ax.py(s.mean + s.std);
    }
    const txt = o.digits === undefined ? formatNumber(s.mean, Math.abs(s.mean) / 100) : s.mean.toFixed(o.digits);
    c.text(ax.px(i), top - 4, txt, '#222222', { scale: ax.s, align: 'center', baseline: 'bottom' });
  });
  return c;
}

export interface MetricSpec {
  key: string;
  title: string;
  unit: string;
  get(s: ScanSummary): Stat | undefined;
  digits?: number;
}

const constant = (v: number | null | undefined, scale = 1): Stat | undefined => (v === undefined || v === null ? undefined : { mean: v / scale, std: null, n: 1 });

export function metricSpecs(memoryField: string | undefined): MetricSpec[] {
  return [
    { key: 'top1', title: 'top-1 after training', unit: '%', get: (s) => s.top1, digits: 1 },
    { key: 'train_ips', title: 'training throughput', unit: 'images/s', get: (s) => s.train_ips },
    { key: 'infer_ips', title: 'inference throughput', unit: 'images/s', get: (s) => s.infer_ips },
    { key: 'peak_train_mib', title: `peak memory, training step (${memoryField ?? 'tf.memory()'})`, unit: 'MiB', get: (s) => s.peak_train_mib },
    { key: 'peak_infer_mib', title: `peak memory, inference (${memoryField ?? 'tf.memory()'})`, unit: 'MiB', get: (s) => s.peak_infer_mib },
    { key: 'params', title: 'parameters', unit: 'millions', get: (s) => constant(s.params, 1e6), digits: 3 },
    { key: 'flops', title: 'FLOPs per image at imgsz (fvcore)', unit: 'MFLOPs', get: (s) => constant(s.flops, 1e6) },
    { key: 'erf_r50', title: 'ERF high-contribution area ratio, 50%', unit: 'fraction of the input', get: (s) => s.erf_r50, digits: 3 },
  ];
}

/** mean of the raw ERF maps of a scan's seeds (read from out/erf/*.json) */
export function meanErf(out: string, rows: readonly AblationRow[]): { map: Float64Array; H: number; W: number; seeds: number } | null {
  let acc: Float64Array | null = null, H = 0, Wd = 0, n = 0;
  for (const r of rows) {
    if (r.status !== 'done' || !r.erf || !existsSync(join(out, r.erf.file))) continue;
    const e = JSON.parse(readFileSync(join(out, r.erf.file), 'utf8')) as { H: number; W: number; map: number[] };
    if (acc && (e.H !== H || e.W !== Wd)) continue;
    H = e.H; Wd = e.W;
    acc ??= new Float64Array(H * Wd);
    for (let i = 0; i < acc.length; i++) acc[i] += e.map[i];
    n++;
  }
  if (!acc) return null;
  for (let i = 0; i < acc.length; i++) acc[i] /= n;
  return { map: acc, H, W: Wd, seeds: n };
}

/** The scaled ERF heat map of one scan (values in [0, 1]), titled with its r50. */
export function erfPanel(mean: { map: Float64Array; H: number; W: number; seeds: number }, label: string, scale: ErfScale): Canvas {
  const scaled = scaleErf(mean.map, scale);
  const rows = Array.from({ length: mean.H }, (_, i) => scaled.subarray(i * mean.W, (i + 1) * mean.W));
  const r50 = erfAreaRatios(mean.map, mean.H, mean.W).r50;
  const cell = Math.max(2, Math.floor(192 / Math.max(mean.H, mean.W)));
  return heatmap(rows, { title: `${label} (r50 ${r50 === null ? '-' : r50.toFixed(3)})`, vmin: 0, vmax: 1, cell });
}

/** Scan path picture of a strategy at the first stage's map size (at least 8x8 unless path_size). */
export function pathPanel(scan: string, firstMap: [number, number] | undefined, cfg: Pick<AblateConfig, 'path_size'>): Canvas | null {
  if (scan === NO_SCAN) return null;
  const [h, w] = cfg.path_size > 0 ? [cfg.path_size, cfg.path_size] : [Math.max(8, firstMap?.[0] ?? 8), Math.max(8, firstMap?.[1] ?? 8)];
  const cell = Math.max(6, Math.floor(120 / Math.max(h, w)));
  return drawPlans(scans.get(scan).plans(h, w), { cell, title: `${scan} on ${h}x${w}` });
}

export interface PlotFiles {
  scatter: string | null;
  metrics: Array<{ key: string; file: string }>;
  erf: Array<{ label: string; file: string }>;
  erfGrid: string | null;
  paths: Array<{ scan: string; file: string }>;
}

/** Writes every picture under out/ (plots/, erf/, paths/); paths relative to out/. */
export function writePlots(out: string, rows: readonly AblationRow[], summary: readonly ScanSummary[], cfg: AblateConfig): PlotFiles {
  const models = new Set(summary.map((s) => s.model)).size;
  const ran = summary.filter((s) => s.top1 !== undefined || s.train_ips !== undefined);
  const files: PlotFiles = { scatter: null, metrics: [], erf: [], erfGrid: null, paths: [] };
  const write = (rel: string, c: Canvas) => { writePng(join(out, rel), c); return rel; };
  const withBoth = ran.filter((s) => s.top1 && s.infer_ips && s.train_ips);
  if (withBoth.length) {
    const pts = (k: 'infer_ips' | 'train_ips') => withBoth.map((s) => ({ label: labelOf(s, models), x: s[k]!, y: s.top1! }));
    const a = scatterChart(pts('infer_ips'), { title: 'top-1 vs inference throughput', xLabel: 'inference images/s', yLabel: 'top-1 %', width: 480, height: 360 });
    const b = scatterChart(pts('train_ips'), { title: 'top-1 vs training throughput', xLabel: 'training images/s', yLabel: 'top-1 %', width: 480, height: 360 });
    files.scatter = write('plots/accuracy-vs-throughput.png', gridOf([a, b], 2));
  }
  if (ran.length) {
    const labels = ran.map((s) => labelOf(s, models));
    for (const m of metricSpecs(ran[0].memory_field)) {
      const stats = ran.map(m.get);
      if (stats.every((s) => s === undefined)) continue;
      files.metrics.push({ key: m.key, file: write(`plots/${m.key}.png`, barsWithErrors(labels, stats, { title: m.title, yLabel: m.unit, digits: m.digits, width: 480, height: 320 })) });
    }
  }
  const panels: Canvas[] = [];
  for (const s of ran) {
    const mean = meanErf(out, rows.filter((r) => r.model === s.model && r.scan === s.scan));
    if (!mean) continue;
    const label = labelOf(s, models);
    const panel = erfPanel(mean, label, cfg.erf_scale);
    panels.push(panel);
    files.erf.push({ label, file: write(`erf/${s.model}-${s.scan}.png`, panel) });
  }
  if (panels.length) files.erfGrid = write('plots/erf.png', gridOf(panels, Math.min(4, panels.length)));
  const drawn = new Set<string>();
  for (const s of summary) {
    if (s.status === 'skipped' || drawn.has(s.scan)) continue;
    const first = rows.find((r) => r.model === s.model && r.scan === s.scan && r.config)?.config?.first_map as [number, number] | undefined;
    const panel = pathPanel(s.scan, first, cfg);
    if (!panel) continue;
    drawn.add(s.scan);
    files.paths.push({ scan: s.scan, file: write(`paths/${s.scan}.png`, panel) });
  }
  return files;
}
