// RandAugment as timm implements it (timm/data/auto_augment.py: rand_augment_transform, AugmentOp,
// LEVEL_TO_ARG, NAME_TO_OP), on 8-bit RGB images with PIL's op semantics (ImageOps.autocontrast /
// equalize / posterize / solarize, ImageEnhance blends, Image.transform AFFINE with a fill colour).
// Config strings: `rand-m9-mstd0.5-inc1` = magnitude 9, magnitude noise std 0.5, the
// severity-increasing op set, 2 ops per image, each applied with probability 0.5.
import type { Rng } from '../../core/rng.ts';
import type { RgbImage } from '../types.ts';

const LEVEL_DENOM = 10;

export interface RandAugmentConfig {
  magnitude: number;
  numLayers: number;
  prob: number;
  magnitudeStd: number;
  magnitudeMax: number;
  ops: readonly string[];
  /** fill colour of geometric ops: the dataset mean in 0..255 (timm's img_mean) */
  fill: readonly [number, number, number];
  /** TranslateXRel/YRel fraction at level 10 */
  translatePct: number;
}

export const RAND_TRANSFORMS = [
  'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'Solarize', 'SolarizeAdd', 'Color',
  'Contrast', 'Brightness', 'Sharpness', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel',
] as const;

export const RAND_INCREASING_TRANSFORMS = [
  'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'PosterizeIncreasing', 'SolarizeIncreasing',
  'SolarizeAdd', 'ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing',
  'SharpnessIncreasing', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel',
] as const;

/** Parses timm's RandAugment string (`rand-m9-n2-mstd0.5-mmax10-inc1-p0.5`). */
export function parseRandAugment(config: string, fill: readonly [number, number, number] = [128, 128, 128]): RandAugmentConfig {
  const parts = config.split('-');
  if (parts[0] !== 'rand') throw new Error(`RandAugment config '${config}' must start with 'rand'`);
  let magnitude = LEVEL_DENOM, numLayers = 2, prob = 0.5, magnitudeStd = 0, magnitudeMax = LEVEL_DENOM, increasing = false;
  for (const c of parts.slice(1)) {
    const m = /^([a-z]+)(\d.*)$/.exec(c);
    if (!m) throw new Error(`RandAugment config '${config}': cannot read section '${c}'`);
    const [, key, val] = m;
    const num = Number(val);
    if (!Number.isFinite(num)) throw new Error(`RandAugment config '${config}': '${c}' needs a number`);
    if (key === 'm') magnitude = num;
    else if (key === 'n') numLayers = num;
    else if (key === 'p') prob = num;
    else if (key === 'mstd') magnitudeStd = num > 100 ? Infinity : num;
    else if (key === 'mmax') magnitudeMax = num;
    // timm tests bool('0') (true for any digit string); inc0 is read here as "off", the evident intent
    else if (key === 'inc') increasing = num !== 0;
    else throw new Error(`RandAugment config '${config}': unknown section '${key}' (m, n, p, mstd, mmax, inc)`);
  }
  return {
    magnitude, numLayers, prob, magnitudeStd, magnitudeMax, fill, translatePct: 0.45,
    ops: increasing ? RAND_INCREASING_TRANSFORMS : RAND_TRANSFORMS,
  };
}

// ---- PIL-equivalent ops on (H, W, 3) uint8 ----

const clip8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v | 0);

function applyLut(img: RgbImage, luts: [Uint8Array, Uint8Array, Uint8Array]): void {
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    d[i] = luts[0][d[i]];
    d[i + 1] = luts[1][d[i + 1]];
    d[i + 2] = luts[2][d[i + 2]];
  }
}

function histograms(img: RgbImage): Uint32Array[] {
  const h = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    h[0][d[i]]++;
    h[1][d[i + 1]]++;
    h[2][d[i + 2]]++;
  }
  return h;
}

/** ImageOps.autocontrast (cutoff 0): stretch each channel's [min, max] to [0, 255]. */
export function autoContrast(img: RgbImage): void {
  const luts = histograms(img).map((h) => {
    const lut = new Uint8Array(256);
    let lo = 0, hi = 255;
    while (lo < 256 && !h[lo]) lo++;
    while (hi >= 0 && !h[hi]) hi--;
    for (let i = 0; i < 256; i++) {
      if (hi <= lo) lut[i] = i;
      else {
        const scale = 255 / (hi - lo);
        lut[i] = clip8(Math.trunc(i * scale - lo * scale));
      }
    }
    return lut;
  }) as [Uint8Array, Uint8Array, Uint8Array];
  applyLut(img, luts);
}

