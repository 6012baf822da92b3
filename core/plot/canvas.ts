// A small RGBA raster canvas for plots and diagrams rendered without a browser: anti-aliased
// strokes (round caps, optional dashes), filled rects and circles, arrows, and text in the
// embedded 5x7 font. Pixel (i, j) covers [i, i+1) x [j, j+1); its centre is (i + 0.5, j + 0.5),
// so a 1 px line at y = j + 0.5 fills row j exactly.
import { parseColor, type Color, type RGBA } from './color.ts';
import { glyph, textWidth, CELL_W, GLYPH_H } from './font.ts';

export type Point = readonly [number, number];

export interface TextOptions {
  /** integer pixel scale of the 5x7 font (1 = 7 px tall capitals) */
  scale?: number;
  align?: 'left' | 'center' | 'right';
  baseline?: 'top' | 'middle' | 'bottom';
  /** 90 = rotated counter-clockwise (reads bottom to top), for y-axis labels */
  rotate?: 0 | 90;
}

export interface StrokeOptions {
  width?: number;
  /** [on, off] lengths in pixels */
  dash?: readonly [number, number];
}

export class Canvas {
  /** RGBA bytes, row-major, (height, width, 4) */
  readonly data: Uint8ClampedArray;

  constructor(readonly width: number, readonly height: number, background: Color = 'white') {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new Error(`Canvas: size must be positive integers, got ${width}x${height}`);
    }
    this.data = new Uint8ClampedArray(width * height * 4);
    this.clear(background);
  }

  clear(color: Color): void {
    const c = parseColor(color);
    for (let i = 0; i < this.data.length; i += 4) this.data.set(c, i);
  }

  getPixel(x: number, y: number): RGBA {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2], this.data[i + 3]];
  }

  /** source-over compositing of colour `c` at coverage `cov` (0..1) onto pixel (x, y) */
  blend(x: number, y: number, c: RGBA, cov = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || cov <= 0) return;
    const i = (y * this.width + x) * 4;
    const a = (c[3] / 255) * Math.min(1, cov);
    const d = this.data;
    const da = d[i + 3] / 255;
    const oa = a + da * (1 - a);
    if (oa <= 0) return;
    for (let k = 0; k < 3; k++) d[i + k] = (c[k] * a + d[i + k] * da * (1 - a)) / oa;
    d[i + 3] = oa * 255;
  }

  /** axis-aligned rectangle snapped to whole pixels */
  fillRect(x: number, y: number, w: number, h: number, color: Color): void {
    const c = parseColor(color);
    const x0 = Math.max(0, Math.round(x)), x1 = Math.min(this.width, Math.round(x + w));
    const y0 = Math.max(0, Math.round(y)), y1 = Math.min(this.height, Math.round(y + h));
    for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) this.blend(i, j, c);
  }

  strokeRect(x: number, y: number, w: number, h: number, color: Color, width = 1): void {
    this.polyline([[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]], color, { width });
  }

  line(x0: number, y0: number, x1: number, y1: number, color: Color, opts: StrokeOptions = {}): void {
    this.polyline([[x0, y0], [x1, y1]], color, opts);
  }

  /**
   * Anti-aliased stroke through `points` (round joins and caps). Coverage is accumulated as the max
   * over segments before compositing, so joints of translucent strokes are not drawn twice.
   * Non-finite points break the line (gaps in a series).
   */
  polyline(points: readonly Point[], color: Color, { width = 1, dash }: StrokeOptions = {}): void {
    const c = parseColor(color);
    const hw = width / 2;
    let segs: Array<[Point, Point]> = [];
    for (let k = 1; k < points.length; k++) {
      const a = points[k - 1], b = points[k];
      if ([a[0], a[1], b[0], b[1]].every(Number.isFinite)) segs.push([a, b]);
    }
    if (points.length === 1 && points[0].every(Number.isFinite)) segs.push([points[0], points[0]]);
    if (dash) segs = dashSegments(segs, dash);
    if (!segs.length) return;
    let bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
    for (const [a, b] of segs) {
      bx0 = Math.min(bx0, a[0], b[0]); by0 = Math.min(by0, a[1], b[1]);
      bx1 = Math.max(bx1, a[0], b[0]); by1 = Math.max(by1, a[1], b[1]);
    }
    const X0 = Math.max(0, Math.floor(bx0 - hw - 1)), Y0 = Math.max(0, Math.floor(by0 - hw - 1));
    const X1 = Math.min(this.width, Math.ceil(bx1 + hw + 1)), Y1 = Math.min(this.height, Math.ceil(by1 + hw + 1));
    if (X1 <= X0 || Y1 <= Y0) return;
    const mw = X1 - X0;
    const mask = new Float32Array(mw * (Y1 - Y0)); // coverage over the bounding box
    for (const [a, b] of segs) {
      const sx0 = Math.max(X0, Math.floor(Math.min(a[0], b[0]) - hw - 1)), sx1 = Math.min(X1, Math.ceil(Math.max(a[0], b[0]) + hw + 1));
      const sy0 = Math.max(Y0, Math.floor(Math.min(a[1], b[1]) - hw - 1)), sy1 = Math.min(Y1, Math.ceil(Math.max(a[1], b[1]) + hw + 1));
      for (let j = sy0; j < sy1; j++) {
        for (let i = sx0; i < sx1; i++) {
          const cov = Math.min(1, Math.max(0, hw + 0.5 - distToSegment(i + 0.5, j + 0.5, a, b)));
          const m = (j - Y0) * mw + (i - X0);
          if (cov > mask[m]) mask[m] = cov;
        }
      }
    }
    for (let j = Y0; j < Y1; j++) for (let i = X0; i < X1; i++) this.blend(i, j, c, mask[(j - Y0) * mw + (i - X0)]);
  }

  /** anti-aliased filled disc */
  fillCircle(cx: number, cy: number, r: number, color: Color): void {
    const c = parseColor(color);
    for (let j = Math.floor(cy - r - 1); j <= Math.ceil(cy + r + 1); j++) {
      for (let i = Math.floor(cx - r - 1); i <= Math.ceil(cx + r + 1); i++) {
        this.blend(i, j, c, Math.min(1, Math.max(0, r + 0.5 - Math.hypot(i + 0.5 - cx, j + 0.5 - cy))));
      }
    }
  }

  /** anti-aliased ring of the given stroke width centred on radius r */
  strokeCircle(cx: number, cy: number, r: number, color: Color, width = 1): void {
    const c = parseColor(color);
    const hw = width / 2;
    for (let j = Math.floor(cy - r - hw - 1); j <= Math.ceil(cy + r + hw + 1); j++) {
      for (let i = Math.floor(cx - r - hw - 1); i <= Math.ceil(cx + r + hw + 1); i++) {
        const d = Math.abs(Math.hypot(i + 0.5 - cx, j + 0.5 - cy) - r);
        this.blend(i, j, c, Math.min(1, Math.max(0, hw + 0.5 - d)));
      }
    }
  }

  /** a line with a filled triangular head at (x1, y1) (scan-path diagrams) */
  arrow(x0: number, y0: number, x1: number, y1: number, color: Color, opts: { width?: number; head?: number } = {}): void {
    const width = opts.width ?? 1;
    const head = opts.head ?? 4 + 2 * width;
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len === 0) return;
    const ux = (x1 - x0) / len, uy = (y1 - y0) / len;
    const h = Math.min(head, len);
    const bx = x1 - ux * h, by = y1 - uy * h;
    this.line(x0, y0, bx, by, color, { width });
    this.fillPolygon([[x1, y1], [bx - uy * h * 0.5, by + ux * h * 0.5], [bx + uy * h * 0.5, by - ux * h * 0.5]], color);
  }

  /** filled polygon (even-odd rule), anti-aliased by 4x4 supersampling per pixel */
  fillPolygon(points: readonly Point[], color: Color): void {
    if (points.length < 3) return;
    const c = parseColor(color);
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const X0 = Math.max(0, Math.floor(Math.min(...xs))), X1 = Math.min(this.width, Math.ceil(Math.max(...xs)));
    const Y0 = Math.max(0, Math.floor(Math.min(...ys))), Y1 = Math.min(this.height, Math.ceil(Math.max(...ys)));
    for (let j = Y0; j < Y1; j++) {
      for (let i = X0; i < X1; i++) {
        let inside = 0;
        for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (pointInPolygon(i + (sx + 0.5) / 4, j + (sy + 0.5) / 4, points)) inside++;
        this.blend(i, j, c, inside / 16);
      }
    }
  }

  /** Text in the embedded font; (x, y) is the anchor chosen by align/baseline. */
  text(x: number, y: number, str: string, color: Color, { scale = 1, align = 'left', baseline = 'top', rotate = 0 }: TextOptions = {}): void {
    const c = parseColor(color);
    const s = Math.max(1, Math.round(scale));
    const w = textWidth(str, s);
    const h = GLYPH_H * s;
    // offsets in text space (u along the text, v down across it)
    const u0 = align === 'left' ? 0 : align === 'center' ? -Math.round(w / 2) : -w;
    const v0 = baseline === 'top' ? 0 : baseline === 'middle' ? -Math.round(h / 2) : -h;
    const ox = Math.round(x), oy = Math.round(y);
    for (let k = 0; k < str.length; k++) {
      for (const [gc, gr] of glyph(str[k])) {
        for (let dy = 0; dy < s; dy++) {
          for (let dx = 0; dx < s; dx++) {
            const u = u0 + (k * CELL_W + gc) * s + dx;
            const v = v0 + gr * s + dy;
            if (rotate === 90) this.blend(ox + v, oy - u - 1, c);
            else this.blend(ox + u, oy + v, c);
          }
        }
      }
    }
  }

  /** copies `src` with its top-left corner at (x, y), compositing by alpha */
  drawCanvas(src: Canvas, x: number, y: number): void {
    for (let j = 0; j < src.height; j++) {
      for (let i = 0; i < src.width; i++) {
        const k = (j * src.width + i) * 4;
        const d = src.data;
        this.blend(x + i, y + j, [d[k], d[k + 1], d[k + 2], d[k + 3]]);
      }
    }
  }
}

function distToSegment(px: number, py: number, a: Point, b: Point): number {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const l2 = dx * dx + dy * dy;
  const t = l2 === 0 ? 0 : Math.min(1, Math.max(0, ((px - a[0]) * dx + (py - a[1]) * dy) / l2));
  return Math.hypot(px - (a[0] + t * dx), py - (a[1] + t * dy));
}

function pointInPolygon(x: number, y: number, pts: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i], [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** splits segments into dashes of `on` px separated by `off` px, continuing the pattern across joints */
function dashSegments(segs: Array<[Point, Point]>, [on, off]: readonly [number, number]): Array<[Point, Point]> {
  const out: Array<[Point, Point]> = [];
  const period = on + off;
  let phase = 0; // distance into the current period
  for (const [a, b] of segs) {
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    let t = 0;
    while (t < len) {
      const inOn = phase < on;
      const step = Math.min(len - t, inOn ? on - phase : period - phase);
      if (inOn) {
        const p = (s: number): Point => [a[0] + ((b[0] - a[0]) * s) / len, a[1] + ((b[1] - a[1]) * s) / len];
        out.push([p(t), p(t + step)]);
      }
      t += step;
      phase = (phase + step) % period;
    }
  }
  return out;
}
