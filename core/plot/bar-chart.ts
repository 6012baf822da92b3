// Grouped bar chart: one group per category label, one bar per series, optional value labels.
import { Canvas } from './canvas.ts';
import { Axes, extent, formatNumber, niceStep, type FrameOptions } from './axes.ts';
import { seriesColor, type Color } from './color.ts';
import { drawLegend } from './line-chart.ts';

export interface BarSeries {
  name: string;
  values: readonly number[];
  color?: Color;
}

export interface BarChartOptions extends FrameOptions {
  width?: number;
  height?: number;
  /** print each bar's value above it */
  valueLabels?: boolean;
  legend?: 'top-right' | 'top-left' | 'none';
  background?: Color;
}

export function barChart(labels: readonly string[], series: readonly BarSeries[], opts: BarChartOptions = {}): Canvas {
  for (const s of series) {
    if (s.values.length !== labels.length) throw new Error(`barChart: series '${s.name}' has ${s.values.length} values for ${labels.length} labels`);
  }
  const canvas = new Canvas(opts.width ?? 800, opts.height ?? 500, opts.background ?? 'white');
  const vals = series.flatMap((s) => s.values);
  let [lo, hi] = extent([0, ...vals], { pad: 0 });
  // headroom for the value labels, then out to whole ticks; zero stays on the axis
  if (hi > 0) hi *= 1.08;
  if (lo < 0) lo *= 1.08;
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const ax = new Axes(canvas, { kind: 'band', labels }, { kind: 'linear', lo, hi }, opts);
  ax.drawFrame();
  const band = ax.bandWidth();
  const groupW = band * 0.8;
  const barW = groupW / Math.max(1, series.length);
  const zero = ax.py(0);
  series.forEach((s, k) => {
    const color = s.color ?? seriesColor(k);
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const left = ax.px(i) - groupW / 2 + k * barW;
      const y = ax.py(v);
      canvas.fillRect(left + 1, Math.min(y, zero), barW - 2, Math.abs(zero - y), color);
      if (opts.valueLabels) {
        canvas.text(left + barW / 2, v >= 0 ? y - 4 : y + 4, formatNumber(v, Math.abs(v) / 100), '#222222', { scale: ax.s, align: 'center', baseline: v >= 0 ? 'bottom' : 'top' });
      }
    });
  });
  if ((opts.legend ?? (series.length > 1 ? 'top-right' : 'none')) !== 'none') drawLegend(canvas, ax, series, opts.legend ?? 'top-right');
  return canvas;
}
