// Random Erasing as timm (timm/data/random_erasing.py RandomErasing), on one normalised
// (H, W, 3) float image: with probability p, erase 1..max_count rectangles (each up to 10 tries of
// an area fraction in [min_area, max_area] / count and a log-uniform aspect in [min_aspect,
// 1 / min_aspect]) with per-pixel normal noise ('pixel'), a per-box normal colour ('rand') or 0 ('const').
import type { Rng } from '../../core/rng.ts';
import { pyRound, randint } from './crop.ts';

export interface RandomErasingOptions {
  probability: number;
  minArea?: number;
  maxArea?: number;
  minAspect?: number;
  maxAspect?: number;
  mode?: 'const' | 'rand' | 'pixel';
  minCount?: number;
  maxCount?: number;
}

/** Erases in place; returns the rectangles erased [top, left, h, w]. */
export function randomErasing(img: Float32Array, height: number, width: number, o: RandomErasingOptions, rng: Rng): Array<[number, number, number, number]> {
  const done: Array<[number, number, number, number]> = [];
  if (rng.random() > o.probability) return done;
  const minArea = o.minArea ?? 0.02, maxArea = o.maxArea ?? 1 / 3;
  const minAspect = o.minAspect ?? 0.3, maxAspect = o.maxAspect ?? 1 / minAspect;
  const logAspect = [Math.log(minAspect), Math.log(maxAspect)];
  const mode = o.mode ?? 'const';
  const minCount = o.minCount ?? 1, maxCount = o.maxCount ?? minCount;
  const count = minCount === maxCount ? minCount : randint(rng, minCount, maxCount);
  const area = height * width;
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = (rng.uniform(minArea, maxArea) * area) / count;
      const aspect = Math.exp(rng.uniform(logAspect[0], logAspect[1]));
      const h = pyRound(Math.sqrt(target * aspect));
      const w = pyRound(Math.sqrt(target / aspect));
      if (w < width && h < height) {
        const top = randint(rng, 0, height - h);
        const left = randint(rng, 0, width - w);
        const colour = mode === 'rand' ? [rng.normal(), rng.normal(), rng.normal()] : [0, 0, 0];
        for (let y = top; y < top + h; y++) {
          for (let x = left; x < left + w; x++) {
            const o3 = (y * width + x) * 3;
            for (let c = 0; c < 3; c++) img[o3 + c] = mode === 'pixel' ? rng.normal() : colour[c];
          }
        }
        done.push([top, left, h, w]);
        break;
      }
    }
  }
  return done;
}
