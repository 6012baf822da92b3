// Classification pipelines (timm transforms_imagenet_train / _eval order): geometry inside the
// decoder (sharp: EXIF rotate -> crop -> resize -> flip -> RGB), then RandAugment or colour jitter
// on 8-bit RGB, normalisation to float, Random Erasing on the normalised image.
import type { Rng } from '../../core/rng.ts';
import type { Item, Sample } from '../types.ts';
import { DataError } from '../common.ts';
import { decodeRgb, imageSize, readBytes, type Interpolation } from '../io/decode.ts';
import { centerCropResize, randomResizedCropParams } from '../transforms/crop.ts';
import { parseRandAugment, randAugment, type RandAugmentConfig } from '../transforms/randaugment.ts';
import { colorJitter, colorJitterOf, normalize, type ColorJitter } from '../transforms/color.ts';
import { randomErasing } from '../transforms/erasing.ts';
import type { ClassifyEvalSpec, ClassifyTrainSpec } from './spec.ts';

function labelOf(s: Sample): number {
  if (s.target.kind !== 'class') throw new DataError(s.file, 'target', `a classification pipeline needs a class label, got '${s.target.kind}' annotations`);
  return s.target.label;
}

type Runner = (samples: Sample[], rng: Rng, out?: Float32Array) => Promise<Item>;

/** `out` if it is exactly one (size, size, 3) image (the batch slot the loader passes), else undefined. */
const slot = (out: Float32Array | undefined, size: number) => (out && out.length === size * size * 3 ? out : undefined);

export function classifyTrainRunner(spec: ClassifyTrainSpec): Runner {
  const fill = spec.mean.map((m) => Math.min(255, Math.round(255 * m))) as [number, number, number];
  const ra: RandAugmentConfig | null = spec.autoAugment ? parseRandAugment(spec.autoAugment, fill) : null;
  // timm disables colour jitter when an auto-augment policy is on
  const cj: ColorJitter | null = !ra && spec.colorJitter != null ? colorJitterOf(spec.colorJitter) : null;
  return async ([s], rng, out) => {
    const label = labelOf(s);
    const buf = await readBytes(s.file);
    const { width, height } = await imageSize(buf, s.file);
    const crop = randomResizedCropParams(width, height, rng, spec.scale, spec.ratio);
    const interpolation: Interpolation = spec.interpolation === 'random' ? (rng.random() < 0.5 ? 'bilinear' : 'bicubic') : spec.interpolation;
    const hflip = spec.hflip > 0 && rng.random() < spec.hflip;
    const vflip = spec.vflip > 0 && rng.random() < spec.vflip;
    const img = await decodeRgb(buf, s.file, { crop, resize: { width: spec.size, height: spec.size, interpolation }, hflip, vflip });
    if (ra) randAugment(img, ra, rng);
    else if (cj) colorJitter(img, cj, rng);
    const image = normalize(img, spec.mean, spec.std, slot(out, spec.size));
    if (spec.reprob > 0) randomErasing(image, spec.size, spec.size, { probability: spec.reprob, mode: spec.remode, maxCount: spec.recount }, rng);
    return { index: s.index, image, height: spec.size, width: spec.size, label, sourceSize: [height, width] };
  };
}

export function classifyEvalRunner(spec: ClassifyEvalSpec): Runner {
  return async ([s], _rng, out) => {
    const label = labelOf(s);
    const buf = await readBytes(s.file);
    const { width, height } = await imageSize(buf, s.file);
    const { resize, crop } = centerCropResize(width, height, spec.size, spec.cropPct);
    const img = await decodeRgb(buf, s.file, { resize: { ...resize, interpolation: spec.interpolation }, cropAfter: crop });
    const image = normalize(img, spec.mean, spec.std, slot(out, spec.size));
    return { index: s.index, image, height: spec.size, width: spec.size, label, sourceSize: [height, width] };
  };
}
