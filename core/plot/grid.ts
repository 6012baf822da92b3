// Lays several canvases out in a grid (ultralytics' results.png: one small chart per metric).
import { Canvas } from './canvas.ts';
import type { Color } from './color.ts';

export function gridOf(panels: readonly Canvas[], cols: number, { gap = 8, background = 'white' as Color } = {}): Canvas {
  if (!panels.length) throw new Error('gridOf: no panels');
  const c = Math.max(1, Math.min(cols, panels.length));
  const rows = Math.ceil(panels.length / c);
  const cw = Math.max(...panels.map((p) => p.width)), ch = Math.max(...panels.map((p) => p.height));
  const out = new Canvas(c * cw + (c + 1) * gap, rows * ch + (rows + 1) * gap, background);
  panels.forEach((p, i) => out.drawCanvas(p, gap + (i % c) * (cw + gap), gap + Math.floor(i / c) * (ch + gap)));
  return out;
}
