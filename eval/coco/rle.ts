// Run-length encoded binary masks, ported from the official cocoapi `common/maskApi.c`
// (cocodataset/cocoapi @ 8c9bcc3): rleEncode, rleDecode, rleArea, rleToBbox, rleMerge, rleToString,
// rleFrString. Pure TypeScript on typed arrays; every loop follows the C code so areas, boxes and merged
// masks are bit-identical to pycocotools.
//
// Layout: a mask of height h and width w is read in COLUMN-MAJOR order (pixel (y, x) has index x*h + y),
// counts alternate 0-runs and 1-runs and always begin with a 0-run (possibly of length 0).
// The C code keeps counts as `uint` (32-bit): we keep Uint32Array and reproduce its wrap-around where the C
// arithmetic relies on it.

/** A decoded RLE: `counts` are run lengths (uint32), first run is of zeros. */
export interface Rle {
  h: number;
  w: number;
  counts: Uint32Array;
}

/** COCO JSON form: `counts` is the compressed string (results, pycocotools output) or a list (crowd GT). */
export interface RleJson {
  size: [number, number];
  counts: string | number[];
}

export const isRleJson = (o: unknown): o is RleJson =>
  typeof o === 'object' && o !== null && !Array.isArray(o) && 'size' in o && 'counts' in o;

/**
 * Encode a binary mask. `mask` is (h, w) ROW-major (index y*w + x, the layout of image buffers and of
 * numpy's default), nonzero = foreground; it is scanned column-major as maskApi.c does on the Fortran array
 * pycocotools' `encode` requires.
 */
export function rleEncode(mask: ArrayLike<number>, h: number, w: number): Rle {
  if (mask.length !== h * w) throw new Error(`rleEncode: mask has ${mask.length} values, expected h*w = ${h}*${w} = ${h * w}`);
  const runs: number[] = [];
  let prev = 0;
  let c = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = mask[y * w + x] ? 1 : 0;
      if (v !== prev) {
        runs.push(c);
        c = 0;
        prev = v;
      }
      c++;
    }
  }
  runs.push(c);
  return { h, w, counts: Uint32Array.from(runs) };
}

/** Decode to a (h, w) ROW-major Uint8Array of 0/1 (the transpose of maskApi.c's column-major buffer). */
export function rleDecode(R: Rle): Uint8Array {
  const { h, w } = R;
  const out = new Uint8Array(h * w);
  const n = h * w;
  let k = 0; // column-major position
  let v = 0;
  for (let j = 0; j < R.counts.length; j++) {
    const c = R.counts[j];
    if (k + c > n) throw new Error(`rleDecode: runs cover ${k + c} pixels, more than h*w = ${n}`);
    if (v) for (let i = k; i < k + c; i++) out[(i % h) * w + Math.floor(i / h)] = 1;
    k += c;
    v = v ? 0 : 1;
  }
  return out;
}

/** Foreground pixel count: the sum of the odd-indexed runs. */
export function rleArea(R: Rle): number {
  let a = 0;
  for (let j = 1; j < R.counts.length; j += 2) a += R.counts[j];
  return a >>> 0; // maskApi.c returns uint
}

