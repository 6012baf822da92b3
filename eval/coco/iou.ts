// IoU between detections and ground truths, ported from cocoapi `common/maskApi.c` (bbIou, rleIou).
// For a crowd ground truth the union is replaced by the detection's own area (a detection inside a crowd
// region scores 1). rleIou first computes the box IoU of the masks' boxes and only walks the runs where it
// is positive; masks of different sizes then give -1, as in the C code.
import { type Rle, rleArea, rleToBbox } from './rle.ts';

export type Box = readonly number[]; // [x, y, w, h]

/** IoU matrix (D, G), row-major: out[d*G + g]. */
export function bbIou(dt: readonly Box[], gt: readonly Box[], iscrowd: ArrayLike<number | boolean>): Float64Array {
  const D = dt.length;
  const G = gt.length;
  const o = new Float64Array(D * G);
  for (let g = 0; g < G; g++) {
    const Gb = gt[g];
    const ga = Gb[2] * Gb[3];
    const crowd = !!iscrowd[g];
    for (let d = 0; d < D; d++) {
      const Db = dt[d];
      const da = Db[2] * Db[3];
      const w = Math.min(Db[2] + Db[0], Gb[2] + Gb[0]) - Math.max(Db[0], Gb[0]);
      if (w <= 0) continue;
      const h = Math.min(Db[3] + Db[1], Gb[3] + Gb[1]) - Math.max(Db[1], Gb[1]);
      if (h <= 0) continue;
      const i = w * h;
      const u = crowd ? da : da + ga - i;
      o[d * G + g] = i / u;
    }
  }
  return o;
}

/** Mask IoU matrix (D, G), row-major, as rleIou (intersection 0 gives 0; size mismatch gives -1). */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd: ArrayLike<number | boolean>): Float64Array {
  const D = dt.length;
  const G = gt.length;
  const o = bbIou(dt.map(rleToBbox), gt.map(rleToBbox), iscrowd);
  for (let g = 0; g < G; g++) {
    const B = gt[g];
    const crowd = !!iscrowd[g];
    for (let d = 0; d < D; d++) {
      if (!(o[d * G + g] > 0)) continue;
      const A = dt[d];
      if (A.h !== B.h || A.w !== B.w) {
        o[d * G + g] = -1;
        continue;
      }
      const ka = A.counts.length;
      const kb = B.counts.length;
      let ca = A.counts[0];
      let cb = B.counts[0];
      let va = false;
      let vb = false;
      let a = 1;
      let b = 1;
      let inter = 0;
      let uni = 0;
      let ct = 1;
      while (ct > 0) {
        const c = Math.min(ca, cb);
        if (va || vb) {
          uni += c;
          if (va && vb) inter += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && a < ka) {
          ca = A.counts[a++];
          va = !va;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < kb) {
          cb = B.counts[b++];
          vb = !vb;
        }
        ct += cb;
      }
      if (inter === 0) uni = 1;
      else if (crowd) uni = rleArea(A);
      o[d * G + g] = inter / uni;
    }
  }
  return o;
}
