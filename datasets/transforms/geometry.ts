// Geometry for detection and segmentation. Every op here (letterbox, random scale + crop,
// ultralytics' RandomPerspective restricted to scale + translate, mosaic placement, flips) is an
// axis-aligned map out = s * src + t, so one map per source image carries image pixels, boxes,
// polygons and masks through the whole chain and they stay consistent by construction. The image
// is resampled once, from the decoded source straight into the output.
import type { Affine, RgbImage } from '../types.ts';

export const IDENTITY: Affine = { sx: 1, sy: 1, tx: 0, ty: 0 };

/** `second` after `first`. */
export function compose(first: Affine, second: Affine): Affine {
  return { sx: first.sx * second.sx, sy: first.sy * second.sy, tx: second.sx * first.tx + second.tx, ty: second.sy * first.ty + second.ty };
}

export const scaleTranslate = (sx: number, sy: number, tx: number, ty: number): Affine => ({ sx, sy, tx, ty });

/** Horizontal flip of an output of width `w`: x -> w - x. */
export const hflipMap = (w: number): Affine => ({ sx: -1, sy: 1, tx: w, ty: 0 });
export const vflipMap = (h: number): Affine => ({ sx: 1, sy: -1, tx: 0, ty: h });

/** [x0, y0, x1, y1] */
export type Rect = [number, number, number, number];

/** Image of the source rectangle [0, w] x [0, h] under `a`. */
export function mapRect(a: Affine, w: number, h: number): Rect {
  const xs = [a.tx, a.sx * w + a.tx], ys = [a.ty, a.sy * h + a.ty];
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

export function intersect(a: Rect, b: Rect): Rect {
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
}

export function mirrorRect(r: Rect, a: Affine): Rect {
  const x = [a.sx * r[0] + a.tx, a.sx * r[2] + a.tx], y = [a.sy * r[1] + a.ty, a.sy * r[3] + a.ty];
  return [Math.min(...x), Math.min(...y), Math.max(...x), Math.max(...y)];
}

/** Maps (N*4) xyxy boxes; a negative scale (flip) swaps the corners back into x1 < x2. */
export function mapBoxes(boxes: ArrayLike<number>, a: Affine): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const x1 = a.sx * boxes[i] + a.tx, x2 = a.sx * boxes[i + 2] + a.tx;
    const y1 = a.sy * boxes[i + 1] + a.ty, y2 = a.sy * boxes[i + 3] + a.ty;
    out[i] = Math.min(x1, x2);
    out[i + 1] = Math.min(y1, y2);
    out[i + 2] = Math.max(x1, x2);
    out[i + 3] = Math.max(y1, y2);
  }
  return out;
}

export function clipBoxes(boxes: Float32Array, r: Rect): Float32Array {
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max(boxes[i], r[0]), r[2]);
    boxes[i + 1] = Math.min(Math.max(boxes[i + 1], r[1]), r[3]);
    boxes[i + 2] = Math.min(Math.max(boxes[i + 2], r[0]), r[2]);
    boxes[i + 3] = Math.min(Math.max(boxes[i + 3], r[1]), r[3]);
  }
  return boxes;
}

/** Maps polygon rings and clamps their points into `r`. */
export function mapPolygons(polys: number[][], a: Affine, r: Rect): number[][] {
  return polys.map((p) => {
    const q = new Array<number>(p.length);
    for (let i = 0; i < p.length; i += 2) {
      q[i] = Math.min(Math.max(a.sx * p[i] + a.tx, r[0]), r[2]);
      q[i + 1] = Math.min(Math.max(a.sy * p[i + 1] + a.ty, r[1]), r[3]);
    }
    return q;
  });
}

/**
 * ultralytics RandomPerspective.box_candidates: keep a box whose clipped size exceeds `whThr`
 * pixels, whose area is more than `areaThr` of its unclipped (transformed) area, aspect < arThr.
 */
export function boxCandidates(before: Float32Array, after: Float32Array, whThr = 2, arThr = 100, areaThr = 0.1): boolean[] {
  const keep: boolean[] = [];
  const eps = 1e-16;
  for (let i = 0; i < after.length; i += 4) {
    const w1 = before[i + 2] - before[i], h1 = before[i + 3] - before[i + 1];
    const w2 = after[i + 2] - after[i], h2 = after[i + 3] - after[i + 1];
    const ar = Math.max(w2 / (h2 + eps), h2 / (w2 + eps));
    keep.push(w2 > whThr && h2 > whThr && (w2 * h2) / (w1 * h1 + eps) > areaThr && ar < arThr);
  }
  return keep;
}

/** A decoded source placed into the output: `map` takes SOURCE (annotation) pixels to output pixels. */
export interface Tile {
  image: RgbImage;
  /** decoded pixels per source pixel (the decode may already have resized) */
  decodeScale: [number, number];
  /** source size [w, h] in annotation pixels */
  sourceSize: [number, number];
  map: Affine;
  /** region of the output this tile may cover (mosaic cell); defaults to the whole output */
  clip?: Rect;
}

