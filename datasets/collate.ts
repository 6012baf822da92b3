// Items -> one Batch: images into a single (B, H, W, 3) Float32Array, labels (B), boxes flattened
// with the image index of each box (ultralytics' batch_idx), masks stacked.
import type { Batch, BatchInfo, Item } from './types.ts';

/**
 * `into`, when given, is a (capacity, H, W, 3) buffer whose slots the pipeline may already have
 * written (item i's image is `into`'s slot i): when every item is there and the batch is full, it
 * becomes the batch's image array as is, with no copy.
 */
export function collate(items: Item[], info: BatchInfo[], skipped: number[], into?: Float32Array): Batch {
  const B = items.length;
  const H = B ? items[0].height : 0, W = B ? items[0].width : 0;
  const px = H * W * 3;
  const inPlace = (it: Item, i: number) => it.image.buffer === into!.buffer && it.image.byteOffset === into!.byteOffset + i * px * 4 && it.image.length === px;
  const images = into && into.length === B * px ? into : new Float32Array(B * px);
  items.forEach((it, i) => {
    if (it.height !== H || it.width !== W) {
      throw new Error(`collate: ${info[i].file} is ${it.width}x${it.height} but the batch is ${W}x${H}; use a pipeline with a fixed output size`);
    }
    if (images !== into || !inPlace(it, i)) images.set(it.image, i * px);
  });
  const batch: Batch = { images, shape: [B, H, W, 3], info, skipped };
  if (B && items.every((it) => it.label !== undefined)) batch.labels = Int32Array.from(items, (it) => it.label!);
  if (B && items.every((it) => it.boxes)) {
    const total = items.reduce((n, it) => n + it.classes!.length, 0);
    const boxes = new Float32Array(total * 4), cls = new Int32Array(total), bi = new Int32Array(total);
    const crowd = new Uint8Array(total), diff = new Uint8Array(total);
    let k = 0;
    items.forEach((it, i) => {
      const n = it.classes!.length;
      boxes.set(it.boxes!, k * 4);
      cls.set(it.classes!, k);
      bi.fill(i, k, k + n);
      if (it.iscrowd) crowd.set(it.iscrowd, k);
      if (it.difficult) diff.set(it.difficult, k);
      k += n;
    });
    Object.assign(batch, { boxes, boxClasses: cls, boxBatchIndex: bi, iscrowd: crowd, difficult: diff });
    if (items.every((it) => it.instanceMasks)) {
      const m = new Uint8Array(total * H * W);
      let o = 0;
      for (const it of items) {
        m.set(it.instanceMasks!, o);
        o += it.instanceMasks!.length;
      }
      batch.instanceMasks = m;
    }
  }
  if (B && items.every((it) => it.mask)) {
    const masks = new Uint8Array(B * H * W);
    items.forEach((it, i) => masks.set(it.mask!, i * H * W));
    batch.masks = masks;
  }
  return batch;
}
