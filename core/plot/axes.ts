// Chart frame shared by line and bar charts: margins from the labels, 1-2-5 ticks (or decades on a
// log axis), grid lines, tick labels, title and axis labels. Maps data values to pixels.
import { Canvas } from './canvas.ts';
import { CELL_H, textWidth } from './font.ts';

export type Scale = { kind: 'linear' | 'log'; lo: number; hi: number } | { kind: 'band'; labels: readonly string[] };

export interface FrameOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** integer font scale; default 2 for charts >= 480 px wide, else 1 */
  fontScale?: number;
}

const INK = '#222222';
const GRID = '#e3e3e3';

/** ~target ticks at 1, 2 or 5 x 10^k covering [lo, hi] */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi === lo) return [lo];
  const step = niceStep((hi - lo) / Math.max(1, target));
  const out: number[] = [];
  // integer multiples of the step, rounded so 3 x 0.2 prints as 0.6
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(k === 0 ? 0 : +(k * step).toPrecision(12));
  return out;
}

/** the 1, 2 or 5 x 10^k nearest to `raw` (geometric rounding, as d3's tickStep) */
export function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f >= Math.sqrt(50) ? 10 : f >= Math.sqrt(10) ? 5 : f >= Math.SQRT2 ? 2 : 1) * p;
}

/** powers of ten in [lo, hi] (lo > 0); adds 2x and 5x when the range spans fewer than 3 decades */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const mults = e1 - e0 < 3 ? [1, 2, 5] : [1];
  for (let e = e0; e <= e1; e++) for (const m of mults) {
    const v = +(m * 10 ** e).toPrecision(12);
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  return out;
}

/** short tick text: '0.25', '1500', '2e-4', '1.5e+6' */
export function formatNumber(v: number, step = Math.abs(v)): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(Math.max(0, Math.min(3, significantDigits(v) - 1))).replace(/\.?0+e/, 'e');
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step || a) + 1e-9)));
  return v.toFixed(decimals);
}

/**
 * Labels for a whole axis in one style: if any tick needs exponent notation, all non-zero ticks
 * use it, with the fewest mantissa digits that tell the ticks apart ('0', '2e-4', '4e-4', '1.2e-3').
 */
export function formatTicks(values: readonly number[], step?: number): string[] {
  const plain = values.map((v) => formatNumber(v, step));
  if (!plain.some((l) => l.includes('e'))) return plain;
  for (let k = 0; k <= 6; k++) {
    const labels = values.map((v) => (v === 0 ? '0' : v.toExponential(k).replace(/\.?0+e/, 'e')));
    const ok = labels.every((l, i) => Math.abs(Number(l) - values[i]) <= Math.abs(step ?? values[i]) * 1e-6 + Math.abs(values[i]) * 1e-9);
    if (ok) return labels;
  }
  return values.map((v) => v.toExponential(6));
}

function significantDigits(v: number): number {
  return v.toPrecision(4).replace(/e.*$/, '').replace('-', '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length || 1;
}

/** padded [lo, hi] of finite values; a flat series gets +-1 (or +-10%) */
export function extent(values: Iterable<number>, { pad = 0.05, positive = false } = {}): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v) && (!positive || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo === Infinity) return positive ? [0.1, 1] : [0, 1];
  if (positive) return lo === hi ? [lo / 2, hi * 2] : [lo, hi];
  if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; return [lo - d, hi + d]; }
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

export class Axes {
  readonly x0: number; readonly y0: number; readonly x1: number; readonly y1: number;
  readonly s: number;
  readonly yTicks: number[];
  readonly xTicks: number[];