/** Output region a tile covers: its mapped extent within its clip and the output. */
export function tileRect(t: Tile, outW: number, outH: number): Rect {
  let r = mapRect(t.map, t.sourceSize[0], t.sourceSize[1]);
  if (t.clip) r = intersect(r, t.clip);
  return intersect(r, [0, 0, outW, outH]);
}

/** Renders tiles into an (outH, outW, 3) image, bilinear, `fill` where no tile covers. */
export function renderTiles(tiles: Tile[], outW: number, outH: number, fill: readonly [number, number, number]): RgbImage {
  const out = new Uint8Array(outW * outH * 3);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = fill[0];
    out[i + 1] = fill[1];
    out[i + 2] = fill[2];
  }
  for (const t of tiles) {
    const r = tileRect(t, outW, outH);
    const x0 = Math.max(0, Math.round(r[0])), x1 = Math.min(outW, Math.round(r[2]));
    const y0 = Math.max(0, Math.round(r[1])), y1 = Math.min(outH, Math.round(r[3]));
    if (x1 <= x0 || y1 <= y0) continue;
    const { data: src, width: sw, height: sh } = t.image;
    const kx = t.decodeScale[0] / t.map.sx, ky = t.decodeScale[1] / t.map.sy;
    // per-column source positions and weights (decoded pixel-index coordinates)
    const cols = x1 - x0;
    const xa = new Int32Array(cols), xb = new Int32Array(cols), fx = new Float32Array(cols);
    for (let k = 0; k < cols; k++) {
      const u = (x0 + k + 0.5 - t.map.tx) * kx - 0.5;
      const fl = Math.floor(u);
      fx[k] = u - fl;
      xa[k] = Math.min(Math.max(fl, 0), sw - 1) * 3;
      xb[k] = Math.min(Math.max(fl + 1, 0), sw - 1) * 3;
    }
    for (let y = y0; y < y1; y++) {
      const v = (y + 0.5 - t.map.ty) * ky - 0.5;
      const fl = Math.floor(v);
      const fy = v - fl;
      const ra = Math.min(Math.max(fl, 0), sh - 1) * sw * 3, rb = Math.min(Math.max(fl + 1, 0), sh - 1) * sw * 3;
      let o = (y * outW + x0) * 3;
      for (let k = 0; k < cols; k++, o += 3) {
        const a = ra + xa[k], b = ra + xb[k], c = rb + xa[k], d = rb + xb[k], f = fx[k];
        for (let ch = 0; ch < 3; ch++) {
          const top = src[a + ch] + (src[b + ch] - src[a + ch]) * f;
          const bot = src[c + ch] + (src[d + ch] - src[c + ch]) * f;
          out[o + ch] = (top + (bot - top) * fy + 0.5) | 0;
        }
      }
    }
  }
  return { data: out, width: outW, height: outH };
}

/** Renders a (h, w) label mask through `map`, nearest neighbour, `fill` (ignore) outside. */
export function renderMask(mask: Uint8Array, w: number, h: number, map: Affine, outW: number, outH: number, fill: number, clip?: Rect, out?: Uint8Array): Uint8Array {
  const dst = out ?? new Uint8Array(outW * outH).fill(fill);
  let r = intersect(mapRect(map, w, h), [0, 0, outW, outH]);
  if (clip) r = intersect(r, clip);
  const x0 = Math.max(0, Math.round(r[0])), x1 = Math.min(outW, Math.round(r[2]));
  const y0 = Math.max(0, Math.round(r[1])), y1 = Math.min(outH, Math.round(r[3]));
  if (x1 <= x0 || y1 <= y0) return dst;
  const cols = new Int32Array(x1 - x0);
  for (let k = 0; k < cols.length; k++) cols[k] = Math.min(Math.max(Math.floor((x0 + k + 0.5 - map.tx) / map.sx), 0), w - 1);
  for (let y = y0; y < y1; y++) {
    const sy = Math.min(Math.max(Math.floor((y + 0.5 - map.ty) / map.sy), 0), h - 1);
    const row = sy * w, o = y * outW + x0;
    for (let k = 0; k < cols.length; k++) dst[o + k] = mask[row + cols[k]];
  }
  return dst;
}

/**
 * ultralytics LetterBox (center, scaleup): scale r = min(H / h, W / w) (<= 1 without scaleup), new
 * size round(w r) x round(h r), padding split (round(d - 0.1), round(d + 0.1)). Returns the map of
 * source pixels into the letterboxed image, per-axis exact for the rounded new size.
 */
export function letterbox(w: number, h: number, outW: number, outH: number, scaleup = true): { map: Affine; newW: number; newH: number; left: number; top: number } {
  let r = Math.min(outH / h, outW / w);
  if (!scaleup) r = Math.min(r, 1);
  const newW = Math.round(w * r), newH = Math.round(h * r);
  const dw = (outW - newW) / 2, dh = (outH - newH) / 2;
  const left = Math.max(0, Math.round(dw - 0.1)), top = Math.max(0, Math.round(dh - 0.1)); // max: no -0
  return { map: { sx: newW / w, sy: newH / h, tx: left, ty: top }, newW, newH, left, top };
}
