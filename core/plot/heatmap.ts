// Heat map (viridis) with row/column labels, optional per-cell values and a colour bar: confusion
// matrices, attention/scan-order maps, effective receptive fields.
import { Canvas } from './canvas.ts';
import { formatNumber, niceTicks } from './axes.ts';
import { luminance, viridis, type RGBA } from './color.ts';
import { CELL_H, textWidth } from './font.ts';

export interface HeatmapOptions {
  title?: string;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** colour range; default the data's min and max */
  vmin?: number;
  vmax?: number;
  /** print the value in each cell (black or white by the cell's brightness) */
  annotate?: boolean;
  colorbar?: boolean;
  /** pixels per cell (default: fit into ~512 px) */
  cell?: number;
  fontScale?: number;
  colormap?: (t: number) => RGBA;
}

/** values: rows of equal length (rows x cols) */
export function heatmap(values: ReadonlyArray<ArrayLike<number>>, opts: HeatmapOptions = {}): Canvas {
  const rows = values.length, cols = rows ? values[0].length : 0;
  if (!rows || !cols) throw new Error('heatmap: values must be a non-empty rows x cols array');
  for (const r of values) if (r.length !== cols) throw new Error(`heatmap: ragged rows (${r.length} vs ${cols} columns)`);
  const s = opts.fontScale ?? 1;
  const cell = opts.cell ?? Math.max(2, Math.floor(512 / Math.max(rows, cols)));
  let vmin = opts.vmin ?? Infinity, vmax = opts.vmax ?? -Infinity;
  if (opts.vmin === undefined || opts.vmax === undefined) {
    for (const r of values) for (let j = 0; j < cols; j++) {
      const v = r[j];
      if (!Number.isFinite(v)) continue;
      if (opts.vmin === undefined) vmin = Math.min(vmin, v);
      if (opts.vmax === undefined) vmax = Math.max(vmax, v);
    }
  }
  if (!Number.isFinite(vmin)) { vmin = 0; vmax = 1; }
  const span = vmax > vmin ? vmax - vmin : 1;
  const cmap = opts.colormap ?? viridis;
  const line = CELL_H * s;
  const left = 8 + Math.max(0, ...(opts.rowLabels ?? []).map((l) => textWidth(l, s) + 6));
  const top = (opts.title ? 2 * line : 8) + (opts.colLabels ? line + 4 : 0);
  const barW = opts.colorbar === false ? 0 : 16 + 12 + 6 * 8 * s;
  const canvas = new Canvas(left + cols * cell + 12 + barW, top + rows * cell + 12, 'white');
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    const v = values[i][j];
    const color = cmap((v - vmin) / span);
    canvas.fillRect(left + j * cell, top + i * cell, cell, cell, color);
    if (opts.annotate && Number.isFinite(v)) {
      const txt = formatNumber(v, Number.isInteger(v) || Math.abs(v) >= 10 ? 1 : 0.01);
      if (textWidth(txt, s) <= cell - 2) {
        canvas.text(left + j * cell + cell / 2, top + i * cell + cell / 2, txt, luminance(color) > 0.5 ? 'black' : 'white', { scale: s, align: 'center', baseline: 'middle' });
      }
    }
  }
  if (opts.title) canvas.text(left + (cols * cell) / 2, 0.5 * line, opts.title, '#222222', { scale: s, align: 'center' });
  opts.rowLabels?.forEach((l, i) => canvas.text(left - 6, top + i * cell + cell / 2, l, '#222222', { scale: s, align: 'right', baseline: 'middle' }));
  opts.colLabels?.forEach((l, j) => canvas.text(left + j * cell + cell / 2, top - 4, l, '#222222', { scale: s, align: 'center', baseline: 'bottom' }));
  if (barW) {
    const bx = left + cols * cell + 12, h = rows * cell;
    for (let y = 0; y < h; y++) canvas.fillRect(bx, top + y, 16, 1, cmap(1 - (y + 0.5) / h));
    for (const v of niceTicks(vmin, vmax, 4)) {
      const y = top + h - ((v - vmin) / span) * h;
      canvas.line(bx + 16, y, bx + 20, y, '#222222');
      canvas.text(bx + 23, y, formatNumber(v, span / 4), '#222222', { scale: s, baseline: 'middle' });
    }
  }
  return canvas;
}