/** ImageOps.equalize: per-channel histogram equalisation with PIL's step rule. */
export function equalize(img: RgbImage): void {
  const luts = histograms(img).map((h) => {
    const lut = new Uint8Array(256);
    const nz: number[] = [];
    for (let i = 0; i < 256; i++) if (h[i]) nz.push(h[i]);
    let total = 0;
    for (const v of nz) total += v;
    const step = nz.length <= 1 ? 0 : Math.floor((total - nz[nz.length - 1]) / 255);
    if (!step) {
      for (let i = 0; i < 256; i++) lut[i] = i;
      return lut;
    }
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor(n / step));
      n += h[i];
    }
    return lut;
  }) as [Uint8Array, Uint8Array, Uint8Array];
  applyLut(img, luts);
}

function pointLut(f: (v: number) => number): [Uint8Array, Uint8Array, Uint8Array] {
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = clip8(f(i));
  return [lut, lut, lut];
}

export const invert = (img: RgbImage) => applyLut(img, pointLut((v) => 255 - v));
export const posterize = (img: RgbImage, bits: number) => {
  if (bits >= 8) return;
  const mask = ~((1 << (8 - Math.max(0, bits))) - 1) & 0xff;
  applyLut(img, pointLut((v) => v & mask));
};
export const solarize = (img: RgbImage, thresh: number) => applyLut(img, pointLut((v) => (v >= thresh ? 255 - v : v)));
export const solarizeAdd = (img: RgbImage, add: number, thresh = 128) => applyLut(img, pointLut((v) => (v < thresh ? Math.min(255, v + add) : v)));

/** PIL RGB -> L: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16. */
const luma = (r: number, g: number, b: number) => (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;

/** Image.blend(degenerate, img, f) with PIL's clip and truncation; `degen(i)` gives the degenerate value at byte i. */
function blend(img: RgbImage, f: number, degen: (i: number) => number): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) {
    const g = degen(i);
    d[i] = clip8(g + f * (d[i] - g));
  }
}

/** ImageEnhance.Color: blend with the grayscale image. */
export function color(img: RgbImage, f: number): void {
  const d = img.data;
  const gray = new Uint8Array(d.length / 3);
  for (let p = 0; p < gray.length; p++) gray[p] = luma(d[3 * p], d[3 * p + 1], d[3 * p + 2]);
  blend(img, f, (i) => gray[(i / 3) | 0]);
}

/** ImageEnhance.Contrast: blend with the mean grey level (rounded). */
export function contrast(img: RgbImage, f: number): void {
  const d = img.data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 3) sum += luma(d[i], d[i + 1], d[i + 2]);
  const mean = Math.trunc(sum / (d.length / 3) + 0.5);
  blend(img, f, () => mean);
}

/** ImageEnhance.Brightness: blend with black. */
export const brightness = (img: RgbImage, f: number) => blend(img, f, () => 0);

/** ImageEnhance.Sharpness: blend with ImageFilter.SMOOTH (3x3 [1 1 1; 1 5 1; 1 1 1] / 13, borders kept). */
export function sharpness(img: RgbImage, f: number): void {
  const { width: w, height: h, data: d } = img;
  const smooth = new Uint8Array(d);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let c = 0; c < 3; c++) {
        const o = (y * w + x) * 3 + c;
        const s = d[o - 3 * w - 3] + d[o - 3 * w] + d[o - 3 * w + 3] + d[o - 3] + 5 * d[o] + d[o + 3] + d[o + 3 * w - 3] + d[o + 3 * w] + d[o + 3 * w + 3];
        smooth[o] = clip8(s / 13 + 0.5);
      }
    }
  }
  blend(img, f, (i) => smooth[i]);
}

/**
 * Image.transform(AFFINE, (a, b, c, d, e, f)): output pixel (x, y) samples the input at
 * (a x + b y + c, d x + e y + f) (pixel centres), bilinear, `fill` outside.
 */
export function affine(img: RgbImage, m: readonly number[], fill: readonly [number, number, number]): void {
  const { width: w, height: h } = img;
  const src = new Uint8Array(img.data);
  const d = img.data;
  const [a, b, c, dd, e, f] = m;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = a * (x + 0.5) + b * (y + 0.5) + c - 0.5;
      const v = dd * (x + 0.5) + e * (y + 0.5) + f - 0.5;
      const o = (y * w + x) * 3;
      if (u < -0.5 || v < -0.5 || u > w - 0.5 || v > h - 0.5) {
        d[o] = fill[0];
        d[o + 1] = fill[1];
        d[o + 2] = fill[2];
        continue;
      }
      const x0 = Math.floor(u), y0 = Math.floor(v);
      const fx = u - x0, fy = v - y0;
      const xa = Math.max(0, x0), xb = Math.min(w - 1, x0 + 1);
      const ya = Math.max(0, y0), yb = Math.min(h - 1, y0 + 1);
      for (let ch = 0; ch < 3; ch++) {
        const p00 = src[(ya * w + xa) * 3 + ch], p01 = src[(ya * w + xb) * 3 + ch];
        const p10 = src[(yb * w + xa) * 3 + ch], p11 = src[(yb * w + xb) * 3 + ch];
        const top = p00 + (p01 - p00) * fx, bot = p10 + (p11 - p10) * fx;
        d[o + ch] = clip8(top + (bot - top) * fy + 0.5);
      }
    }
  }
}

