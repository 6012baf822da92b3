// Effective receptive field as the VMamba paper measures it (MzeroMiko/VMamba analyze/utils.py
// EffectiveReceiptiveField, itself RepLKNet's erf/visualize_erf.py + analyze_erf.py):
//   out = backbone(x)                                   last stage's map, (B, h, w, C) here (NHWC)
//   s   = sum(relu(out[:, h//2, w//2, :]))              central position, all channels, all images
//   g   = d s / d x                                     (B, H, W, 3)
//   map = sum over channels of relu(g)  (or |g|)        per image (H, W); images with NaN are skipped
//   erf = mean of the per-image maps over the images    (the official AverageMeter over 50 images)
// Display: VMamba's simpnorm x^0.2 / max ('pow'), RepLKNet's log10(x + 1) / max ('log'), or x / max.
// The high-contribution area ratio is RepLKNet's (analyze_erf.py): the map scaled by log10(x + 1) and
// / max, whatever the display scale, then get_rectangle: the smallest centred square (side 2i+1,
// i >= 1) holding more than t of the total, as (side/H)(side/W). (VMamba's x^0.2 display flattens the
// map too much for this: every scan gave the same ratio.)
// The model is in eval mode (fixed norms, no drop path), as in the official scripts.
import { tf, type Tensor } from '../../core/tf.ts';
import type { ErfGrad, ErfScale } from './config.ts';

export interface ErfMap {
  H: number;
  W: number;
  /** mean per-image contribution map, row-major (H * W) */
  map: Float64Array;
  /** images averaged */
  images: number;
  /** images dropped because their map had a NaN */
  nanImages: number;
  /** size of the feature map whose centre was taken */
  featureH: number;
  featureW: number;
}

/**
 * ERF of `feature` (x (B, H, W, 3) -> (B, h, w, C)) over batches of images. Each batch is read back
 * once (the per-image maps, to drop NaN images as the official loop does).
 */
export async function effectiveReceptiveField(
  feature: (x: Tensor) => Tensor,
  batches: AsyncIterable<{ images: Float32Array; shape: readonly [number, number, number, number] | number[] }>,
  o: { grad?: ErfGrad; maxImages?: number } = {},
): Promise<ErfMap> {
  const keep = o.grad ?? 'relu';
  let sum: Float64Array | null = null;
  let H = 0, W = 0, fh = 0, fw = 0, images = 0, nanImages = 0;
  for await (const batch of batches) {
    const [B0, h0, w0, c0] = batch.shape;
    if (c0 !== 3) throw new Error(`ERF: images must have 3 channels, got ${c0}`);
    if (sum && (h0 !== H || w0 !== W)) throw new Error(`ERF: all images must have one size: ${H}x${W} then ${h0}x${w0}`);
    const B = Math.min(B0, (o.maxImages ?? Infinity) - images - nanImages);
    if (B <= 0) break;
    H = h0; W = w0;
    sum ??= new Float64Array(H * W);
    const x = tf.tensor4d(batch.images.subarray(0, B * H * W * 3), [B, H, W, 3]);
    const maps = tf.tidy(() => {
      const g = tf.grad((inp: Tensor) => {
        const f = feature(inp); // (B, h, w, C)
        if (f.rank !== 4) throw new Error(`ERF: the feature map must be (B, h, w, C), got shape [${f.shape.join(', ')}]`);
        fh = f.shape[1]!;
        fw = f.shape[2]!;
        const centre = tf.slice(f, [0, Math.floor(fh / 2), Math.floor(fw / 2), 0], [-1, 1, 1, -1]);
        return tf.sum(tf.relu(centre));
      })(x); // (B, H, W, 3)
      return tf.sum(keep === 'abs' ? tf.abs(g) : tf.relu(g), -1); // (B, H, W)
    });
    x.dispose();
    const vals = await maps.data(); // GPU->CPU sync: once per batch
    maps.dispose();
    for (let b = 0; b < B; b++) {
      const one = vals.subarray(b * H * W, (b + 1) * H * W);
      if (one.some((v) => Number.isNaN(v))) { nanImages++; continue; }
      for (let i = 0; i < H * W; i++) sum[i] += one[i];
      images++;
    }
    if (o.maxImages !== undefined && images + nanImages >= o.maxImages) break;
  }
  if (!sum) throw new Error('ERF: no images');
  if (images === 0) throw new Error(`ERF: every one of the ${nanImages} images gave a NaN gradient`);
  for (let i = 0; i < sum.length; i++) sum[i] /= images;
  return { H, W, map: sum, images, nanImages, featureH: fh, featureW: fw };
}

/** Display scaling of a non-negative map, normalised so its maximum is 1 (all zeros stay zeros). */
export function scaleErf(map: ArrayLike<number>, scale: ErfScale): Float64Array {
  const f = scale === 'pow' ? (v: number) => Math.pow(v, 0.2) : scale === 'log' ? (v: number) => Math.log10(v + 1) : (v: number) => v;
  const out = Float64Array.from(map, (v) => f(Math.max(0, v)));
  let max = 0;
  for (const v of out) if (v > max) max = v;
  if (max > 0) for (let i = 0; i < out.length; i++) out[i] /= max;
  return out;
}

/**
 * RepLKNet's get_rectangle: the smallest centred square of side 2i+1 (1 <= i < H//2) whose sum is
 * more than `thresh` of the total, as its area ratio (side/H)(side/W); null when none is (the
 * official returns None), e.g. maps smaller than 6 pixels on a side.
 */
export function areaRatio(map: ArrayLike<number>, H: number, W: number, thresh: number): number | null {
  let total = 0;
  for (let i = 0; i < H * W; i++) total += map[i];
  if (!(total > 0)) return null;
  const ch = Math.floor(H / 2), cw = Math.floor(W / 2);
  for (let i = 1; i < Math.floor(H / 2); i++) {
    let s = 0;
    // numpy slicing clips at the borders: data[ch-i : ch+1+i, cw-i : cw+1+i]
    for (let r = Math.max(0, ch - i); r < Math.min(H, ch + 1 + i); r++) {
      for (let c = Math.max(0, cw - i); c < Math.min(W, cw + 1 + i); c++) s += map[r * W + c];
    }
    if (s / total > thresh) return ((2 * i + 1) / H) * ((2 * i + 1) / W);
  }
  return null;
}

export const AREA_THRESHOLDS = [0.2, 0.3, 0.5, 0.99] as const;

/** area ratios of an already scaled map at RepLKNet's thresholds, keyed 'r20', 'r30', 'r50', 'r99' */
export function areaRatios(scaled: ArrayLike<number>, H: number, W: number): Record<string, number | null> {
  return Object.fromEntries(AREA_THRESHOLDS.map((t) => [`r${Math.round(t * 100)}`, areaRatio(scaled, H, W, t)]));
}

/** RepLKNet's ratios of a raw (mean contribution) map: log10(x + 1) / max, then get_rectangle */
export function erfAreaRatios(raw: ArrayLike<number>, H: number, W: number): Record<string, number | null> {
  return areaRatios(scaleErf(raw, 'log'), H, W);
}
