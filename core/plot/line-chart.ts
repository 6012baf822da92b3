// Multi-series line chart (loss / accuracy / lr curves): axes with ticks and grid, optional log y,
// markers, dashes, legend and title. Non-finite values leave gaps.
import { Canvas, type Point } from './canvas.ts';
import { Axes, extent, niceStep, type FrameOptions } from './axes.ts';
import { parseColor, seriesColor, type Color } from './color.ts';
import { CELL_H, textWidth } from './font.ts';

export interface Series {
  name: string;
  y: readonly number[];
  /** default 0, 1, 2, ... (or 1, 2, ... with xStartsAtOne) */
  x?: readonly number[];
  color?: Color;
  width?: number;
  dash?: readonly [number, number];
  /** dot radius at every point (0 = none; default 0, or 3 for series of <= 30 points) */
  markers?: number;
}

export interface LineChartOptions extends FrameOptions {
  width?: number;
  height?: number;
  logY?: boolean;
  yMin?: number;
  yMax?: number;
  legend?: 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'none';
  background?: Color;
}

export function lineChart(series: readonly Series[], opts: LineChartOptions = {}): Canvas {
  const canvas = new Canvas(opts.width ?? 800, opts.height ?? 500, opts.background ?? 'white');
  const xs = series.map((s) => s.x ?? s.y.map((_, i) => i));
  series.forEach((s, i) => {
    if (xs[i].length !== s.y.length) throw new Error(`lineChart: series '${s.name}' has ${xs[i].length} x values and ${s.y.length} y values`);
  });
  const logY = opts.logY ?? false;
  let [ylo, yhi] = extent(series.flatMap((s) => s.y), { positive: logY, pad: 0 });
  if (!logY) {
    const step = niceStep((yhi - ylo) / 5);
    ylo = Math.floor(ylo / step) * step;
    yhi = Math.ceil(yhi / step) * step;
  }
  ylo = opts.yMin ?? ylo;
  yhi = opts.yMax ?? yhi;
  const allX = xs.flat().filter(Number.isFinite);
  const [xlo, xhi] = allX.length ? [Math.min(...allX), Math.max(...allX)] : [0, 1];
  const ax = new Axes(canvas, { kind: 'linear', lo: xlo, hi: xhi === xlo ? xlo + 1 : xhi }, { kind: logY ? 'log' : 'linear', lo: ylo, hi: yhi }, opts);
  ax.drawFrame();
  series.forEach((s, i) => {
    const color = s.color ?? seriesColor(i);
    const pts: Point[] = s.y.map((y, k) => (Number.isFinite(y) && (!logY || y > 0) ? [ax.px(xs[i][k]), ax.py(y)] : [NaN, NaN]));
    canvas.polyline(pts, color, { width: s.width ?? 2, dash: s.dash });
    const r = s.markers ?? (s.y.length <= 30 ? 3 : 0);
    if (r > 0) for (const p of pts) if (Number.isFinite(p[0])) canvas.fillCircle(p[0], p[1], r, color);
  });
  if ((opts.legend ?? 'top-right') !== 'none' && series.length > 0) drawLegend(canvas, ax, series, opts.legend ?? 'top-right');
  return canvas;
}

/** legend box: a colour swatch and the name of each series */
export function drawLegend(canvas: Canvas, ax: Axes, series: ReadonlyArray<{ name: string; color?: Color }>, where: string): void {
  const s = ax.s, line = CELL_H * s + 4;
  const w = 30 + Math.max(...series.map((e) => textWidth(e.name, s))) + 10;
  const h = series.length * line + 8;
  const left = where.endsWith('left') ? ax.x0 + 10 : ax.x1 - w - 10;
  const top = where.startsWith('top') ? ax.y0 + 8 : ax.y1 - h - 8;
  canvas.fillRect(left, top, w, h, [255, 255, 255, 220]);
  canvas.strokeRect(Math.round(left) + 0.5, Math.round(top) + 0.5, Math.round(w), Math.round(h), '#bbbbbb');
  series.forEach((e, i) => {
    const cy = top + 4 + i * line + line / 2;
    const color = parseColor(e.color ?? seriesColor(i));
    canvas.line(left + 6, cy, left + 24, cy, color, { width: 3 });
    canvas.text(left + 30, cy, e.name, '#222222', { scale: s, baseline: 'middle' });
  });
}
