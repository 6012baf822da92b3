// Pictures of scan plans: one panel per direction, the path through the cell centres as a line whose
// colour runs along the path (viridis, dark = start, light = end), a dot at the start and an arrow at
// the end, a small dot on every visited cell. Zero tokens (padding) are skipped; a jump over them
// is drawn dashed.
import { Canvas, gridOf, textWidth, viridis, type RGBA } from '../core/plot/index.ts';
import type { ScanPlan } from './plan.ts';

export interface DrawOptions {
  /** pixels per map cell; default fits the larger side into ~240 px (at least 6) */
  cell?: number;
  /** panels per row (default: all directions of the first plan, at most 4) */
  columns?: number;
  /** line on top of the picture */
  title?: string;
}

const MARGIN = 8;
const LABEL_H = 14;
const GRID = '#d9d9d9';
const INK = '#222222';

const along = (i: number, n: number): RGBA => viridis(n <= 1 ? 0 : (0.9 * i) / (n - 1));

/** One direction of a plan as a panel. */
export function drawDirection(plan: ScanPlan, k: number, cell: number, label: string): Canvas {
  const { H, W, L } = plan;
  const gw = W * cell, gh = H * cell;
  const width = Math.max(gw, textWidth(label)) + 2 * MARGIN;
  const c = new Canvas(width, gh + LABEL_H + 2 * MARGIN);
  c.text(MARGIN, MARGIN, label, INK);
  const x0 = MARGIN, y0 = MARGIN + LABEL_H;
  for (let h = 0; h <= H; h++) c.line(x0, y0 + h * cell, x0 + gw, y0 + h * cell, GRID);
  for (let w = 0; w <= W; w++) c.line(x0 + w * cell, y0, x0 + w * cell, y0 + gh, GRID);
  const centre = (p: number): [number, number] => [x0 + ((p % W) + 0.5) * cell, y0 + (Math.floor(p / W) + 0.5) * cell];
  const steps: Array<{ p: number; gap: boolean }> = [];
  let gap = false;
  for (let t = 0; t < L; t++) {
    const p = plan.index[k * L + t];
    if (p < 0) gap = steps.length > 0;
    else {
      steps.push({ p, gap });
      gap = false;
    }
  }
  const n = steps.length;
  const width0 = Math.max(1, Math.round(cell / 6));
  for (let i = 1; i < n; i++) {
    const [ax, ay] = centre(steps[i - 1].p), [bx, by] = centre(steps[i].p);
    const color = along(i, n);
    if (i === n - 1) c.arrow(ax, ay, bx, by, color, { width: width0, head: Math.max(5, cell * 0.45) });
    else c.line(ax, ay, bx, by, color, { width: width0, dash: steps[i].gap ? [4 * width0, 4 * width0] : undefined });
  }
  // a dot on every visited cell: strided and windowed routes cross cells they do not visit
  for (let i = 1; i < n - 1; i++) {
    const [x, y] = centre(steps[i].p);
    c.fillCircle(x, y, Math.max(1, cell * 0.12), along(i, n));
  }
  if (n) {
    const [sx, sy] = centre(steps[0].p);
    c.fillCircle(sx, sy, Math.max(2, cell * 0.22), along(0, n));
  }
  return c;
}

/** Every direction of every plan (multiscale has two plans, on two map sizes) in one picture. */
export function drawPlans(plans: readonly ScanPlan[], opts: DrawOptions = {}): Canvas {
  if (!plans.length) throw new Error('drawPlans: no plans');
  const side = Math.max(...plans.map((p) => Math.max(p.H, p.W)));
  const cell = opts.cell ?? Math.max(6, Math.floor(240 / side));
  if (!Number.isInteger(cell) || cell < 2) throw new Error(`drawPlans: cell must be an integer >= 2 pixels, got ${cell}`);
  const panels: Canvas[] = [];
  for (const plan of plans) {
    for (let k = 0; k < plan.K; k++) {
      const size = plans.length > 1 ? ` (${plan.H}x${plan.W})` : '';
      panels.push(drawDirection(plan, k, cell, `${k}: ${plan.directions[k]}${size}`));
    }
  }
  const cols = opts.columns ?? Math.min(4, plans[0].K > 1 ? plans[0].K : panels.length);
  const grid = gridOf(panels, cols);
  if (!opts.title) return grid;
  const out = new Canvas(Math.max(grid.width, textWidth(opts.title, 2) + 2 * MARGIN), grid.height + 2 * LABEL_H + MARGIN);
  out.text(MARGIN, MARGIN, opts.title, INK, { scale: 2 });
  out.drawCanvas(grid, 0, 2 * LABEL_H + MARGIN);
  return out;
}