/** Image.rotate(degrees) about the centre (counter-clockwise), same size, fill outside. */
export function rotate(img: RgbImage, degrees: number, fill: readonly [number, number, number]): void {
  const t = (degrees * Math.PI) / 180;
  const cx = img.width / 2, cy = img.height / 2;
  const cos = Math.cos(t), sin = Math.sin(t);
  // input = R(-t) applied to (output - centre) + centre, in PIL's matrix form
  affine(img, [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy], fill);
}

// ---- level -> argument (timm LEVEL_TO_ARG) ----

const negate = (v: number, rng: Rng) => (rng.random() > 0.5 ? -v : v);

export function applyOp(name: string, img: RgbImage, level: number, cfg: RandAugmentConfig, rng: Rng): void {
  const m = level / LEVEL_DENOM;
  const fill = cfg.fill;
  switch (name) {
    case 'AutoContrast': return autoContrast(img);
    case 'Equalize': return equalize(img);
    case 'Invert': return invert(img);
    case 'Rotate': return rotate(img, negate(m * 30, rng), fill);
    case 'Posterize': return posterize(img, Math.trunc(m * 4));
    case 'PosterizeIncreasing': return posterize(img, 4 - Math.trunc(m * 4));
    case 'Solarize': return solarize(img, Math.min(256, Math.trunc(m * 256)));
    case 'SolarizeIncreasing': return solarize(img, 256 - Math.min(256, Math.trunc(m * 256)));
    case 'SolarizeAdd': return solarizeAdd(img, Math.min(128, Math.trunc(m * 110)));
    case 'Color': return color(img, m * 1.8 + 0.1);
    case 'Contrast': return contrast(img, m * 1.8 + 0.1);
    case 'Brightness': return brightness(img, m * 1.8 + 0.1);
    case 'Sharpness': return sharpness(img, m * 1.8 + 0.1);
    case 'ColorIncreasing': return color(img, Math.max(0.1, 1 + negate(m * 0.9, rng)));
    case 'ContrastIncreasing': return contrast(img, Math.max(0.1, 1 + negate(m * 0.9, rng)));
    case 'BrightnessIncreasing': return brightness(img, Math.max(0.1, 1 + negate(m * 0.9, rng)));
    case 'SharpnessIncreasing': return sharpness(img, Math.max(0.1, 1 + negate(m * 0.9, rng)));
    case 'ShearX': return affine(img, [1, negate(m * 0.3, rng), 0, 0, 1, 0], fill);
    case 'ShearY': return affine(img, [1, 0, 0, negate(m * 0.3, rng), 1, 0], fill);
    case 'TranslateXRel': return affine(img, [1, 0, negate(m * cfg.translatePct, rng) * img.width, 0, 1, 0], fill);
    case 'TranslateYRel': return affine(img, [1, 0, 0, 0, 1, negate(m * cfg.translatePct, rng) * img.height], fill);
    default: throw new Error(`unknown RandAugment op '${name}'`);
  }
}

/**
 * timm RandAugment.__call__: `numLayers` ops drawn uniformly with replacement; each applies with
 * probability `prob` at a magnitude drawn from N(m, mstd) (uniform on [0, m] when mstd is inf),
 * clipped to [0, mmax]. Modifies `img` in place; returns the names of the ops applied.
 */
export function randAugment(img: RgbImage, cfg: RandAugmentConfig, rng: Rng): string[] {
  const applied: string[] = [];
  for (let k = 0; k < cfg.numLayers; k++) {
    const name = cfg.ops[rng.int(cfg.ops.length)];
    if (cfg.prob < 1 && rng.random() > cfg.prob) continue;
    let mag = cfg.magnitude;
    if (cfg.magnitudeStd === Infinity) mag = rng.uniform(0, mag);
    else if (cfg.magnitudeStd > 0) mag = mag + cfg.magnitudeStd * rng.normal();
    mag = Math.max(0, Math.min(mag, cfg.magnitudeMax));
    applyOp(name, img, mag, cfg, rng);
    applied.push(name);
  }
  return applied;
}
