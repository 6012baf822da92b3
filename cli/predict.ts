// `ssmv predict <image...> --model <name> --weights <file>`: timm's eval transform (resize to
// size/crop_pct, centre crop, ImageNet normalisation), forward, top-5 with probabilities.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { setBackend, BACKEND_NAMES } from '../core/backend.ts';
import { tf } from '../core/tf.ts';
import { backbones } from '../backbones/index.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../backbones/backbone.ts';
import { readBytes, imageSize, decodeRgb } from '../datasets/io/decode.ts';
import { centerCropResize } from '../datasets/transforms/crop.ts';
import { normalize } from '../datasets/transforms/color.ts';
import { buildWithWeights, readConfigFile } from './model-args.ts';

const SCHEMA: ArgSchema = {
  model: { type: 'string', help: 'registered model name' },
  weights: { type: 'string', help: 'checkpoint (.pth or .safetensors)' },
  config: { type: 'string', help: 'JSON file of official constructor kwargs' },
  img: { type: 'int', default: 224, help: 'input size' },
  crop_pct: { type: 'number', default: 0.875, help: 'resize to img/crop_pct, then centre crop' },
  topk: { type: 'int', default: 5, help: 'classes to print per image' },
  classes: { type: 'string', help: 'class-name file, one per line (default: ImageNet-1k when the head has 1000 classes)' },
  ema: { type: 'boolean', default: false, help: 'use the EMA weights of the checkpoint' },
  backend: { type: 'string', default: 'auto', choices: BACKEND_NAMES, help: 'tensor backend' },
  json: { type: 'boolean', default: false, help: 'print JSON' },
};

export const IMAGENET_CLASSES_FILE = fileURLToPath(new URL('../data/imagenet-classes.txt', import.meta.url));

export function readClassNames(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
}

export async function run(argv: string[]): Promise<number> {
  // detection (model=mamba_yolo_* or task=detect): cli/predict-yolo.ts
  const yolo = await import('./predict-yolo.ts');
  if (yolo.isYoloPredict(argv)) return yolo.run(argv);
  const args = parseArgs(argv, SCHEMA, 'predict');
  if (args.help) {
    process.stdout.write(formatHelp('predict', 'ssmv predict <image...> --model <name> --weights <file>', SCHEMA));
    return 0;
  }
  const images = args.positionals;
  if (!images.length) throw new UsageError('give one or more images: ssmv predict <image...> --model <name> --weights <file>');
  const weights = args.values.weights as string | undefined;
  if (!weights) throw new UsageError('give --weights <checkpoint> (ssmv import converts official ones)');
  const name = args.values.model as string | undefined;
  await setBackend(args.values.backend as string);
  const { model } = buildWithWeights(name, weights, readConfigFile(args.values.config as string | undefined), args.values.ema as boolean);
  const cfg = name ? backbones.get(name.split('.')[0]).pretrained?.[0] : undefined;
  const mean = cfg?.mean ?? IMAGENET_MEAN;
  const std = cfg?.std ?? IMAGENET_STD;
  const size = args.values.img as number;
  const classFile = (args.values.classes as string | undefined) ?? (model.numClasses === 1000 ? IMAGENET_CLASSES_FILE : undefined);
  const names = classFile ? readClassNames(classFile) : null;
  if (names && names.length !== model.numClasses) throw new UsageError(`${classFile} has ${names.length} class names, the model has ${model.numClasses} classes`);
  const k = Math.min(args.values.topk as number, model.numClasses);
  const results: Array<{ image: string; top: Array<{ class: number; name: string; prob: number }> }> = [];
  for (const file of images) {
    const buf = await readBytes(file);
    const { width, height } = await imageSize(buf, file);
    const { resize, crop } = centerCropResize(width, height, size, args.values.crop_pct as number);
    const img = await decodeRgb(buf, file, { resize: { ...resize, interpolation: cfg?.interpolation ?? 'bicubic' }, cropAfter: crop });
    const x = tf.tensor4d(normalize(img, mean, std), [1, size, size, 3]);
    const probs = tf.tidy(() => tf.softmax(model.forward(x)));
    const { values, indices } = tf.topk(probs, k);
    const [p, idx] = [await values.data(), await indices.data()]; // GPU->CPU: the answer
    tf.dispose([x, probs, values, indices]);
    results.push({ image: file, top: Array.from(idx, (c, i) => ({ class: c, name: names ? names[c] : String(c), prob: p[i] })) });
  }
  if (args.values.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else for (const r of results) {
    process.stdout.write(`${r.image}\n${r.top.map((t) => `  ${(100 * t.prob).toFixed(2).padStart(6)}%  ${t.name} (${t.class})`).join('\n')}\n`);
  }
  model.dispose();
  return 0;
}
