// Image size from the file header in JS (JPEG SOF + EXIF orientation, PNG IHDR): a random crop needs
// the size before decoding, and asking libvips costs a threadpool round trip per image. Returns null
// for other formats or a header it cannot follow (the caller then asks sharp, which also reports
// corrupt files properly).

function u16(b: Uint8Array, o: number, le = false): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

function u32(b: Uint8Array, o: number, le = false): number {
  return le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** EXIF orientation (1..8) from an APP1 payload starting at `o` ("Exif\0\0" + TIFF), or 1. */
function exifOrientation(b: Uint8Array, o: number, end: number): number {
  if (end - o < 14 || b[o] !== 0x45 || b[o + 1] !== 0x78 || b[o + 2] !== 0x69 || b[o + 3] !== 0x66) return 1;
  const t = o + 6;
  const le = b[t] === 0x49;
  if (!le && b[t] !== 0x4d) return 1;
  const ifd = t + u32(b, t + 4, le);
  if (ifd + 2 > end) return 1;
  const n = u16(b, ifd, le);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > end) return 1;
    if (u16(b, e, le) === 0x0112) {
      const v = u16(b, e + 8, le);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** {width, height} after EXIF orientation, or null when the header is not a plain JPEG/PNG one. */
export function headerSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length > 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    const w = u32(b, 16), h = u32(b, 20);
    return w && h ? { width: w, height: h } : null;
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let o = 2, orientation = 1;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return null;
    const m = b[o + 1];
    if (m === 0xff) {
      o++; // fill byte
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    }
    const len = u16(b, o + 2);
    if (len < 2 || o + 2 + len > b.length) return null;
    if (m === 0xe1 && orientation === 1) orientation = exifOrientation(b, o + 4, o + 2 + len);
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof) {
      if (len < 7) return null;
      const h = u16(b, o + 5), w = u16(b, o + 7);
      if (!w || !h) return null;
      // orientations 5..8 swap width and height
      return orientation >= 5 ? { width: h, height: w } : { width: w, height: h };
    }
    if (m === 0xda || m === 0xd9) return null; // scan or end before any frame header
    o += 2 + len;
  }
  return null;
}
