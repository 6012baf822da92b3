// The ablation's pictures (core/plot, no browser): accuracy against throughput (one point per scan,
// error bars = standard deviation over seeds), one bar chart per metric (with the same error bars),
// the ERF heat map of each scan (raw maps averaged over seeds, then scaled as the config says), and
// each scan's path on the first stage's map (scans/draw.ts).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Axes, Canvas, CELL_H, extent, formatNumber, gridOf, heatmap, niceTicks, seriesColor, textWidth, writePng, type RGBA } from '../../core/plot/index.ts';
import { drawPlans } from '../../scans/draw.ts';
import { scans } from '../../scans/index.ts';
import type { AblateConfig, ErfScale } from './config.ts';
import { NO_SCAN } from './config.ts';
import { scaleErf, erfAreaRatios } from './erf.ts';
import type { AblationRow, ScanSummary, Stat } from './results.ts';

const W = 640, H = 400;

export interface Point {
  x: Stat;
  y: Stat;
  /** colour index (seriesColor) */
  color: number;
}

/**
 * Short labels for pictures: the scan name; the model name for a 'none' row (the model as
 * registered: a scan-less baseline such as MambaOut); `model:scan` only where two models share a scan.
 */
export function labelsOf(items: ReadonlyArray<{ model: string; scan: string }>): string[] {
  const count = new Map<string, number>();
  for (const s of items) count.set(s.scan, (count.get(s.scan) ?? 0) + 1);
  return items.map((s) => (s.scan === NO_SCAN ? s.model : (count.get(s.scan) ?? 0) > 1 ? `${s.model}:${s.scan}` : s.scan));
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

/** Scatter with error bars in x and y, one colour per point (their names: legendPanel). */
export function scatterChart(points: readonly Point[], o: { title: string; xLabel: string; yLabel: string; width?: number; height?: number }): Canvas {
  const c = new Canvas(o.width ?? W, o.height ?? H, 'white');
  const xs = points.flatMap((p) => [p.x.mean - (p.x.std ?? 0), p.x.mean + (p.x.std ?? 0)]);
  const ys = points.flatMap((p) => [p.y.mean - (p.y.std ?? 0), p.y.mean + (p.y.std ?? 0)]);
  const [xlo, xhi] = extent(xs, { pad: 0.08 });
  const [ylo, yhi] = extent(ys, { pad: 0.08 });
  const ax = new Axes(c, { kind: 'linear', lo: xlo, hi: xhi }, { kind: 'linear', lo: ylo, hi: yhi }, { title: o.title, xLabel: o.xLabel, yLabel: o.yLabel });
  ax.drawFrame();
  points.forEach((p) => {
    const color = seriesColor(p.color);
    const px = ax.px(p.x.mean), py = ax.py(p.y.mean);
    if (p.y.std) errorBar(c, px, ax.py(p.y.mean - p.y.std), px, ax.py(p.y.mean + p.y.std), color, 4, true);
    if (p.x.std) errorBar(c, ax.px(p.x.mean - p.x.std), py, ax.px(p.x.mean + p.x.std), py, color, 4, false);
    c.fillCircle(px, py, 6, color);
  });
  return c;
}

/** A legend as its own panel: a coloured dot and the label of each series, one per line. */
export function legendPanel(labels: readonly string[], colors: readonly number[], height: number, scale = 2): Canvas {
  const line = CELL_H * scale + 8;
  const w = 40 + Math.max(...labels.map((l) => textWidth(l, scale)));
  const c = new Canvas(w, Math.max(height, 16 + labels.length * line), 'white');
  labels.forEach((l, i) => {
    const y = 16 + i * line + line / 2;
    c.fillCircle(14, y, 6, seriesColor(colors[i]));
    c.text(28, y, l, '#222222', { scale, baseline: 'middle' });
  });
  return c;
}

/**
 * Horizontal bars, one per label (its own colour, label on the left, value at the bar's end), with
 * error bars (std over seeds). Horizontal so that ten scan names stay readable.
 */
export function barsWithErrors(labels: readonly string[], stats: ReadonlyArray<Stat | undefined>, o: { title: string; unit: string; digits?: number; width?: number }): Canvas {
  const s = 2, line = CELL_H * s;
  const barH = 22, gap = 8;
  const left = 12 + Math.max(...labels.map((l) => textWidth(l, s)));
  const width = o.width ?? W;
  const top = 2.2 * line, plotH = labels.length * (barH + gap);
  const c = new Canvas(width, Math.round(top + plotH + 2 * line + 16), 'white');
  const tops = stats.map((v) => (v ? v.mean + (v.std ?? 0) : 0));
  const hi0 = Math.max(0, ...tops) * 1.18 || 1;
  const ticks = niceTicks(0, hi0, 4);
  const hi = Math.max(hi0, ticks[ticks.length - 1]);
  const x0 = left + 6, x1 = width - 12;
  const px = (v: number) => x0 + (v / hi) * (x1 - x0);
  const yb = top + plotH;
  for (const t of ticks) {
    const x = Math.round(px(t)) + 0.5;
    c.line(x, top, x, yb, '#e3e3e3');
    c.text(x, yb + 6, formatNumber(t, ticks.length > 1 ? ticks[1] - ticks[0] : t), '#222222', { scale: s, align: 'center' });
  }
  c.line(Math.round(x0) + 0.5, top, Math.round(x0) + 0.5, yb, '#222222');
  c.text((x0 + x1) / 2, 0.6 * line, o.title, '#222222', { scale: s, align: 'center' });
  c.text((x0 + x1) / 2, c.height - 4, o.unit, '#222222', { scale: s, align: 'center', baseline: 'bottom' });
  stats.forEach((v, i) => {
    const y = top + i * (barH + gap) + gap / 2;
    c.text(left, y + barH / 2, labels[i], '#222222', { scale: s, align: 'right', baseline: 'middle' });
    if (!v) {
      c.text(x0 + 6, y + barH / 2, 'n/a', '#888888', { scale: s, baseline: 'middle' });
      return;
    }
    c.fillRect(x0, y, Math.max(1, px(v.mean) - x0), barH, seriesColor(i));
    let end = px(v.mean);
    if (v.std) {
      errorBar(c, px(v.mean - v.std), y + barH / 2, px(v.mean + v.std), y + barH / 2, '#222222', 5, false);
      end = Math.max(end, px(v.mean + v.std));
    }
    const txt = o.digits === undefined ? formatNumber(v.mean, Math.abs(v.mean) / 100) : v.mean.toFixed(o.digits);
    c.text(end + 6, y + barH / 2, txt, '#222222', { scale: s, baseline: 'middle' });
  });
  return c;
}

/** panels side by side, top-aligned, each at its own width */
function hstack(panels: readonly Canvas[], gap = 8): Canvas {
  const out = new Canvas(panels.reduce((a, p) => a + p.width + gap, gap), Math.max(...panels.map((p) => p.height)) + 2 * gap, 'white');
  let x = gap;
  for (const p of panels) {
    out.drawCanvas(p, x, gap);
    x += p.width + gap;
  }
  return out;
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
  const cell = Math.max(2, Math.floor(160 / Math.max(mean.H, mean.W)));
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
  const ran = summary.filter((s) => s.top1 !== undefined || s.train_ips !== undefined);
  const labels = labelsOf(ran);
  const files: PlotFiles = { scatter: null, metrics: [], erf: [], erfGrid: null, paths: [] };
  const write = (rel: string, c: Canvas) => { writePng(join(out, rel), c); return rel; };
  // one colour per (model, scan) in every picture: its index in `ran`
  const measured = [...ran.keys()].filter((i) => ran[i].top1 && ran[i].infer_ips && ran[i].train_ips);
  if (measured.length) {
    const pts = (k: 'infer_ips' | 'train_ips') => measured.map((i) => ({ x: ran[i][k]!, y: ran[i].top1!, color: i }));
    const a = scatterChart(pts('infer_ips'), { title: 'top-1 vs inference speed', xLabel: 'inference images/s', yLabel: 'top-1 %', width: 480, height: 360 });
    const b = scatterChart(pts('train_ips'), { title: 'top-1 vs training speed', xLabel: 'training images/s', yLabel: 'top-1 %', width: 480, height: 360 });
    files.scatter = write('plots/accuracy-vs-throughput.png', hstack([a, b, legendPanel(measured.map((i) => labels[i]), measured, 360)]));
  }
  if (ran.length) {
    for (const m of metricSpecs(ran[0].memory_field)) {
      const stats = ran.map(m.get);
      if (stats.every((s) => s === undefined)) continue;
      files.metrics.push({ key: m.key, file: write(`plots/${m.key}.png`, barsWithErrors(labels, stats, { title: m.title, unit: m.unit, digits: m.digits, width: 560 })) });
    }
  }
  const panels: Canvas[] = [];
  for (const [i, s] of ran.entries()) {
    const mean = meanErf(out, rows.filter((r) => r.model === s.model && r.scan === s.scan));
    if (!mean) continue;
    const label = labels[i];
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
