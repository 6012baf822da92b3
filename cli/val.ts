// `ssmv val model=<name> weights=<file> data=<ImageFolder root> [split=val] [--json]`: top-1, top-5
// and loss (timm validate.py's numbers, in percent).
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { BACKEND_NAMES } from '../core/backend.ts';

export const VAL_SCHEMA: ArgSchema = {
  model: { type: 'string', default: '', help: 'model name (ssmv info lists them)' },
  weights: { type: 'string', default: '', help: 'weights: .safetensors (e.g. runs/train/best.safetensors) or .pth' },
  data: { type: 'string', default: '', help: 'ImageFolder root' },
  split: { type: 'string', default: 'val', help: 'sub-folder of data to evaluate' },
  batch: { type: 'int', default: 64, help: 'images per batch' },
  imgsz: { type: 'int', default: 224, help: 'image size' },
  crop_pct: { type: 'number', default: 0.875, help: 'centre-crop fraction (resize to imgsz / crop_pct first)' },
  interpolation: { type: 'string', default: 'bicubic', choices: ['bicubic', 'bilinear'], help: 'resize interpolation' },
  workers: { type: 'int', default: -1, help: 'data loading workers: processes on machines of more than 2 cores, else threads (-1 = one per core, less one above 2 cores, at most 32)' },
  backend: { type: 'string', default: 'auto', choices: BACKEND_NAMES, help: 'tensor backend' },
  ema: { type: 'boolean', default: false, help: 'use the EMA weights of a .pth checkpoint that has them' },
  json: { type: 'boolean', default: false, help: 'print one JSON object' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, VAL_SCHEMA, 'val');
  if (args.help) {
    process.stdout.write(formatHelp('val', 'ssmv val model=<name> weights=<file> data=<ImageFolder root> [split=val] [--json]', VAL_SCHEMA));
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}': keys are key=value (see ssmv val --help)`);
  const v = args.values;
  for (const k of ['batch', 'imgsz'] as const) if ((v[k] as number) < 1) throw new UsageError(`${k}: must be >= 1, got ${v[k]}`);
  const { validateClassifier, formatVal } = await import('../train/val.ts');
  const { backendInfo: _b, ...r } = await validateClassifier(v as never);
  process.stdout.write(v.json ? JSON.stringify(r, null, 2) + '\n' : formatVal(r));
  return 0;
}
