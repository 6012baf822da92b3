// Image decoding with sharp (libvips): EXIF rotation, any colour space / bit depth / alpha to 8-bit
// RGB, and crop + resize + flip in the decoder's own pipeline (JPEG shrink-on-load where it
// applies). A missing, corrupt or truncated file becomes a SampleError (skipped and counted by the
// loader); masks are read as indices (io/png.ts).
import { readFileSync } from 'node:fs';
import sharp, { type KernelEnum, type Sharp } from 'sharp';
import { SampleError } from '../common.ts';
import { decodeIndexPng, isPng, type IndexMask } from './png.ts';
import { headerSize } from './header.ts';
import type { RgbImage } from '../types.ts';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';

const KERNEL: Record<Interpolation, keyof KernelEnum> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

let configured = false;
/**
 * One libvips thread per image operation: parallelism comes from many images in flight (libuv
 * threadpool, UV_THREADPOOL_SIZE) and from worker threads, not from threads inside one decode.
 */
export function configureSharp(): void {
  if (configured) return;
  sharp.concurrency(1);
  sharp.cache(false);
  configured = true;
}

/**
 * Reads a whole file. Synchronous on purpose: images are small and in the page cache after the
 * first epoch, and fs.promises.readFile costs several threadpool round trips per file (slower here,
 * and it competes with sharp for the same threads).
 */
export async function readBytes(file: string): Promise<Buffer> {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SampleError(file, code === 'ENOENT' ? 'missing file' : `cannot read (${code ?? (e as Error).message})`);
  }
}

const open = (buf: Uint8Array) => sharp(buf, { failOn: 'warning', autoOrient: true });

/** Size after EXIF orientation, from the header only (parsed in JS for JPEG/PNG, else by sharp). */
export async function imageSize(buf: Uint8Array, file: string): Promise<{ width: number; height: number }> {
  const quick = headerSize(buf);
  if (quick) return quick;
  try {
    const m = await sharp(buf).metadata();
    const w = m.autoOrient?.width ?? m.width;
    const h = m.autoOrient?.height ?? m.height;
    if (!w || !h) throw new Error('no image size in the header');
    return { width: w, height: h };
  } catch (e) {
    throw new SampleError(file, `cannot decode: ${(e as Error).message}`);
  }
}

async function toRgb(p: Sharp, file: string): Promise<RgbImage> {
  try {
    // sRGB + no alpha = 8-bit 3-channel for grayscale, CMYK, 16-bit and alpha inputs alike
    const { data, info } = await p.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (e) {
    if (e instanceof SampleError) throw e;
    throw new SampleError(file, `cannot decode: ${(e as Error).message}`);
  }
}

export interface DecodeOptions {
  /** crop in (EXIF-oriented) source pixels, applied before the resize */
  crop?: { left: number; top: number; width: number; height: number };
  /** output size; `fill` stretches to exactly this size, `inside` keeps the aspect ratio */
  resize?: { width: number; height: number; fit?: 'fill' | 'inside'; interpolation?: Interpolation };
  /** crop applied after the resize (centre crop of an eval transform) */
  cropAfter?: { left: number; top: number; width: number; height: number };
  hflip?: boolean;
  vflip?: boolean;
}

/** Decodes to 8-bit RGB, optionally cropping / resizing / flipping inside libvips. */
export async function decodeRgb(buf: Uint8Array, file: string, o: DecodeOptions = {}): Promise<RgbImage> {
  let p = open(buf);
  if (o.crop) p = p.extract(o.crop);
  if (o.resize) {
    p = p.resize(o.resize.width, o.resize.height, {
      fit: o.resize.fit ?? 'fill',
      kernel: KERNEL[o.resize.interpolation ?? 'bilinear'],
    });
  }
  if (o.cropAfter) p = p.extract(o.cropAfter);
  if (o.hflip) p = p.flop();
  if (o.vflip) p = p.flip();
  return toRgb(p, file);
}

export async function readRgb(file: string, o: DecodeOptions = {}): Promise<RgbImage> {
  return decodeRgb(await readBytes(file), file, o);
}

/** Reads a class-index mask: PNG indices as stored (palette indices, not colours); other formats via the first channel. */
export async function readMask(file: string): Promise<IndexMask> {
  const buf = await readBytes(file);
  if (isPng(buf)) {
    try {
      return decodeIndexPng(buf, file);
    } catch (e) {
      throw new SampleError(file, (e as Error).message.replace(`${file}: `, ''));
    }
  }
  try {
    const { data, info } = await sharp(buf, { failOn: 'warning' }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, kind: 'gray' };
  } catch (e) {
    throw new SampleError(file, `cannot decode mask: ${(e as Error).message}`);
  }
}

/** Encodes an RGB image as JPEG (synthetic data, benchmarks). */
export function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality }).toBuffer();
}
