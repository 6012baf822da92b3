// `ssmv import <ckpt> --model <name> [--config file.json] --out model.safetensors`: loads an official
// checkpoint strictly (every key used, every shape checked), writes the converted weights (PyTorch
// layout and names, safetensors) and prints a summary.
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { setBackend, BACKEND_NAMES } from '../core/backend.ts';
import { writeSafetensors } from '../core/io/safetensors.ts';
import { readCheckpointInfo } from '../core/io/checkpoint.ts';
import { buildWithWeights, readConfigFile } from './model-args.ts';

const SCHEMA: ArgSchema = {
  model: { type: 'string', help: 'registered model name (ssmv info lists them)' },
  config: { type: 'string', help: 'JSON file of official constructor kwargs (overrides the variant; with "family", replaces it)' },
  out: { type: 'string', help: 'output .safetensors file' },
  ema: { type: 'boolean', default: false, help: 'import the EMA weights (model_ema) instead of model' },
  backend: { type: 'string', default: 'cpu', choices: BACKEND_NAMES, help: 'tensor backend used for the layout conversion' },
  json: { type: 'boolean', default: false, help: 'print the summary as JSON' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SCHEMA, 'import');
  if (args.help) {
    process.stdout.write(formatHelp('import', 'ssmv import <checkpoint.pth|.safetensors> --model <name> [--config f.json] --out <file.safetensors>', SCHEMA));
    return 0;
  }
  const [ckpt, ...extra] = args.positionals;
  if (!ckpt) throw new UsageError('give the checkpoint to import: ssmv import <file> --model <name> --out <file.safetensors>');
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const out = args.values.out as string | undefined;
  if (!out) throw new UsageError('give --out <file.safetensors>');
  if (!out.endsWith('.safetensors')) throw new UsageError(`--out must end in .safetensors, got '${out}'`);
  await setBackend(args.values.backend as string);
  const info = readCheckpointInfo(ckpt, { ema: args.values.ema as boolean });
  const dtypes = new Map<string, number>();
  for (const r of info.stateDict.values()) dtypes.set(r.dtype, (dtypes.get(r.dtype) ?? 0) + 1);
  const { model, load } = buildWithWeights(args.values.model as string | undefined, ckpt, readConfigFile(args.values.config as string | undefined), args.values.ema as boolean);
  const sd = await model.stateDict();
  writeSafetensors(out, sd, { format: 'pt', source: ckpt, model: String(args.values.model ?? model.family) });
  const summary = {
    checkpoint: ckpt, model: args.values.model ?? model.family, family: model.family, params: model.numParams(),
    keys: sd.size, fileKeys: info.stateDict.size, wrapper: info.wrapper || '(top level)', strippedPrefix: info.strippedPrefix,
    dtypes: Object.fromEntries(dtypes), out,
  };
  if (args.values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else {
    process.stdout.write(
      `imported ${ckpt}\n  model    ${summary.model} (${summary.family})\n  params   ${summary.params.toLocaleString('en')}\n` +
      `  keys     ${summary.keys} written, ${load.keys} read (state dict under ${summary.wrapper}${summary.strippedPrefix ? `, prefix '${summary.strippedPrefix}' removed` : ''})\n` +
      `  dtypes   ${[...dtypes].map(([d, n]) => `${d} x${n}`).join(', ')} -> float32\n  wrote    ${out}\n`,
    );
  }
  model.dispose();
  return 0;
}
