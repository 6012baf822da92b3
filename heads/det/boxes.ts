// Box arithmetic on the host, as mmdet 3.x does it (boxes xyxy in pixels, flat Float32Array (n*4)):
// bbox_overlaps (structures/bbox/bbox_overlaps.py, mode 'iou', eps 1e-6) and the DeltaXYWHBBoxCoder
// (models/task_modules/coders/delta_xywh_bbox_coder.py: bbox2delta / delta2bbox, wh_ratio_clip 16/1000,
// clip to the image when max_shape is given).

export type Boxes = Float32Array; // (n*4) x1 y1 x2 y2

/** IoU matrix (a.n, b.n) row-major: overlaps[i * nb + j] = IoU(a_i, b_j); union clamped to eps. */
export function bboxOverlaps(a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-6): Float32Array {
  const na = a.length / 4, nb = b.length / 4;
  const out = new Float32Array(na * nb);
  for (let i = 0; i < na; i++) {
    const ax1 = a[4 * i], ay1 = a[4 * i + 1], ax2 = a[4 * i + 2], ay2 = a[4 * i + 3];
    const areaA = (ax2 - ax1) * (ay2 - ay1);
    for (let j = 0; j < nb; j++) {
      const bx1 = b[4 * j], by1 = b[4 * j + 1], bx2 = b[4 * j + 2], by2 = b[4 * j + 3];
      const w = Math.max(Math.min(ax2, bx2) - Math.max(ax1, bx1), 0);
      const h = Math.max(Math.min(ay2, by2) - Math.max(ay1, by1), 0);
      const inter = w * h;
      const union = Math.max(areaA + (bx2 - bx1) * (by2 - by1) - inter, eps);
      out[i * nb + j] = inter / union;
    }
  }
  return out;
}

export interface CoderConfig {
  means: [number, number, number, number];
  stds: [number, number, number, number];
}

export const RPN_CODER: CoderConfig = { means: [0, 0, 0, 0], stds: [1, 1, 1, 1] };
export const RCNN_CODER: CoderConfig = { means: [0, 0, 0, 0], stds: [0.1, 0.1, 0.2, 0.2] };

/** bbox2delta: deltas (n*4) [dx, dy, dw, dh] of gt relative to proposals, normalised by means/stds. */
export function encodeBoxes(proposals: ArrayLike<number>, gt: ArrayLike<number>, c: CoderConfig): Float32Array {
  const n = proposals.length / 4;
  if (gt.length !== proposals.length) throw new Error(`encodeBoxes: ${n} proposals but ${gt.length / 4} targets`);
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const pw = proposals[o + 2] - proposals[o], ph = proposals[o + 3] - proposals[o + 1];
    const px = (proposals[o] + proposals[o + 2]) * 0.5, py = (proposals[o + 1] + proposals[o + 3]) * 0.5;
    const gw = gt[o + 2] - gt[o], gh = gt[o + 3] - gt[o + 1];
    const gx = (gt[o] + gt[o + 2]) * 0.5, gy = (gt[o + 1] + gt[o + 3]) * 0.5;
    const d = [(gx - px) / pw, (gy - py) / ph, Math.log(gw / pw), Math.log(gh / ph)];
    for (let k = 0; k < 4; k++) out[o + k] = (d[k] - c.means[k]) / c.stds[k];
  }
  return out;
}

const MAX_RATIO = Math.abs(Math.log(16 / 1000));

/**
 * delta2bbox: boxes (n*4) from priors and deltas; dw/dh clamped to +-|log(16/1000)|; clipped to
 * [0, w] x [0, h] when maxShape [h, w] is given.
 */
export function decodeBoxes(priors: ArrayLike<number>, deltas: ArrayLike<number>, c: CoderConfig, maxShape?: [number, number]): Float32Array {
  const n = priors.length / 4;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    const dx = deltas[o] * c.stds[0] + c.means[0], dy = deltas[o + 1] * c.stds[1] + c.means[1];
    let dw = deltas[o + 2] * c.stds[2] + c.means[2], dh = deltas[o + 3] * c.stds[3] + c.means[3];
    dw = Math.min(Math.max(dw, -MAX_RATIO), MAX_RATIO);
    dh = Math.min(Math.max(dh, -MAX_RATIO), MAX_RATIO);
    const pw = priors[o + 2] - priors[o], ph = priors[o + 3] - priors[o + 1];
    const px = (priors[o] + priors[o + 2]) * 0.5, py = (priors[o + 1] + priors[o + 3]) * 0.5;
    const gx = px + pw * dx, gy = py + ph * dy;
    const gw = pw * Math.exp(dw), gh = ph * Math.exp(dh);
    let x1 = gx - gw * 0.5, y1 = gy - gh * 0.5, x2 = gx + gw * 0.5, y2 = gy + gh * 0.5;
    if (maxShape) {
      const [h, w] = maxShape;
      x1 = Math.min(Math.max(x1, 0), w); x2 = Math.min(Math.max(x2, 0), w);
      y1 = Math.min(Math.max(y1, 0), h); y2 = Math.min(Math.max(y2, 0), h);
    }
    out[o] = x1; out[o + 1] = y1; out[o + 2] = x2; out[o + 3] = y2;
  }
  return out;
}

/** Rows `idx` of a (n*k) array. */
export function takeRows<T extends Float32Array | Int32Array>(a: T, idx: ArrayLike<number>, k: number): T {
  const out = new (a.constructor as { new (n: number): T })(idx.length * k);
  for (let i = 0; i < idx.length; i++) for (let j = 0; j < k; j++) out[i * k + j] = a[idx[i] * k + j];
  return out;
}
