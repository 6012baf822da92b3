// Photometric transforms on (H, W, 3) uint8 RGB, and normalisation to float.
// - colorJitter: torchvision ColorJitter on PIL images (brightness / contrast / saturation as
//   ImageEnhance blends, hue as a shift in HSV), factors uniform in [max(0, 1 - j), 1 + j], the four
//   in a random order; timm uses it when no auto-augment is set (--color-jitter 0.4).
// - hsvJitter: ultralytics RandomHSV (hsv_h 0.015, hsv_s 0.7, hsv_v 0.4): random gains on OpenCV's
//   8-bit HSV (H in [0, 180)) through lookup tables.
import type { Rng } from '../../core/rng.ts';
import type { RgbImage } from '../types.ts';
import { brightness, contrast, color } from './randaugment.ts';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** [brightness, contrast, saturation, hue] jitter strengths. */
export type ColorJitter = readonly [number, number, number, number];

export function colorJitterOf(v: number | readonly number[]): ColorJitter {
  if (typeof v === 'number') return [v, v, v, 0];
  if (v.length === 3) return [v[0], v[1], v[2], 0];
  if (v.length === 4) return [v[0], v[1], v[2], v[3]];
  throw new Error(`color jitter needs 1, 3 or 4 values, got ${v.length}`);
}

/** torchvision adjust_hue on PIL: shift H (8-bit, wraps) by round(hue * 255). */
export function adjustHue(img: RgbImage, hue: number): void {
  const d = img.data;
  const shift = Math.round(hue * 255);
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i], g = d[i + 1], b = d[i + 2];
    const max = Math.max(r, g, b), min = Math.min(r, g, b), delta = max - min;
    if (delta === 0) continue; // grey: hue undefined, unchanged
    let h: number;
    if (max === r) h = ((g - b) / delta) % 6;
    else if (max === g) h = (b - r) / delta + 2;
    else h = (r - g) / delta + 4;
    let h8 = Math.round(((h / 6 + 1) % 1) * 255);
    h8 = (((h8 + shift) % 256) + 256) % 256;
    const hh = (h8 / 255) * 6;
    const s = delta / max, v = max;
    const k = Math.floor(hh) % 6, f = hh - Math.floor(hh);
    const p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][k];
    d[i] = Math.round(rgb[0]);
    d[i + 1] = Math.round(rgb[1]);
    d[i + 2] = Math.round(rgb[2]);
  }
}

/** ColorJitter.__call__: random order of the four adjustments, each with a uniform factor. */
export function colorJitter(img: RgbImage, jitter: ColorJitter, rng: Rng): void {
  const order = [0, 1, 2, 3];
  rng.shuffle(order);
  const factor = (j: number) => rng.uniform(Math.max(0, 1 - j), 1 + j);
  for (const k of order) {
    const j = jitter[k];
    if (!j) continue;
    if (k === 0) brightness(img, factor(j));
    else if (k === 1) contrast(img, factor(j));
    else if (k === 2) color(img, factor(j));
    else adjustHue(img, rng.uniform(-j, j));
  }
}

/**
 * Rewrites every pixel in OpenCV's 8-bit HSV (H = degrees / 2 in [0, 180), S and V in 0..255):
 * RGB -> HSV, `f` (which writes the new [h, s, v] into its argument), HSV -> RGB.
 */
