// COCO instance masks: run-length encodings (pycocotools maskApi.c, column-major) and polygons.
import type { Rle } from '../types.ts';

/** Uncompressed counts of an RLE (decodes the compressed string form, maskApi.c rleFrString). */
export function rleCounts(rle: Rle): number[] {
  if (Array.isArray(rle.counts)) return rle.counts;
  const s = rle.counts;
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = 1, c = 0;
    while (more) {
      if (p >= s.length) throw new Error(`RLE string ends inside a count: '${s}'`);
      c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** Decodes an RLE to an (H, W) row-major 0/1 mask. */
export function decodeRle(rle: Rle): Uint8Array {
  const [h, w] = rle.size;
  const counts = rleCounts(rle);
  const colMajor = new Uint8Array(h * w);
  let pos = 0, v = 0;
  for (const n of counts) {
    if (n < 0 || pos + n > h * w) throw new Error(`RLE counts exceed the mask size ${h}x${w}`);
    if (v) colMajor.fill(1, pos, pos + n);
    pos += n;
    v ^= 1;
  }
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[y * w + x] = colMajor[x * h + y];
  return out;
}

/** Area (pixel count) of an RLE. */
export function rleArea(rle: Rle): number {
  const c = rleCounts(rle);
  let a = 0;
  for (let i = 1; i < c.length; i += 2) a += c[i];
  return a;
}

/**
 * Fills polygons (flat [x0, y0, x1, y1, ...] rings, continuous pixel coordinates) into an (H, W) 0/1
 * mask, even-odd rule, a pixel is set when its centre is inside.
 */
export function rasterizePolygons(polys: number[][], width: number, height: number, out = new Uint8Array(width * height), value = 1): Uint8Array {
  const xs: number[] = [];
  for (let y = 0; y < height; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (const p of polys) {
      const n = p.length >> 1;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const yi = p[2 * i + 1], yj = p[2 * j + 1];
        if (yi > cy !== yj > cy) xs.push(p[2 * i] + ((cy - yi) / (yj - yi)) * (p[2 * j] - p[2 * i]));
      }
    }
    if (!xs.length) continue;
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const x0 = Math.max(0, Math.ceil(xs[k] - 0.5));
      const x1 = Math.min(width - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
      if (x1 >= x0) out.fill(value, y * width + x0, y * width + x1 + 1);
    }
  }
  return out;
}

/** Shoelace area of polygons (sum over rings, absolute per ring). */
export function polygonArea(polys: number[][]): number {
  let total = 0;
  for (const p of polys) {
    let a = 0;
    const n = p.length >> 1;
    for (let i = 0, j = n - 1; i < n; j = i++) a += p[2 * j] * p[2 * i + 1] - p[2 * i] * p[2 * j + 1];
    total += Math.abs(a) / 2;
  }
  return total;
}
