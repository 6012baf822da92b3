// Non-maximum suppression on host arrays (ultralytics/utils/ops.py `non_max_suppression` around
// torchvision.ops.nms). tfjs' own NMS is synchronous on webgpu only through a GPU->CPU read, so the
// predictions are read back once per batch by the caller and everything here is plain JS.
//
// torchvision nms: boxes in descending score order (stable here), a box is dropped when its IoU with
// an already kept box is > iou (strictly); IoU = inter / (area1 + area2 - inter) with no +1.
// ultralytics' class-aware NMS offsets boxes by class * max_wh (7680) and runs one NMS; that equals
// running the same greedy pass with suppression only inside a class, which is what is done here
// (exactly the same result for boxes within 7680 px of the origin).

/** IoU of box i of `a` and box j of `b` (xyxy, flat arrays) */
export function iouXyxy(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ax1 = a[4 * i], ay1 = a[4 * i + 1], ax2 = a[4 * i + 2], ay2 = a[4 * i + 3];
  const bx1 = b[4 * j], by1 = b[4 * j + 1], bx2 = b[4 * j + 2], by2 = b[4 * j + 3];
  const iw = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const ih = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const inter = iw * ih;
  return inter / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter);
}

/** stable argsort by descending score */
export function argsortDesc(scores: ArrayLike<number>): Int32Array {
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * Greedy NMS: indices of kept boxes in descending score order. `groups` (class per box) limits
 * suppression to boxes of the same group (batched NMS).
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iou: number, groups?: ArrayLike<number>): Int32Array {
  const order = argsortDesc(scores);
  const kept: number[] = [];
  const keptBy = new Map<number, number[]>();
  for (const i of order) {
    const g = groups ? groups[i] : 0;
    let list = keptBy.get(g);
    if (!list) keptBy.set(g, (list = []));
    let suppressed = false;
    for (const j of list) {
      if (iouXyxy(boxes, i, boxes, j) > iou) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) {
      list.push(i);
      kept.push(i);
    }
  }
  return Int32Array.from(kept);
}

export interface NmsOptions {
  /** confidence threshold (0.25 predict, 0.001 val) */
  conf: number;
  /** IoU threshold (0.7) */
  iou: number;
  maxDet: number;
  /** boxes entering NMS at most (highest confidence first) */
  maxNms: number;
  /** one candidate per (anchor, class) above conf (val) instead of the best class only (predict) */
  multiLabel: boolean;
  /** class-agnostic NMS */
  agnostic: boolean;
  /** keep only these classes */
  classes?: readonly number[];
}

export const NMS_VAL: NmsOptions = { conf: 0.001, iou: 0.7, maxDet: 300, maxNms: 30000, multiLabel: true, agnostic: false };
export const NMS_PREDICT: NmsOptions = { conf: 0.25, iou: 0.7, maxDet: 300, maxNms: 30000, multiLabel: false, agnostic: false };

/** Detections of one image: rows (x1, y1, x2, y2, conf, cls), descending confidence. */
export interface Detections {
  boxes: Float32Array;
  scores: Float32Array;
  classes: Int32Array;
  count: number;
}

/**
 * non_max_suppression for one image: `pred` is (A, 4 + nc) row-major, (cx, cy, w, h) then class
 * probabilities, as the Detect head's inference output.
 */
export function nonMaxSuppression(pred: ArrayLike<number>, A: number, nc: number, o: NmsOptions): Detections {
  if (!(o.conf >= 0 && o.conf <= 1)) throw new Error(`nms: conf must be in [0, 1], got ${o.conf}`);
  if (!(o.iou >= 0 && o.iou <= 1)) throw new Error(`nms: iou must be in [0, 1], got ${o.iou}`);
  const no = 4 + nc;
  if (pred.length !== A * no) throw new Error(`nms: ${pred.length} values for ${A} anchors of 4 + ${nc}`);
  const multi = o.multiLabel && nc > 1;
  const cand: Array<[number, number, number]> = []; // [anchor, class, score]
  for (let a = 0; a < A; a++) {
    const r = a * no + 4;
    let best = -Infinity, bestC = 0;
    for (let c = 0; c < nc; c++) if (pred[r + c] > best) { best = pred[r + c]; bestC = c; }
    if (!(best > o.conf)) continue; // candidates: max class score > conf
    if (multi) {
      for (let c = 0; c < nc; c++) if (pred[r + c] > o.conf) cand.push([a, c, pred[r + c]]);
    } else cand.push([a, bestC, best]);
  }
  let rows = o.classes ? cand.filter(([, c]) => o.classes!.includes(c)) : cand;
  if (rows.length > o.maxNms) {
    const order = argsortDesc(rows.map((r) => r[2]));
    rows = Array.from(order.subarray(0, o.maxNms), (i) => rows[i]);
  }
  const n = rows.length;
  const boxes = new Float32Array(n * 4), scores = new Float32Array(n), classes = new Int32Array(n);
  rows.forEach(([a, c, s], i) => {
    const cx = pred[a * no], cy = pred[a * no + 1], w = pred[a * no + 2], h = pred[a * no + 3];
    boxes[4 * i] = cx - w / 2;
    boxes[4 * i + 1] = cy - h / 2;
    boxes[4 * i + 2] = cx + w / 2;
    boxes[4 * i + 3] = cy + h / 2;
    scores[i] = s;
    classes[i] = c;
  });
  const keep = nms(boxes, scores, o.iou, o.agnostic ? undefined : classes).subarray(0, o.maxDet);
  const out: Detections = { boxes: new Float32Array(keep.length * 4), scores: new Float32Array(keep.length), classes: new Int32Array(keep.length), count: keep.length };
  keep.forEach((i, k) => {
    out.boxes.set(boxes.subarray(4 * i, 4 * i + 4), 4 * k);
    out.scores[k] = scores[i];
    out.classes[k] = classes[i];
  });
  return out;
}

/**
 * scale_boxes: input-pixel boxes -> source-image pixels through the letterbox map (out = s * src + t),
 * clipped to the source image (clip_boxes). In place.
 */
export function toSourceBoxes(boxes: Float32Array, map: { sx: number; sy: number; tx: number; ty: number }, width: number, height: number): Float32Array {
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max((boxes[i] - map.tx) / map.sx, 0), width);
    boxes[i + 1] = Math.min(Math.max((boxes[i + 1] - map.ty) / map.sy, 0), height);
    boxes[i + 2] = Math.min(Math.max((boxes[i + 2] - map.tx) / map.sx, 0), width);
    boxes[i + 3] = Math.min(Math.max((boxes[i + 3] - map.ty) / map.sy, 0), height);
  }
  return boxes;
}