export function mapHsv8(img: RgbImage, f: (hsv: number[]) => void): void {
  const d = img.data;
  const hsv = [0, 0, 0];
  for (let i = 0; i < d.length; i += 3) {
    const R = d[i], G = d[i + 1], B = d[i + 2];
    const v = Math.max(R, G, B), mn = Math.min(R, G, B), delta = v - mn;
    let hdeg = 0;
    if (delta !== 0) {
      if (v === R) hdeg = (60 * (G - B)) / delta;
      else if (v === G) hdeg = 120 + (60 * (B - R)) / delta;
      else hdeg = 240 + (60 * (R - G)) / delta;
      if (hdeg < 0) hdeg += 360;
    }
    hsv[0] = Math.round(hdeg / 2) % 180;
    hsv[1] = v === 0 ? 0 : Math.round((255 * delta) / v);
    hsv[2] = v;
    f(hsv);
    const H2 = hsv[0] * 2, S2 = hsv[1] / 255, V2 = hsv[2];
    const c = V2 * S2, hp = H2 / 60, x = c * (1 - Math.abs((hp % 2) - 1)), m = V2 - c;
    let rr: number, gg: number, bb: number;
    if (hp < 1) [rr, gg, bb] = [c, x, 0];
    else if (hp < 2) [rr, gg, bb] = [x, c, 0];
    else if (hp < 3) [rr, gg, bb] = [0, c, x];
    else if (hp < 4) [rr, gg, bb] = [0, x, c];
    else if (hp < 5) [rr, gg, bb] = [x, 0, c];
    else [rr, gg, bb] = [c, 0, x];
    d[i] = Math.round(rr + m);
    d[i + 1] = Math.round(gg + m);
    d[i + 2] = Math.round(bb + m);
  }
}

/** ultralytics RandomHSV: gains r = 1 + U(-1, 1) * [h, s, v] applied as LUTs in OpenCV 8-bit HSV. */
export function hsvJitter(img: RgbImage, gains: readonly [number, number, number], rng: Rng): void {
  if (!gains[0] && !gains[1] && !gains[2]) return;
  const r = gains.map((g) => rng.uniform(-1, 1) * g + 1);
  const lutH = new Uint8Array(256), lutS = new Uint8Array(256), lutV = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    lutH[x] = Math.trunc((x * r[0]) % 180);
    lutS[x] = Math.trunc(Math.min(255, Math.max(0, x * r[1])));
    lutV[x] = Math.trunc(Math.min(255, Math.max(0, x * r[2])));
  }
  mapHsv8(img, (hsv) => {
    hsv[0] = lutH[hsv[0]];
    hsv[1] = lutS[hsv[1]];
    hsv[2] = lutV[hsv[2]];
  });
}

/**
 * mmseg PhotoMetricDistortion: brightness (+U(-32, 32)), then contrast (xU(0.5, 1.5)) either first or
 * last, saturation (xU(0.5, 1.5)) and hue (+randint(-18, 18) in 8-bit H); each step with probability 1/2.
 */
export function photometricDistortion(img: RgbImage, rng: Rng): void {
  const d = img.data;
  const convert = (alpha: number, beta: number) => {
    for (let i = 0; i < d.length; i++) d[i] = Math.trunc(Math.min(255, Math.max(0, d[i] * alpha + beta)));
  };
  const coin = () => rng.int(2) === 1;
  if (coin()) convert(1, rng.uniform(-32, 32));
  const contrastFirst = coin();
  const contrastStep = () => {
    if (coin()) convert(rng.uniform(0.5, 1.5), 0);
  };
  if (contrastFirst) contrastStep();
  if (coin()) {
    const a = rng.uniform(0.5, 1.5);
    mapHsv8(img, (hsv) => {
      hsv[1] = Math.trunc(Math.min(255, Math.max(0, hsv[1] * a)));
    });
  }
  if (coin()) {
    const delta = -18 + rng.int(36);
    mapHsv8(img, (hsv) => {
      hsv[0] = (((hsv[0] + delta) % 180) + 180) % 180;
    });
  }
  if (!contrastFirst) contrastStep();
}

/**
 * (H, W, 3) uint8 -> (H, W, 3) float32: (v / 255 - mean) / std, via a per-channel 256-entry table.
 * Writes into `out` when given (a slice of a batch buffer).
 */
export function normalize(img: RgbImage, mean: readonly number[], std: readonly number[], out?: Float32Array): Float32Array {
  const n = img.width * img.height * 3;
  const dst = out ?? new Float32Array(n);
  if (dst.length < n) throw new Error(`normalize: output holds ${dst.length} values, needs ${n}`);
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  const d = img.data;
  for (let i = 0; i < n; i += 3) {
    dst[i] = lut[d[i]];
    dst[i + 1] = lut[256 + d[i + 1]];
    dst[i + 2] = lut[512 + d[i + 2]];
  }
  return dst;
}
