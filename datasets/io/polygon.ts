// Polygon masks: rasterisation by pixel centre (synthetic masks, instance masks of transformed
// polygons) and area. COCO RLE masks are handled by eval/coco/rle.ts (a port of maskApi.c).

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
