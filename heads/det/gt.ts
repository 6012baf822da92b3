// A collated detection batch (datasets/types.ts Batch: flat boxes with the image index of each box)
// -> the ground truth of each image, as mmdet trains on it: crowd instances are left out (PackDetInputs
// moves iscrowd to ignored_instances, which the MaxIoUAssigner never sees), and so are degenerate
// boxes: non-finite, or narrower / lower than 1 pixel (CocoDataset.parse_data_info drops w < 1 or
// h < 1; here in network-input pixels, after the pipeline clipped boxes to the image).
import type { Batch } from '../../datasets/types.ts';
import type { GtInstances } from './roi-head.ts';

export function gtFromBatch(batch: Batch): { gts: GtInstances[]; dropped: number } {
  const [B, H, W] = batch.shape;
  const boxes = batch.boxes ?? new Float32Array(0), cls = batch.boxClasses ?? new Int32Array(0), bi = batch.boxBatchIndex ?? new Int32Array(0);
  const per: number[][] = Array.from({ length: B }, () => []);
  let dropped = 0;
  for (let i = 0; i < cls.length; i++) {
    const [x1, y1, x2, y2] = boxes.subarray(4 * i, 4 * i + 4);
    const ok = [x1, y1, x2, y2].every(Number.isFinite) && x2 - x1 >= 1 && y2 - y1 >= 1 && !batch.iscrowd?.[i];
    if (ok && bi[i] >= 0 && bi[i] < B) per[bi[i]].push(i);
    else dropped++;
  }
  const px = H * W;
  const gts = per.map((idx) => ({
    boxes: Float32Array.from(idx.flatMap((i) => Array.from(boxes.subarray(4 * i, 4 * i + 4)))),
    labels: Int32Array.from(idx, (i) => cls[i]),
    masks: batch.instanceMasks ? (() => {
      const m = new Uint8Array(idx.length * px);
      idx.forEach((i, k) => m.set(batch.instanceMasks!.subarray(i * px, (i + 1) * px), k * px));
      return m;
    })() : null,
  }));
  return { gts, dropped };
}
