// Classification crops, ported from timm (timm/data/transforms.py RandomResizedCropAndInterpolation,
// timm/data/transforms_factory.py transforms_imagenet_eval) and torchvision's Resize/CenterCrop.
import type { Rng } from '../../core/rng.ts';

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Python's round (half to even), as timm's int(round(...)). */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** random.randint(a, b): inclusive on both ends. */
export function randint(rng: Rng, a: number, b: number): number {
  return a + rng.int(b - a + 1);
}

/**
 * RandomResizedCrop.get_params: up to 10 tries of an area fraction in `scale` and a log-uniform
 * aspect ratio in `ratio`; if none fits, a centre crop clamped to the ratio range (or the image).
 */
export function randomResizedCropParams(
  width: number,
  height: number,
  rng: Rng,
  scale: readonly [number, number] = [0.08, 1.0],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const area = width * height;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = rng.uniform(scale[0], scale[1]) * area;
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = pyRound(Math.sqrt(targetArea * aspect));
    const h = pyRound(Math.sqrt(targetArea / aspect));
    if (w <= width && h <= height && w > 0 && h > 0) {
      const top = randint(rng, 0, height - h);
      const left = randint(rng, 0, width - w);
      return { left, top, width: w, height: h };
    }
  }
  // fallback to a central crop
  const inRatio = width / height;
  let w: number, h: number;
  if (inRatio < Math.min(...ratio)) {
    w = width;
    h = pyRound(w / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    h = height;
    w = pyRound(h * Math.max(...ratio));
  } else {
    w = width;
    h = height;
  }
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

/**
 * timm eval transform, crop_mode 'center': resize the shorter side to floor(size / crop_pct)
 * (torchvision Resize(int): the long side becomes int(scale * long / short)), then centre-crop `size`.
 * Returns the resize target and the crop in resized pixels.
 */
export function centerCropResize(
  width: number,
  height: number,
  size: number | readonly [number, number],
  cropPct = 0.875,
): { resize: { width: number; height: number }; crop: CropBox } {
  const [th, tw] = typeof size === 'number' ? [size, size] : size;
  let rw: number, rh: number;
  if (th === tw) {
    const s = Math.floor(th / cropPct);
    if (width <= height) {
      rw = s;
      rh = Math.floor((s * height) / width);
    } else {
      rh = s;
      rw = Math.floor((s * width) / height);
    }
  } else {
    // ResizeKeepRatio to floor(size / crop_pct) per side, scaling by the smaller ratio
    const sh = Math.floor(th / cropPct), sw = Math.floor(tw / cropPct);
    const r = Math.max(sh / height, sw / width);
    rh = Math.round(height * r);
    rw = Math.round(width * r);
  }
  rw = Math.max(rw, tw);
  rh = Math.max(rh, th);
  // torchvision CenterCrop: int(round((h - crop) / 2))
  const top = pyRound((rh - th) / 2), left = pyRound((rw - tw) / 2);
  return { resize: { width: rw, height: rh }, crop: { left, top, width: tw, height: th } };
}