/** Tight box [x, y, w, h] of the foreground, as rleToBbox (a mask spanning columns gets the full height). */
export function rleToBbox(R: Rle): [number, number, number, number] {
  const h = R.h >>> 0;
  const w = R.w >>> 0;
  const m = Math.floor(R.counts.length / 2) * 2;
  if (m === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc = (cc + R.counts[j]) >>> 0;
    const t = (cc - (j % 2)) >>> 0; // uint in C: wraps if cc is 0 at an odd j
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * Union (intersect = false) or intersection of several RLEs, as rleMerge: masks of another size than the
 * first make the result empty (h = w = 0, no counts), as in the C code.
 */
export function rleMerge(Rs: readonly Rle[], intersect = false): Rle {
  if (Rs.length === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  let h = Rs[0].h;
  let w = Rs[0].w;
  if (Rs.length === 1) return { h, w, counts: Rs[0].counts.slice() };
  let cnts: number[] = Array.from(Rs[0].counts);
  for (let i = 1; i < Rs.length; i++) {
    const B = Rs[i];
    if (B.h !== h || B.w !== w) {
      h = w = 0;
      cnts = [];
      break;
    }
    const A = cnts;
    const out: number[] = [];
    let ca = A[0] ?? 0;
    let cb = B.counts[0] ?? 0;
    let v = 0;
    let va = 0;
    let vb = 0;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    while (ct > 0) {
      const c = Math.min(ca, cb);
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++];
        va = va ? 0 : 1;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.counts.length) {
        cb = B.counts[b++];
        vb = vb ? 0 : 1;
      }
      ct += cb;
      const vp = v;
      v = intersect ? (va && vb ? 1 : 0) : va || vb ? 1 : 0;
      if (v !== vp || ct === 0) {
        out.push(cc);
        cc = 0;
      }
    }
    cnts = out;
  }
  return { h, w, counts: Uint32Array.from(cnts) };
}

/**
 * Compressed string form (rleToString): like LEB128 with 5 data bits per char, counts after the second
 * stored as the difference to the count two places back, chars offset by 48 (ASCII 48..111).
 */
export function rleToString(R: Rle): string {
  const out: number[] = [];
  const cnts = R.counts;
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i];
    if (i > 2) x -= cnts[i - 2]; // C: long, may be negative
    let more = true;
    while (more) {
      // x & 0x1f and x >>= 5 on a two's-complement long: floor-based so negative values work past 32 bits
      let c = x - Math.floor(x / 32) * 32;
      x = Math.floor(x / 32);
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out.push(c + 48);
    }
  }
  let str = '';
  for (let i = 0; i < out.length; i += 8192) str += String.fromCharCode(...out.slice(i, i + 8192)); // spread has an argument limit
  return str;
}

/** Inverse of rleToString (rleFrString). Throws on characters outside ASCII 48..111 or negative counts. */
export function rleFromString(s: string, h: number, w: number): Rle {
  const cnts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error(`RLE string ends inside a count (at char ${p})`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE string has char '${s[p]}' at ${p}, outside the alphabet ASCII 48..111`);
      x += (c & 0x1f) * 2 ** (5 * k); // C: x |= (c & 0x1f) << 5*k on a 64-bit long (JS << wraps at 32)
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign extension: x |= -1 << 5*k
    }
    if (cnts.length > 2) x += cnts[cnts.length - 2];
    if (x < 0 || x > 0xffffffff) throw new Error(`RLE string decodes to count ${x} (run ${cnts.length}), not a uint32 run length`);
    cnts.push(x);
  }
  return { h, w, counts: Uint32Array.from(cnts) };
}

/** Uncompressed counts list -> Rle (frUncompressedRLE; the C side stores uint32). */
export function rleFromCounts(counts: readonly number[], h: number, w: number): Rle {
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!Number.isInteger(c) || c < 0) throw new Error(`RLE counts[${i}] = ${c} is not a non-negative integer`);
  }
  return { h, w, counts: Uint32Array.from(counts) };
}

/** A JSON RLE (compressed string or counts list) -> Rle. */
export function rleFromJson(o: RleJson): Rle {
  if (!Array.isArray(o.size) || o.size.length !== 2 || !o.size.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new Error(`RLE size must be [h, w] of non-negative integers, got ${JSON.stringify(o.size)}`);
  }
  const [h, w] = o.size;
  if (typeof o.counts === 'string') return rleFromString(o.counts, h, w);
  if (Array.isArray(o.counts)) return rleFromCounts(o.counts, h, w);
  throw new Error(`RLE counts must be a string or a list of numbers, got ${typeof o.counts}`);
}

/** Rle -> COCO JSON with compressed string counts (what pycocotools' encode/merge/frPyObjects return). */
export function rleToJson(R: Rle): RleJson & { counts: string } {
  return { size: [R.h, R.w], counts: rleToString(R) };
}
