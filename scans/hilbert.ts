// hilbert — a generalised Hilbert ("gilbert") curve for any H x W (models.md 7), with transposed,
// reversed and mirrored variants making up K directions in VMamba's pattern: [curve, transposed
// curve, both reversed] (+ their left-right mirrors for K > 4). Summed like VMamba's cross-merge.
// Consecutive positions are 4-neighbours except for exactly one diagonal step when the longer side
// is odd and the shorter side is even and >= 4 (checked on every size up to 69 x 69; gilbert's README:
// unit steps "as long as the width is even").
import { defineStrategy } from './registry.ts';
import { standardCore } from './core.ts';
import { makePlan, reversed } from './routes.ts';

/** gilbert2d(width, height): (x, y) = (column, row) cells in curve order. Halving uses floor (as Python //). */
export function gilbert2d(width: number, height: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (width >= height) generate2d(out, 0, 0, width, 0, 0, height);
  else generate2d(out, 0, 0, 0, height, width, 0);
  return out;
}

function generate2d(out: Array<[number, number]>, x: number, y: number, ax: number, ay: number, bx: number, by: number): void {
  const w = Math.abs(ax + ay), h = Math.abs(bx + by);
  const dax = Math.sign(ax), day = Math.sign(ay); // unit major direction
  const dbx = Math.sign(bx), dby = Math.sign(by); // unit orthogonal direction
  if (h === 1) {
    for (let i = 0; i < w; i++, x += dax, y += day) out.push([x, y]);
    return;
  }
  if (w === 1) {
    for (let i = 0; i < h; i++, x += dbx, y += dby) out.push([x, y]);
    return;
  }
  let ax2 = Math.floor(ax / 2), ay2 = Math.floor(ay / 2);
  let bx2 = Math.floor(bx / 2), by2 = Math.floor(by / 2);
  const w2 = Math.abs(ax2 + ay2), h2 = Math.abs(bx2 + by2);
  if (2 * w > 3 * h) {
    if (w2 % 2 && w > 2) { ax2 += dax; ay2 += day; } // prefer even steps
    // long case: split in two parts only
    generate2d(out, x, y, ax2, ay2, bx, by);
    generate2d(out, x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by);
  } else {
    if (h2 % 2 && h > 2) { bx2 += dbx; by2 += dby; }
    // standard case: one step up, one long horizontal, one step down
    generate2d(out, x, y, bx2, by2, ax2, ay2);
    generate2d(out, x + bx2, y + by2, ax, ay, bx - bx2, by - by2);
    generate2d(out, x + (ax - dax) + (bx2 - dbx), y + (ay - day) + (by2 - dby), -bx2, -by2, -(ax - ax2), -(ay - ay2));
  }
}

/** The curve over an H x W map as positions h*W + w. */
export function hilbertRoute(H: number, W: number): number[] {
  return gilbert2d(W, H).map(([x, y]) => y * W + x);
}

/** The curve of the transposed map, read back in this map's positions. */
function transposedRoute(H: number, W: number): number[] {
  return gilbert2d(H, W).map(([x, y]) => x * W + y);
}

const mirror = (route: number[], W: number) => route.map((p) => p - (p % W) + (W - 1 - (p % W)));

const VARIANTS: Array<{ label: string; route: (H: number, W: number) => number[] }> = [
  { label: 'hilbert', route: hilbertRoute },
  { label: 'transposed hilbert', route: transposedRoute },
  { label: 'reversed hilbert', route: (H, W) => reversed(hilbertRoute(H, W)) },
  { label: 'reversed transposed', route: (H, W) => reversed(transposedRoute(H, W)) },
];
for (const v of VARIANTS.slice(0, 4)) VARIANTS.push({ label: `mirrored ${v.label}`, route: (H, W) => mirror(v.route(H, W), W) });

/** True when the curve of this size has its single diagonal step (see the file header). */
export function hilbertHasDiagonal(H: number, W: number): boolean {
  const lo = Math.min(H, W), hi = Math.max(H, W);
  return hi % 2 === 1 && lo % 2 === 0 && lo >= 4;
}

export default defineStrategy({
  name: 'hilbert',
  paper: 'gilbert: generalized Hilbert curves for arbitrary rectangles (J. Červený); used as a scan by FractalMamba (arXiv 2405.14480) and PointMamba (arXiv 2402.10739)',
  upstream: 'jakubcerveny/gilbert@9b080a7 gilbert2d.py (gilbert2d, generate2d)',
  description: 'generalised Hilbert curve for any H x W, with transposed/reversed/mirrored variants',
  options: {
    directions: { type: 'int', default: 4, help: 'K: curve, transposed, reversed, reversed transposed, then their mirrors (1..8)' },
  },
  check(o) {
    const k = o.directions as number;
    if (k < 1 || k > VARIANTS.length) throw new Error(`scan 'hilbert': option directions must be in 1..${VARIANTS.length}, got ${k}`);
  },
  directions: (o) => o.directions as number,
  build(H, W, o) {
    const vs = VARIANTS.slice(0, o.directions as number);
    return [makePlan('hilbert', H, W, vs.map((v) => v.route(H, W)), vs.map((v) => v.label), 'sum')];
  },
  core: standardCore(),
});
