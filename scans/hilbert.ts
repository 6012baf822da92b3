// hilbert — a generalised Hilbert ("gilbert") curve for any H x W (models.md 7), with mirrored and
// reversed variants making up K <= 4 directions in VMamba's pattern: [curve, mirrored curve, both
// reversed], summed like VMamba's cross-merge. The mirror is taken across the curve's long axis
// (up-down when W >= H, else left-right), so the four orders are distinct on every map at least 2
// cells wide both ways (checked up to 40 x 40). The literal transpose is not used: gilbert2d picks its
// major axis by the longer side, so on a non-square map the transposed map's curve, read back, is the
// curve itself.
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

/** The curve mirrored across its long axis: up-down when W >= H, else left-right. */
function mirroredRoute(H: number, W: number): number[] {
  return hilbertRoute(H, W).map((p) => (W >= H ? (H - 1 - Math.floor(p / W)) * W + (p % W) : p - (p % W) + (W - 1 - (p % W))));
}

const VARIANTS: Array<{ label: string; route: (H: number, W: number) => number[] }> = [
  { label: 'hilbert', route: hilbertRoute },
  { label: 'mirrored hilbert', route: mirroredRoute },
  { label: 'reversed hilbert', route: (H, W) => reversed(hilbertRoute(H, W)) },
  { label: 'reversed mirrored', route: (H, W) => reversed(mirroredRoute(H, W)) },
];

/** True when the curve of this size has its single diagonal step (see the file header). */
export function hilbertHasDiagonal(H: number, W: number): boolean {
  const lo = Math.min(H, W), hi = Math.max(H, W);
  return hi % 2 === 1 && lo % 2 === 0 && lo >= 4;
}

export default defineStrategy({
  name: 'hilbert',
  paper: 'gilbert: generalized Hilbert curves for arbitrary rectangles (J. Červený); used as a scan by FractalMamba (arXiv 2405.14480) and PointMamba (arXiv 2402.10739)',
  upstream: 'jakubcerveny/gilbert@9b080a7 gilbert2d.py (gilbert2d, generate2d)',
  description: 'generalised Hilbert curve for any H x W, with mirrored and reversed variants',
  options: {
    directions: { type: 'int', default: 4, help: 'K: curve, mirrored curve, reversed, reversed mirrored (1..4)' },
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
