// pycocotools.mask, on COCO JSON RLEs ({size: [h, w], counts: "<compressed>"}): encode, decode, area,
// toBbox, merge, iou, frPyObjects, with the dispatch rules of `PythonAPI/pycocotools/_mask.pyx`
// (cocodataset/cocoapi @ 8c9bcc3). The typed-array core is in rle.ts / poly.ts / iou.ts.
import { type Rle, type RleJson, isRleJson, rleArea, rleDecode, rleEncode, rleFromJson, rleMerge, rleToBbox, rleToJson } from './rle.ts';
import { rleFrBbox, rleFrPoly } from './poly.ts';
import { type Box, bbIou, rleIou } from './iou.ts';

type RleLike = RleJson | Rle;
const toRle = (o: RleLike): Rle => ('counts' in o && o.counts instanceof Uint32Array ? (o as Rle) : rleFromJson(o as RleJson));

/** Encode a (h, w) row-major binary mask to a compressed RLE. */
export const encode = (mask: ArrayLike<number>, h: number, w: number) => rleToJson(rleEncode(mask, h, w));
/** Decode to a (h, w) row-major Uint8Array. */
export const decode = (rle: RleLike) => rleDecode(toRle(rle));
export const area = (rle: RleLike) => rleArea(toRle(rle));
export const toBbox = (rle: RleLike) => rleToBbox(toRle(rle));
/** Union (or intersection) of RLEs of one size, compressed. */
export const merge = (rles: readonly RleLike[], intersect = false) => rleToJson(rleMerge(rles.map(toRle), intersect));

/**
 * IoU matrix (D, G) as nested arrays, of boxes [x, y, w, h] or of RLEs (not mixed); `iscrowd[g]` makes the
 * union the detection's area. Empty input gives [] as pycocotools does.
 */
export function iou(dt: readonly (Box | RleLike)[], gt: readonly (Box | RleLike)[], iscrowd: ArrayLike<number | boolean>): number[][] {
  if (dt.length === 0 || gt.length === 0) return [];
  const isBox = (o: unknown) => Array.isArray(o) && o.length === 4;
  const allBox = dt.every(isBox) && gt.every(isBox);
  const allRle = dt.every((o) => !Array.isArray(o)) && gt.every((o) => !Array.isArray(o));
  if (!allBox && !allRle) throw new Error('iou: dt and gt must both be boxes [x, y, w, h] or both RLEs');
  if (iscrowd.length !== gt.length) throw new Error(`iou: iscrowd has ${iscrowd.length} flags for ${gt.length} ground truths`);
  const o = allBox ? bbIou(dt as Box[], gt as Box[], iscrowd) : rleIou((dt as RleLike[]).map(toRle), (gt as RleLike[]).map(toRle), iscrowd);
  const G = gt.length;
  return Array.from({ length: dt.length }, (_, d) => Array.from(o.subarray(d * G, d * G + G)));
}

/**
 * frPyObjects: a list of polygons (or of boxes when the first has 4 numbers) -> list of RLEs; a single
 * polygon or box -> one RLE; an uncompressed RLE (counts list) -> its compressed form.
 */
export function frPyObjects(obj: number[][] | number[] | RleJson | RleJson[], h: number, w: number): RleJson | RleJson[] {
  if (Array.isArray(obj) && obj.length > 0) {
    const first = obj[0];
    if (Array.isArray(first)) {
      const list = obj as number[][];
      if (first.length === 4) return list.map((b) => rleToJson(rleFrBbox(b, h, w)));
      if (first.length > 4) return list.map((p) => rleToJson(rleFrPoly(p, h, w)));
    } else if (isRleJson(first)) {
      return (obj as RleJson[]).map((r) => rleToJson(rleFromJson(r)));
    } else if (typeof first === 'number') {
      const flat = obj as number[];
      if (flat.length === 4) return rleToJson(rleFrBbox(flat, h, w));
      if (flat.length > 4) return rleToJson(rleFrPoly(flat, h, w));
    }
  } else if (isRleJson(obj)) {
    return rleToJson(rleFromJson(obj));
  }
  throw new Error('frPyObjects: input type is not supported (polygons, boxes [x, y, w, h] or RLEs {size, counts})');
}
