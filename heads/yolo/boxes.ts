// Box arithmetic of YOLOv8 on tensors (ultralytics/utils/metrics.py `bbox_iou`, utils/tal.py
// `make_anchors`, `dist2bbox`, `bbox2dist`, utils/ops.py `xywh2xyxy`). Boxes are in the last
// dimension: xyxy (x1, y1, x2, y2) unless said otherwise.
import { tf, type Tensor } from '../../core/tf.ts';

/** identity whose gradient is zero (torch's `with torch.no_grad()` / `.detach()` inside a graph) */
export const stopGradient: (x: Tensor) => Tensor = tf.customGrad(((x: Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: Tensor) => tf.zerosLike(dy),
})) as unknown as CustomGradientFunc) as (x: Tensor) => Tensor;

/** tf.customGrad's argument type (the typings allow only one signature shape) */
export type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

function sides(b: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  return tf.split(b, 4, -1) as [Tensor, Tensor, Tensor, Tensor];
}

export interface IouOptions {
  /** Complete IoU (Zheng et al. 2020): IoU - rho^2 / c^2 - v * alpha, alpha without gradient */
  ciou?: boolean;
  /** inputs are (cx, cy, w, h) */
  xywh?: boolean;
  eps?: number;
}

/**
 * bbox_iou(box1, box2, xywh, CIoU, eps=1e-7) with broadcasting: (..., 4) x (..., 4) -> (...).
 * As ultralytics, in xyxy mode the heights get +eps (w = x2 - x1, h = y2 - y1 + eps), in xywh mode not.
 */
export function bboxIou(box1: Tensor, box2: Tensor, { ciou = false, xywh = false, eps = 1e-7 }: IouOptions = {}): Tensor {
  return tf.tidy(() => {
    let b1x1: Tensor, b1y1: Tensor, b1x2: Tensor, b1y2: Tensor, b2x1: Tensor, b2y1: Tensor, b2x2: Tensor, b2y2: Tensor;
    let w1: Tensor, h1: Tensor, w2: Tensor, h2: Tensor;
    if (xywh) {
      const [x1, y1, ww1, hh1] = sides(box1);
      const [x2, y2, ww2, hh2] = sides(box2);
      [w1, h1, w2, h2] = [ww1, hh1, ww2, hh2];
      b1x1 = tf.sub(x1, tf.div(w1, 2)); b1x2 = tf.add(x1, tf.div(w1, 2));
      b1y1 = tf.sub(y1, tf.div(h1, 2)); b1y2 = tf.add(y1, tf.div(h1, 2));
      b2x1 = tf.sub(x2, tf.div(w2, 2)); b2x2 = tf.add(x2, tf.div(w2, 2));
      b2y1 = tf.sub(y2, tf.div(h2, 2)); b2y2 = tf.add(y2, tf.div(h2, 2));
    } else {
      [b1x1, b1y1, b1x2, b1y2] = sides(box1);
      [b2x1, b2y1, b2x2, b2y2] = sides(box2);
      w1 = tf.sub(b1x2, b1x1); h1 = tf.add(tf.sub(b1y2, b1y1), eps);
      w2 = tf.sub(b2x2, b2x1); h2 = tf.add(tf.sub(b2y2, b2y1), eps);
    }
    const iw = tf.relu(tf.sub(tf.minimum(b1x2, b2x2), tf.maximum(b1x1, b2x1)));
    const ih = tf.relu(tf.sub(tf.minimum(b1y2, b2y2), tf.maximum(b1y1, b2y1)));
    const inter = tf.mul(iw, ih);
    const union = tf.add(tf.sub(tf.add(tf.mul(w1, h1), tf.mul(w2, h2)), inter), eps);
    let iou = tf.div(inter, union);
    if (ciou) {
      const cw = tf.sub(tf.maximum(b1x2, b2x2), tf.minimum(b1x1, b2x1)); // enclosing box
      const ch = tf.sub(tf.maximum(b1y2, b2y2), tf.minimum(b1y1, b2y1));
      const c2 = tf.add(tf.add(tf.square(cw), tf.square(ch)), eps);
      const rho2 = tf.div(tf.add(
        tf.square(tf.sub(tf.add(b2x1, b2x2), tf.add(b1x1, b1x2))),
        tf.square(tf.sub(tf.add(b2y1, b2y2), tf.add(b1y1, b1y2))),
      ), 4);
      const v = tf.mul(4 / Math.PI ** 2, tf.square(tf.sub(tf.atan(tf.div(w2, h2)), tf.atan(tf.div(w1, h1)))));
      const alpha = stopGradient(tf.div(v, tf.add(tf.sub(v, iou), 1 + eps)));
      iou = tf.sub(iou, tf.add(tf.div(rho2, c2), tf.mul(v, alpha)));
    }
    return tf.squeeze(iou, [-1]);
  });
}

/** dist2bbox: ltrb distances (..., 4) around anchor points (..., 2) -> xyxy or (cx, cy, w, h) */
export function dist2bbox(distance: Tensor, anchors: Tensor, xywh = false): Tensor {
  return tf.tidy(() => {
    const [lt, rb] = tf.split(distance, 2, -1);
    const x1y1 = tf.sub(anchors, lt);
    const x2y2 = tf.add(anchors, rb);
    if (!xywh) return tf.concat([x1y1, x2y2], -1);
    return tf.concat([tf.div(tf.add(x1y1, x2y2), 2), tf.sub(x2y2, x1y1)], -1);
  });
}

/** bbox2dist: xyxy boxes -> ltrb distances from the anchor points, clamped to [0, regMax - 0.01] */
export function bbox2dist(anchors: Tensor, bbox: Tensor, regMax: number): Tensor {
  return tf.tidy(() => {
    const [x1y1, x2y2] = tf.split(bbox, 2, -1);
    return tf.clipByValue(tf.concat([tf.sub(anchors, x1y1), tf.sub(x2y2, anchors)], -1), 0, regMax - 0.01);
  });
}

/** (cx, cy, w, h) -> (x1, y1, x2, y2) */
export function xywh2xyxy(b: Tensor): Tensor {
  return tf.tidy(() => {
    const [xy, wh] = tf.split(b, 2, -1);
    const half = tf.div(wh, 2);
    return tf.concat([tf.sub(xy, half), tf.add(xy, half)], -1);
  });
}

export interface Anchors {
  /** (A, 2) cell centres (x + offset, y + offset) in grid units of each level */
  points: Float32Array;
  /** (A) the level's stride of each anchor */
  strides: Float32Array;
  /** A = sum of H_i * W_i */
  count: number;
}

/** make_anchors(feats, strides, 0.5): per level row-major (y outer, x inner) cell centres and strides */
export function makeAnchors(sizes: ReadonlyArray<readonly [number, number]>, strides: readonly number[], offset = 0.5): Anchors {
  if (sizes.length !== strides.length) throw new Error(`makeAnchors: ${sizes.length} feature maps but ${strides.length} strides`);
  const count = sizes.reduce((n, [h, w]) => n + h * w, 0);
  const points = new Float32Array(count * 2);
  const st = new Float32Array(count);
  let k = 0;
  sizes.forEach(([h, w], i) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, k++) {
        points[2 * k] = x + offset;
        points[2 * k + 1] = y + offset;
        st[k] = strides[i];
      }
    }
  });
  return { points, strides: st, count };
}