  constructor(readonly canvas: Canvas, readonly xScale: Scale, readonly yScale: Scale & { kind: 'linear' | 'log' }, readonly opts: FrameOptions = {}) {
    const s = (this.s = opts.fontScale ?? (canvas.width >= 480 ? 2 : 1));
    this.yTicks = ticksOf(yScale);
    this.xTicks = xScale.kind === 'band' ? [] : ticksOf(xScale);
    const tickW = Math.max(0, ...this.tickLabels(this.yTicks, yScale.kind).map((l) => textWidth(l, s)));
    const line = CELL_H * s;
    this.x0 = 8 + (opts.yLabel ? line + 6 : 0) + tickW + 8;
    this.x1 = canvas.width - 12 * s;
    this.y0 = opts.title ? 2.2 * line : line;
    this.y1 = canvas.height - (line + 10 + (opts.xLabel ? line + 6 : 0));
  }

  /** data x -> pixel x (band scale: index of the category -> centre of its band) */
  px(x: number): number {
    const sc = this.xScale;
    if (sc.kind === 'band') return this.x0 + ((x + 0.5) / sc.labels.length) * (this.x1 - this.x0);
    return this.x0 + norm(sc, x) * (this.x1 - this.x0);
  }

  py(y: number): number {
    return this.y1 - norm(this.yScale, y) * (this.y1 - this.y0);
  }

  bandWidth(): number {
    return this.xScale.kind === 'band' ? (this.x1 - this.x0) / Math.max(1, this.xScale.labels.length) : 0;
  }

  private tickLabels(ticks: readonly number[], kind: Scale['kind']): string[] {
    if (kind === 'log') return ticks.map((v) => formatNumber(v, v));
    return formatTicks(ticks, ticks.length > 1 ? ticks[1] - ticks[0] : undefined);
  }

  /** grid, ticks, labels, title; call before drawing the data */
  drawFrame(): void {
    const c = this.canvas, s = this.s, o = this.opts;
    const yLabels = this.tickLabels(this.yTicks, this.yScale.kind);
    this.yTicks.forEach((v, i) => {
      const y = Math.round(this.py(v)) + 0.5;
      c.line(this.x0, y, this.x1, y, GRID);
      c.text(this.x0 - 6, y, yLabels[i], INK, { scale: s, align: 'right', baseline: 'middle' });
    });
    const xLabels = this.tickLabels(this.xTicks, this.xScale.kind);
    this.xTicks.forEach((v, i) => {
      const x = Math.round(this.px(v)) + 0.5;
      c.line(x, this.y0, x, this.y1, GRID);
      c.line(x, this.y1, x, this.y1 + 4, INK);
      c.text(x, this.y1 + 7, xLabels[i], INK, { scale: s, align: 'center' });
    });
    if (this.xScale.kind === 'band') {
      const bw = this.bandWidth();
      this.xScale.labels.forEach((label, i) => {
        const maxChars = Math.max(1, Math.floor(bw / (6 * s)));
        const text = label.length > maxChars ? label.slice(0, Math.max(1, maxChars - 1)) + '.' : label;
        c.text(this.px(i), this.y1 + 7, text, INK, { scale: s, align: 'center' });
      });
    }
    const bx0 = Math.round(this.x0) + 0.5, by1 = Math.round(this.y1) + 0.5;
    c.line(bx0, this.y0, bx0, by1, INK);
    c.line(bx0, by1, this.x1, by1, INK);
    if (o.title) c.text((this.x0 + this.x1) / 2, 0.6 * CELL_H * s, o.title, INK, { scale: s, align: 'center' });
    if (o.xLabel) c.text((this.x0 + this.x1) / 2, c.height - 6, o.xLabel, INK, { scale: s, align: 'center', baseline: 'bottom' });
    if (o.yLabel) c.text(8, (this.y0 + this.y1) / 2, o.yLabel, INK, { scale: s, align: 'center', rotate: 90 });
  }
}

function ticksOf(sc: Scale): number[] {
  if (sc.kind === 'band') return [];
  return sc.kind === 'log' ? logTicks(sc.lo, sc.hi) : niceTicks(sc.lo, sc.hi);
}

function norm(sc: { kind: 'linear' | 'log'; lo: number; hi: number }, v: number): number {
  if (sc.kind === 'log') return (Math.log(v) - Math.log(sc.lo)) / (Math.log(sc.hi) - Math.log(sc.lo));
  return (v - sc.lo) / (sc.hi - sc.lo);
}
