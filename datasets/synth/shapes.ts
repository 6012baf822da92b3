// Rendered shapes for synthetic datasets: each class is a shape (circle, square, triangle, ...),
// with random colour, position, size and a small rotation (at most 15 degrees, so a square never
// looks like a diamond) on a noisy two-colour gradient. Shapes are polygons, filled by pixel centre
// (io/rle.ts rasterizePolygons), so a COCO polygon / YOLO label / mask matches the pixels exactly.
import type { Rng } from '../../core/rng.ts';
import type { RgbImage } from '../types.ts';
import { rasterizePolygons } from '../io/polygon.ts';

/** In sorted order, so that ImageFolder's class order (sorted folder names) is this order. */
export const SHAPES = ['arrow', 'circle', 'cross', 'diamond', 'hexagon', 'square', 'star', 'triangle'] as const;

/** Unit-radius outline of a shape around (0, 0), as [x, y] pairs. */
function outline(shape: string): Array<[number, number]> {
  const regular = (n: number, phase: number) => Array.from({ length: n }, (_, k) => {
    const a = phase + (2 * Math.PI * k) / n;
    return [Math.cos(a), Math.sin(a)] as [number, number];
  });
  switch (shape) {
    case 'circle': return regular(32, 0);
    case 'square': return [[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]];
    case 'triangle': return regular(3, -Math.PI / 2);
    case 'star': return Array.from({ length: 10 }, (_, k) => {
      const a = -Math.PI / 2 + (Math.PI * k) / 5, r = k % 2 ? 0.42 : 1;
      return [r * Math.cos(a), r * Math.sin(a)] as [number, number];
    });
    case 'cross': {
      const t = 0.33;
      return [[-t, -1], [t, -1], [t, -t], [1, -t], [1, t], [t, t], [t, 1], [-t, 1], [-t, t], [-1, t], [-1, -t], [-t, -t]];
    }
    case 'hexagon': return regular(6, 0);
    case 'diamond': return [[0, -1], [0.7, 0], [0, 1], [-0.7, 0]];
    case 'arrow': return [[-1, -0.3], [0.2, -0.3], [0.2, -0.75], [1, 0], [0.2, 0.75], [0.2, 0.3], [-1, 0.3]];
    default: throw new Error(`unknown shape '${shape}'`);
  }
}

export interface PlacedShape {
  label: number;
  /** flat [x0, y0, x1, y1, ...] in pixels */
  polygon: number[];
  /** [x1, y1, x2, y2] of the polygon */
  box: [number, number, number, number];
  colour: [number, number, number];
}

/** A shape of class `label` with radius r centred at (cx, cy), rotated by up to 15 degrees. */
export function placeShape(label: number, cx: number, cy: number, r: number, rng: Rng): PlacedShape {
  const rot = ((rng.random() * 2 - 1) * 15 * Math.PI) / 180;
  const c = Math.cos(rot), s = Math.sin(rot);
  const polygon: number[] = [];
  for (const [x, y] of outline(SHAPES[label])) polygon.push(cx + r * (c * x - s * y), cy + r * (s * x + c * y));
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (let k = 0; k < polygon.length; k += 2) {
    x1 = Math.min(x1, polygon[k]);
    x2 = Math.max(x2, polygon[k]);
    y1 = Math.min(y1, polygon[k + 1]);
    y2 = Math.max(y2, polygon[k + 1]);
  }
  // a saturated colour, far from mid grey so it stands out of the background
  const h = rng.random() * 6, k = Math.floor(h), f = h - k;
  const v = 200 + rng.int(56), lo = rng.int(60), mid = Math.round(lo + (v - lo) * (k % 2 ? 1 - f : f));
  const colour = ([[v, mid, lo], [mid, v, lo], [lo, v, mid], [lo, mid, v], [mid, lo, v], [v, lo, mid]][k % 6]) as [number, number, number];
  return { label, polygon, box: [x1, y1, x2, y2], colour };
}

/** Background: a gradient between two dull colours plus uniform noise of +-12. */
export function background(size: number, rng: Rng): RgbImage {
  const a = [rng.int(140), rng.int(140), rng.int(140)], b = [rng.int(140), rng.int(140), rng.int(140)];
  const dx = rng.random(), dy = 1 - dx;
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = (dx * x + dy * y) / size;
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, Math.round(a[c] + (b[c] - a[c]) * t + (rng.random() - 0.5) * 24)));
    }
  }
  return { data, width: size, height: size };
}

/** Paints shapes into `img`; when `mask` is given, writes label + 1 where each shape lands (later shapes on top). */
export function paint(img: RgbImage, shapes: PlacedShape[], mask?: Uint8Array): void {
  const n = img.width * img.height;
  const cover = new Uint8Array(n);
  for (const s of shapes) {
    cover.fill(0);
    rasterizePolygons([s.polygon], img.width, img.height, cover);
    for (let p = 0; p < n; p++) {
      if (!cover[p]) continue;
      img.data[3 * p] = s.colour[0];
      img.data[3 * p + 1] = s.colour[1];
      img.data[3 * p + 2] = s.colour[2];
      if (mask) mask[p] = s.label + 1;
    }
  }
}

function iou(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])), h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** 1..maxShapes shapes of random classes inside a size x size image, overlapping little (IoU < 0.2). */
export function scatterShapes(size: number, classes: number, maxShapes: number, minR: number, maxR: number, rng: Rng): PlacedShape[] {
  const count = 1 + rng.int(maxShapes);
  const out: PlacedShape[] = [];
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = rng.uniform(minR, maxR);
      const s = placeShape(rng.int(classes), rng.uniform(r, size - r), rng.uniform(r, size - r), r, rng);
      if (out.every((o) => iou(o.box, s.box) < 0.2)) {
        out.push(s);
        break;
      }
    }
  }
  return out;
}
