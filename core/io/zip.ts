// Zip reader (own code) for torch.save archives: central directory, ZIP64, STORED and DEFLATE entries.
// torch writes every record STORED, payload padded to a 64-byte file offset, sizes known only from the
// central directory (local headers carry a data descriptor flag and zero sizes), ZIP64 for big files.
// Two byte sources: an in-memory buffer (entries are zero-copy views into it) or a file descriptor
// (only the records asked for are read, each straight into its own buffer: a multi-GB checkpoint never
// sits in memory twice).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** Random access to the bytes of an archive. `read` may return a view (bytes) or a fresh buffer (file). */
export interface ByteSource {
  /** name used in error messages (the file path) */
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

export function bytesSource(bytes: Uint8Array, name = '<buffer>'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read(offset, length) {
      if (offset < 0 || offset + length > bytes.byteLength) {
        throw new Error(`${name}: truncated file: needs bytes ${offset}..${offset + length}, the file has ${bytes.byteLength}`);
      }
      return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length); // zero-copy view (plain Uint8Array even over a Buffer)
    },
    close() {},
  };
}

export function fileSource(path: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const size = fstatSync(fd).size;
  let open = true;
  return {
    name: path,
    size,
    read(offset, length) {
      if (!open) throw new Error(`${path}: read after close`);
      if (offset < 0 || offset + length > size) {
        throw new Error(`${path}: truncated file: needs bytes ${offset}..${offset + length}, the file has ${size}`);
      }
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        // readSync takes at most 2 GiB per call; loop for larger records
        const n = readSync(fd, out, done, Math.min(length - done, 0x7fff0000), offset + done);
        if (n === 0) throw new Error(`${path}: truncated file: ended at byte ${offset + done} while reading ${length} bytes at ${offset}`);
        done += n;
      }
      return new Uint8Array(out.buffer, out.byteOffset, length);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export interface ZipEntry {
  name: string;
  /** 0 STORED, 8 DEFLATE */
  method: number;
  compressedSize: number;
  size: number;
  /** offset of the local file header */
  headerOffset: number;
  flags: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;

export class ZipArchive {
  readonly entries: ZipEntry[];
  private readonly byName: Map<string, ZipEntry>;

  private constructor(readonly source: ByteSource, entries: ZipEntry[]) {
    this.entries = entries;
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  static open(source: ByteSource): ZipArchive {
    try {
      return new ZipArchive(source, readCentralDirectory(source));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (msg.startsWith(source.name)) throw e;
      throw new Error(`${source.name}: corrupt zip archive (${msg})`, { cause: e });
    }
  }

  get name(): string {
    return this.source.name;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** The uncompressed bytes of an entry: a view into the source's bytes when STORED in memory. */
  read(entryOrName: ZipEntry | string): Uint8Array {
    const what = this.source.name;
    const e = typeof entryOrName === 'string' ? this.byName.get(entryOrName) : entryOrName;
    if (!e) throw new Error(`${what}: zip archive has no record '${entryOrName as string}'`);
    if (e.flags & 1) throw new Error(`${what}: zip record '${e.name}' is encrypted`);
    const local = this.source.read(e.headerOffset, 30);
    const lv = view(local);
    if (lv.getUint32(0, true) !== SIG_LOCAL) {
      throw new Error(`${what}: zip record '${e.name}': no local file header at byte ${e.headerOffset} (corrupt archive)`);
    }
    const dataStart = e.headerOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
    if (dataStart + e.compressedSize > this.source.size) {
      throw new Error(`${what}: truncated zip: record '${e.name}' needs bytes ${dataStart}..${dataStart + e.compressedSize}, the file has ${this.source.size}`);
    }
    const raw = this.source.read(dataStart, e.compressedSize);
    if (e.method === 0) {
      if (e.size !== e.compressedSize) throw new Error(`${what}: zip record '${e.name}' is STORED but its sizes differ (${e.compressedSize} vs ${e.size})`);
      return raw;
    }
    if (e.method === 8) {
      let out: Buffer;
      try {
        out = inflateRawSync(raw);
      } catch (err) {
        throw new Error(`${what}: zip record '${e.name}': DEFLATE data is corrupt (${(err as Error).message})`);
      }
      if (out.byteLength !== e.size) throw new Error(`${what}: zip record '${e.name}' inflates to ${out.byteLength} bytes, the directory says ${e.size}`);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    throw new Error(`${what}: zip record '${e.name}' uses compression method ${e.method}; only STORED (0) and DEFLATE (8) are supported`);
  }

  close(): void {
    this.source.close();
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what}: zip64 field ${v} is out of range (corrupt archive)`);
  return Number(v);
}

/** True when the bytes start with a zip local-file-header signature (what torch checks). */
export function isZip(head: Uint8Array): boolean {
  return head.byteLength >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

function readCentralDirectory(src: ByteSource): ZipEntry[] {
  const what = src.name;
  if (src.size < EOCD_MIN) throw new Error(`${what}: ${src.size} bytes: too short to be a zip archive (truncated?)`);
  // The end-of-central-directory record sits in the last 22 .. 22+65535 bytes.
  const tailLen = Math.min(src.size, EOCD_MIN + MAX_COMMENT + 20);
  const tailStart = src.size - tailLen;
  const tail = src.read(tailStart, tailLen);
  const tv = view(tail);
  let eocd = -1;
  for (let i = tailLen - EOCD_MIN; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_MIN + tv.getUint16(i + 20, true) <= tailLen) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    const head = src.read(0, Math.min(4, src.size));
    throw new Error(isZip(head)
      ? `${what}: truncated zip archive: the end-of-central-directory record is missing (incomplete download or copy?)`
      : `${what}: not a zip archive (no end-of-central-directory record, and the file does not start with PK\\x03\\x04)`);
  }
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (tv.getUint16(eocd + 4, true) !== 0 || tv.getUint16(eocd + 6, true) !== 0) {
    if (count !== 0xffff) throw new Error(`${what}: multi-disk (split) zip archives are not supported`);
  }
  // ZIP64: a locator just before the EOCD points at the ZIP64 EOCD record, whose 64-bit fields win
  const loc = eocd - 20;
  const hasZip64 = loc >= 0 && tv.getUint32(loc, true) === SIG_ZIP64_LOCATOR;
  if (!hasZip64 && (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)) {
    throw new Error(`${what}: zip archive needs ZIP64 records but the ZIP64 locator is missing (corrupt or truncated archive)`);
  }
  if (hasZip64) {
    const recOffset = u64(tv, loc + 8, what);
    if (recOffset + 56 > src.size) throw new Error(`${what}: truncated zip: the ZIP64 end record at byte ${recOffset} lies past the end of the file`);
    const rv = view(src.read(recOffset, 56));
    if (rv.getUint32(0, true) !== SIG_ZIP64_EOCD) throw new Error(`${what}: no ZIP64 end-of-central-directory record at byte ${recOffset} (corrupt archive)`);
    count = u64(rv, 32, what);
    cdSize = u64(rv, 40, what);
    cdOffset = u64(rv, 48, what);
  }
  if (cdOffset + cdSize > src.size) {
    throw new Error(`${what}: truncated zip archive: the central directory (bytes ${cdOffset}..${cdOffset + cdSize}) lies past the end of the ${src.size}-byte file`);
  }
  const cd = src.read(cdOffset, cdSize);
  const cv = view(cd);
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder('utf-8');
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || cv.getUint32(p, true) !== SIG_CENTRAL) {
      throw new Error(`${what}: corrupt zip central directory: entry ${i} of ${count} is missing at directory byte ${p}`);
    }
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let size = cv.getUint32(p + 24, true);
    const nameLen = cv.getUint16(p + 28, true);
    const extraLen = cv.getUint16(p + 30, true);
    const commentLen = cv.getUint16(p + 32, true);
    let headerOffset = cv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw new Error(`${what}: corrupt zip central directory: entry ${i} runs past its end`);
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information (0x0001): only the fields whose 32-bit value is 0xFFFFFFFF, in order
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cv.getUint16(x, true);
      const len = cv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let f = x + 4;
        const need = (cond: boolean): number | null => {
          if (!cond) return null;
          if (f + 8 > x + 4 + len) throw new Error(`${what}: corrupt ZIP64 extra field in record '${name}'`);
          const v = u64(cv, f, what);
          f += 8;
          return v;
        };
        size = need(size === 0xffffffff) ?? size;
        compressedSize = need(compressedSize === 0xffffffff) ?? compressedSize;
        headerOffset = need(headerOffset === 0xffffffff) ?? headerOffset;
      }
      x += 4 + len;
    }
    if (headerOffset + 30 > src.size) {
      throw new Error(`${what}: truncated zip archive: record '${name}' starts at byte ${headerOffset}, past the end of the ${src.size}-byte file`);
    }
    entries.push({ name, method, compressedSize, size, headerOffset, flags });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Opens a zip from a path (fd-based, records read on demand) or from bytes (zero-copy views). */
export function openZip(source: string | Uint8Array, name?: string): ZipArchive {
  const src = typeof source === 'string' ? fileSource(source) : bytesSource(source, name);
  try {
    return ZipArchive.open(src);
  } catch (e) {
    src.close();
    throw e;
  }
}
