// mmdet _do_paste_mask (models/roi_heads/mask_heads/fcn_mask_head.py): a box's S x S mask probabilities
// resampled into the image with grid_sample (bilinear, align_corners=False, zeros outside), then
// thresholded (>= mask_thr). Pixel (x, y) of the image reads the mask at
//   u = ((x + 0.5 - x1) / (x2 - x1)) * S - 0.5   (and v likewise), corners outside the mask count 0.

/** (h*w) 0/1 mask of one detection; only pixels within a pixel of the box can be set. */
export function pasteMask(probs: ArrayLike<number>, S: number, box: ArrayLike<number>, imgH: number, imgW: number, thr: number): Uint8Array {
  const out = new Uint8Array(imgH * imgW);
  const [x1, y1, x2, y2] = [box[0], box[1], box[2], box[3]];
  const bw = x2 - x1, bh = y2 - y1;
  if (!(bw > 0 && bh > 0)) return out;
  const xa = Math.max(Math.floor(x1) - 1, 0), xb = Math.min(Math.ceil(x2) + 1, imgW);
  const ya = Math.max(Math.floor(y1) - 1, 0), yb = Math.min(Math.ceil(y2) + 1, imgH);
  const at = (r: number, c: number) => (r >= 0 && r < S && c >= 0 && c < S ? probs[r * S + c] : 0);
  for (let y = ya; y < yb; y++) {
    const v = ((y + 0.5 - y1) / bh) * S - 0.5;
    const v0 = Math.floor(v), fv = v - v0;
    for (let x = xa; x < xb; x++) {
      const u = ((x + 0.5 - x1) / bw) * S - 0.5;
      const u0 = Math.floor(u), fu = u - u0;
      const p = (1 - fv) * ((1 - fu) * at(v0, u0) + fu * at(v0, u0 + 1)) + fv * ((1 - fu) * at(v0 + 1, u0) + fu * at(v0 + 1, u0 + 1));
      if (p >= thr) out[y * imgW + x] = 1;
    }
  }
  return out;
}
