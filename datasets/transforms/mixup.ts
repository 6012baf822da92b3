// Mixup / CutMix at batch level, as timm (timm/data/mixup.py Mixup): each image i is mixed with
// image B-1-i (the flipped batch); lambda ~ Beta(alpha, alpha); CutMix pastes a box of area
// (1 - lambda) and corrects lambda to the clipped area; targets are label-smoothed one-hots mixed
// with the same lambda: y = lam * onehot(t) + (1 - lam) * onehot(flip(t)), each with
// off = smoothing / C, on = 1 - smoothing + off. Modes: 'batch' (one lambda), 'pair', 'elem'.
import type { Rng } from '../../core/rng.ts';
import type { Batch } from '../types.ts';

export interface MixupOptions {
  mixupAlpha?: number;
  cutmixAlpha?: number;
  /** [min, max] box side as a fraction of the image; forces CutMix with alpha 1 */
  cutmixMinmax?: [number, number] | null;
  prob?: number;
  switchProb?: number;
  mode?: 'batch' | 'pair' | 'elem';
  correctLam?: boolean;
  labelSmoothing?: number;
  numClasses: number;
}

/** Marsaglia-Tsang gamma sampler (shape a, scale 1). */
export function sampleGamma(a: number, rng: Rng): number {
  if (a < 1) return sampleGamma(a + 1, rng) * Math.pow(rng.random() || Number.MIN_VALUE, 1 / a);
  const d = a - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.random();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function sampleBeta(a: number, b: number, rng: Rng): number {
  const x = sampleGamma(a, rng), y = sampleGamma(b, rng);
  return x / (x + y);
}

/** One-hot targets with label smoothing mixed by lam[i] with the flipped batch. (B, C) */
export function mixupTarget(labels: Int32Array, numClasses: number, lam: Float32Array | number, smoothing = 0): Float32Array {
  const B = labels.length;
  const off = smoothing / numClasses, on = 1 - smoothing + off;
  const out = new Float32Array(B * numClasses);
  for (let i = 0; i < B; i++) {
    const l = typeof lam === 'number' ? lam : lam[i];
    const a = labels[i], b = labels[B - 1 - i];
    if (a < 0 || a >= numClasses || b < 0 || b >= numClasses) throw new Error(`mixup: label ${a < 0 || a >= numClasses ? a : b} outside 0..${numClasses - 1}`);
    const row = out.subarray(i * numClasses, (i + 1) * numClasses);
    row.fill(off);
    row[a] += (on - off) * l;
    row[b] += (on - off) * (1 - l);
  }
  return out;
}

/** timm rand_bbox / rand_bbox_minmax + lambda correction; returns [yl, yh, xl, xh] and the corrected lambda. */
export function cutmixBox(h: number, w: number, lam: number, rng: Rng, minmax: [number, number] | null | undefined, correctLam: boolean): { box: [number, number, number, number]; lam: number } {
  let yl: number, yh: number, xl: number, xh: number;
  const randExcl = (lo: number, hi: number) => lo + rng.int(Math.max(1, hi - lo)); // np.random.randint(lo, hi)
  if (minmax) {
    const ch = randExcl(Math.trunc(h * minmax[0]), Math.trunc(h * minmax[1]));
    const cw = randExcl(Math.trunc(w * minmax[0]), Math.trunc(w * minmax[1]));
    yl = randExcl(0, h - ch);
    xl = randExcl(0, w - cw);
    yh = yl + ch;
    xh = xl + cw;
  } else {
    const ratio = Math.sqrt(1 - lam);
    const ch = Math.trunc(h * ratio), cw = Math.trunc(w * ratio);
    const cy = randExcl(0, h), cx = randExcl(0, w);
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    yl = clip(cy - (ch >> 1), h);
    yh = clip(cy + (ch >> 1), h);
    xl = clip(cx - (cw >> 1), w);
    xh = clip(cx + (cw >> 1), w);
  }
  if (correctLam || minmax) lam = 1 - ((yh - yl) * (xh - xl)) / (h * w);
  return { box: [yl, yh, xl, xh], lam };
}

export class Mixup {
  readonly o: Required<Omit<MixupOptions, 'cutmixMinmax'>> & { cutmixMinmax: [number, number] | null };

  constructor(options: MixupOptions) {
    const o = {
      mixupAlpha: 1, cutmixAlpha: 0, cutmixMinmax: null, prob: 1, switchProb: 0.5, mode: 'batch' as const,
      correctLam: true, labelSmoothing: 0.1, ...options,
    };
    if (o.cutmixMinmax) o.cutmixAlpha = 1;
    if (!(o.mixupAlpha > 0) && !(o.cutmixAlpha > 0)) throw new Error('Mixup: one of mixupAlpha > 0, cutmixAlpha > 0 or cutmixMinmax must be set');
    if (!(o.numClasses > 0)) throw new Error('Mixup: numClasses must be > 0');
    this.o = o as Mixup['o'];
  }

  private params(rng: Rng): { lam: number; cutmix: boolean } {
    const o = this.o;
    if (!(rng.random() < o.prob)) return { lam: 1, cutmix: false };
    let cutmix = false;
    let alpha: number;
    if (o.mixupAlpha > 0 && o.cutmixAlpha > 0) {
      cutmix = rng.random() < o.switchProb;
      alpha = cutmix ? o.cutmixAlpha : o.mixupAlpha;
    } else if (o.mixupAlpha > 0) alpha = o.mixupAlpha;
    else {
      cutmix = true;
      alpha = o.cutmixAlpha;
    }
    return { lam: sampleBeta(alpha, alpha, rng), cutmix };
  }

  /** Mixes `batch.images` in place and sets `batch.targets` (B, numClasses). Returns the lambdas used. */
  apply(batch: Batch, rng: Rng): Float32Array {
    if (!batch.labels) throw new Error('Mixup needs class labels in the batch');
    const [B, H, W, C] = batch.shape;
    const x = batch.images;
    const img = H * W * C;
    const lam = new Float32Array(B).fill(1);
    const orig = new Float32Array(x); // unmodified source for mixing
    const pasteBox = (dst: number, src: number, [yl, yh, xl, xh]: [number, number, number, number]) => {
      for (let y = yl; y < yh; y++) {
        const o = y * W * C;
        x.set(orig.subarray(src * img + o + xl * C, src * img + o + xh * C), dst * img + o + xl * C);
      }
    };
    const blendInto = (dst: number, src: number, l: number) => {
      const a = dst * img, b = src * img;
      for (let k = 0; k < img; k++) x[a + k] = orig[a + k] * l + orig[b + k] * (1 - l);
    };
    const mode = this.o.mode;
    if (mode === 'batch') {
      const { lam: l0, cutmix } = this.params(rng);
      let l = l0;
      if (l !== 1) {
        if (cutmix) {
          const r = cutmixBox(H, W, l, rng, this.o.cutmixMinmax, this.o.correctLam);
          l = r.lam;
          for (let i = 0; i < B; i++) pasteBox(i, B - 1 - i, r.box);
        } else for (let i = 0; i < B; i++) blendInto(i, B - 1 - i, l);
      }
      lam.fill(l);
    } else {
      if (mode === 'pair' && B % 2) throw new Error(`Mixup mode 'pair' needs an even batch size, got ${B}`);
      const n = mode === 'pair' ? B / 2 : B;
      for (let i = 0; i < n; i++) {
        const j = B - 1 - i;
        const { lam: l0, cutmix } = this.params(rng);
        let l = l0;
        if (l !== 1) {
          if (cutmix) {
            const r = cutmixBox(H, W, l, rng, this.o.cutmixMinmax, this.o.correctLam);
            l = r.lam;
            pasteBox(i, j, r.box);
            if (mode === 'pair') pasteBox(j, i, r.box);
          } else {
            blendInto(i, j, l);
            if (mode === 'pair') blendInto(j, i, l);
          }
        }
        lam[i] = l;
        if (mode === 'pair') lam[j] = l;
      }
    }
    batch.targets = mixupTarget(batch.labels, this.o.numClasses, lam, this.o.labelSmoothing);
    batch.numClasses = this.o.numClasses;
    return lam;
  }
}
