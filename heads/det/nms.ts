// Non-maximum suppression on the host, as mmcv's nms (ops/csrc/pytorch/cpu/nms.cpp, offset 0): boxes
// in descending score order; a box is suppressed when its IoU with a kept one is > the threshold.
// batchedNms (mmcv batched_nms): NMS within each group (class, or FPN level for RPN proposals), the
// kept boxes of all groups then in descending score order.

/** Indices kept, in descending score order. */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThr: number, candidates?: ArrayLike<number>): number[] {
  const order = candidates ? Array.from(candidates) : Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const suppressed = new Uint8Array(order.length);
  const keep: number[] = [];
  for (let i = 0; i < order.length; i++) {
    if (suppressed[i]) continue;
    const a = order[i];
    keep.push(a);
    const ax1 = boxes[4 * a], ay1 = boxes[4 * a + 1], ax2 = boxes[4 * a + 2], ay2 = boxes[4 * a + 3];
    const areaA = (ax2 - ax1) * (ay2 - ay1);
    for (let j = i + 1; j < order.length; j++) {
      if (suppressed[j]) continue;
      const b = order[j];
      const w = Math.max(0, Math.min(ax2, boxes[4 * b + 2]) - Math.max(ax1, boxes[4 * b]));
      const h = Math.max(0, Math.min(ay2, boxes[4 * b + 3]) - Math.max(ay1, boxes[4 * b + 1]));
      const inter = w * h;
      const ovr = inter / (areaA + (boxes[4 * b + 2] - boxes[4 * b]) * (boxes[4 * b + 3] - boxes[4 * b + 1]) - inter);
      if (ovr > iouThr) suppressed[j] = 1;
    }
  }
  return keep;
}

/** NMS per group id; returns the kept indices of all groups in descending score order. */
export function batchedNms(boxes: ArrayLike<number>, scores: ArrayLike<number>, groups: ArrayLike<number>, iouThr: number): number[] {
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const g = groups[i];
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push(i);
  }
  const keep: number[] = [];
  for (const idx of byGroup.values()) keep.push(...nms(boxes, scores, iouThr, idx));
  return keep.sort((a, b) => scores[b] - scores[a] || a - b);
}
