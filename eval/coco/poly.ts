// Polygons and boxes to RLE, ported from cocoapi `common/maskApi.c` (rleFrPoly, rleFrBbox) and the
// dispatch of `PythonAPI/pycocotools/_mask.pyx` frPyObjects / `coco.py` annToRLE (cocodataset/cocoapi @ 8c9bcc3).
// rleFrPoly rasterises at 5x, walks every edge pixel by pixel, keeps the points where x changes and
// downsamples them to column boundaries: the C integer casts (truncation toward zero) and double
// arithmetic are kept step by step so areas match pycocotools exactly.
import { type Rle, type RleJson, isRleJson, rleFromJson, rleMerge } from './rle.ts';

const cInt = (v: number) => Math.trunc(v) | 0; // C (int) cast of a double (in range)

/** Rasterise one polygon [x1, y1, x2, y2, ...] on an h x w image (rleFrPoly; odd trailing value ignored). */
export function rleFrPoly(xy: ArrayLike<number>, h: number, w: number): Rle {
  const k = Math.floor(xy.length / 2); // _mask.pyx passes int(len(p)/2)
  if (k === 0) return { h, w, counts: Uint32Array.of(h * w) };
  const scale = 5;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = cInt(scale * xy[j * 2] + 0.5);
  x[k] = x[0];
  for (let j = 0; j < k; j++) y[j] = cInt(scale * xy[j * 2 + 1] + 0.5);
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  // dense boundary points at 5x
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy; // 0/0 = NaN for a repeated vertex: that point is never read
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = cInt(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = cInt(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // points along the y-boundary, downsampled to pixel columns
  const kk = m;
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < kk; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx.push(cInt(xd));
    by.push(cInt(yd));
  }
  // run lengths from the sorted boundary positions (column-major index x*h + y)
  const n = bx.length;
  const a = new Uint32Array(n + 1);
  for (let j = 0; j < n; j++) a[j] = (bx[j] * h + by[j]) >>> 0;
  a[n] = (h * w) >>> 0;
  a.sort(); // typed-array sort is numeric ascending, as qsort with uintCompare
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] = (a[j] - p) >>> 0;
    p = t;
  }
  const b: number[] = [a[0]];
  let j = 1;
  while (j < a.length) {
    if (a[j] > 0) b.push(a[j++]);
    else {
      j++;
      if (j < a.length) b[b.length - 1] += a[j++];
    }
  }
  return { h, w, counts: Uint32Array.from(b) };
}

/** A box [x, y, w, h] as a 4-corner polygon through rleFrPoly (rleFrBbox). */
export function rleFrBbox(bb: readonly number[], h: number, w: number): Rle {
  const xs = bb[0];
  const xe = xs + bb[2];
  const ys = bb[1];
  const ye = ys + bb[3];
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/** COCO `segmentation` field: polygons, an RLE with counts list (crowd GT) or a compressed RLE. */
export type Segmentation = number[][] | RleJson;

/**
 * annToRLE: the one RLE of an annotation's segmentation on an h x w image. Polygons are rasterised and
 * merged (union); an uncompressed RLE is taken as is; a compressed RLE is decoded.
 * pycocotools reads a polygon list whose FIRST polygon has exactly 4 numbers as boxes and then fails
 * (frBbox wants a numpy array): we refuse it with that reason instead of guessing.
 */
export function segmentationToRle(segm: unknown, h: number, w: number, what = 'segmentation'): Rle {
  if (Array.isArray(segm)) {
    if (segm.length === 0) throw new Error(`${what}: empty polygon list (pycocotools fails on segm[0])`);
    if (!segm.every((p) => Array.isArray(p) && p.every((c: unknown) => typeof c === 'number' && Number.isFinite(c)))) {
      throw new Error(`${what}: polygons must be lists of finite numbers [x1, y1, x2, y2, ...]`);
    }
    const polys = segm as number[][];
    if (polys[0].length === 4) {
      throw new Error(`${what}: first polygon has 4 numbers (2 points); pycocotools' frPyObjects reads such a list as boxes and fails`);
    }
    if (polys[0].length < 4) throw new Error(`${what}: first polygon has ${polys[0].length} numbers; pycocotools needs more than 4`);
    return rleMerge(polys.map((p) => rleFrPoly(p, h, w)));
  }
  if (isRleJson(segm)) {
    const R = rleFromJson(segm);
    return R;
  }
  throw new Error(`${what}: expected polygons [[x1, y1, ...], ...] or an RLE {size, counts}, got ${JSON.stringify(segm)?.slice(0, 80)}`);
}
