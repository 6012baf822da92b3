// PNG class-index masks read as indices, never as colours: a palette PNG (VOC SegmentationClass)
// yields its palette indices, a grayscale PNG (ADE20K) its values. sharp and pngjs both expand
// palettes to RGB, so this is a small decoder of its own on node:zlib. Also writes 8-bit grayscale
// and palette PNGs (synthetic masks, test fixtures).
import { inflateSync, deflateSync } from 'node:zlib';

export interface IndexMask {
  /** (H, W) label indices */
  data: Uint8Array;
  width: number;
  height: number;
  /** 'gray' or 'palette' */
  kind: 'gray' | 'palette';
  /** palette colours [r, g, b] in PLTE order, when present */
  palette?: Array<[number, number, number]>;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function isPng(buf: Uint8Array): boolean {
  return buf.length >= 8 && SIGNATURE.equals(Buffer.from(buf.buffer, buf.byteOffset, 8));
}

/** Decodes a grayscale or palette PNG to its indices; `file` names the source in errors. */
export function decodeIndexPng(buf: Uint8Array, file = '<png>'): IndexMask {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (!isPng(buf)) fail('not a PNG file');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 8;
  let width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
  let palette: Array<[number, number, number]> | undefined;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= buf.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (body.length !== len) fail(`truncated ${type} chunk`);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      depth = buf[pos + 16];
      colorType = buf[pos + 17];
      interlace = buf[pos + 20];
    } else if (type === 'PLTE') {
      palette = [];
      for (let i = 0; i + 2 < len; i += 3) palette.push([body[i], body[i + 1], body[i + 2]]);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  if (colorType !== 0 && colorType !== 3) {
    const names: Record<number, string> = { 2: 'RGB', 4: 'gray+alpha', 6: 'RGBA' };
    fail(`a class-index mask must be a grayscale or palette PNG, got ${names[colorType] ?? `colour type ${colorType}`}`);
  }
  if (interlace) fail('interlaced (Adam7) PNG masks are not supported');
  if (!idat.length) fail('no image data (IDAT)');
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    return fail(`corrupt image data: ${(e as Error).message}`);
  }
  const bitsPerPixel = depth; // one channel
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < height * (stride + 1)) fail(`truncated image data (${raw.length} of ${height * (stride + 1)} bytes)`);
  const out = new Uint8Array(width * height);
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp] : 0;
      const b = prev[x];
      const c = x >= bpp ? prev[x - bpp] : 0;
      let v = line[x];
      switch (f) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: fail(`bad filter type ${f} on row ${y}`);
      }
      cur[x] = v & 0xff;
    }
    const o = y * width;
    if (depth === 8) out.set(cur.subarray(0, width), o);
    else if (depth === 16) {
      for (let x = 0; x < width; x++) {
        const v = (cur[2 * x] << 8) | cur[2 * x + 1];
        if (v > 255) fail(`16-bit mask value ${v} at (${x}, ${y}) does not fit a class index below 256`);
        out[o + x] = v;
      }
    } else {
      const perByte = 8 / depth, mask = (1 << depth) - 1;
      for (let x = 0; x < width; x++) {
        const byte = cur[Math.floor(x / perByte)];
        out[o + x] = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
      }
    }
    [prev, cur] = [cur, prev];
  }
  return { data: out, width, height, kind: colorType === 3 ? 'palette' : 'gray', palette };
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** Encodes (H, W) 8-bit indices as a grayscale PNG, or as a palette PNG when `palette` is given. */
export function encodeIndexPng(data: Uint8Array, width: number, height: number, palette?: Array<[number, number, number]>): Buffer {
  if (data.length !== width * height) throw new Error(`encodeIndexPng: ${data.length} values for ${width}x${height}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = palette ? 3 : 0;
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const parts = [SIGNATURE, chunk('IHDR', ihdr)];
  if (palette) {
    if (palette.length > 256) throw new Error('encodeIndexPng: a palette holds at most 256 colours');
    const plte = Buffer.alloc(palette.length * 3);
    palette.forEach(([r, g, b], i) => plte.set([r, g, b], i * 3));
    parts.push(chunk('PLTE', plte));
  }
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** The Pascal VOC colour map (bit-interleaved), used for palette masks. */
export function vocPalette(n = 256): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let i = 0; i < n; i++) {
    let r = 0, g = 0, b = 0, c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    out.push([r, g, b]);
  }
  return out;
}
