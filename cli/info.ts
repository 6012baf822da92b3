// `ssmv info [--json] [backend=auto]`: backend, adapter, limits in force, tfjs version, registries.
import { parseArgs, formatHelp, type ArgSchema } from './args.ts';
import { setBackend, BACKEND_NAMES } from '../core/backend.ts';
import { allRegistries } from '../core/registries.ts';
import { buildModel, readConfigFile } from './model-args.ts';
import { countFlops, type FlopCount } from '../eval/flops.ts';
import { tf } from '../core/tf.ts';
import { backbones } from '../backbones/index.ts';

const SCHEMA: ArgSchema = {
  backend: { type: 'string', default: 'auto', choices: BACKEND_NAMES, help: 'tensor backend (with --model: the FLOP count runs on it)' },
  json: { type: 'boolean', default: false, help: 'print one JSON object' },
  model: { type: 'string', help: 'a registered model: print its parameter count instead' },
  config: { type: 'string', help: 'JSON file of official constructor kwargs (with --model, or with "family")' },
  img: { type: 'int', default: 224, help: 'input size for the FLOP count (square)' },
  flops: { type: 'boolean', default: true, help: 'count FLOPs (fvcore convention) by running one forward pass at img x img' },
};

interface ModelInfoArgs { name?: string; configFile?: string; json: boolean; img: number; flops: boolean; backend: string }

async function modelInfo(a: ModelInfoArgs): Promise<number> {
  await setBackend(a.backend);
  const model = buildModel(a.name, readConfigFile(a.configFile), { init: false }).eval(); // counting needs no random init
  const entry = a.name ? backbones.get(a.name.split('.')[0]) : undefined;
  let flops: FlopCount | null = null;
  if (a.flops) {
    const x = tf.zeros([1, a.img, a.img, 3]);
    flops = await countFlops(() => model.forward(x));
    x.dispose();
  }
  const out = {
    model: a.name ?? model.family, family: model.family, params: model.numParams(),
    officialParams: entry?.officialParams ?? entry?.approxParams?.count ?? null,
    flops: flops?.total ?? null, flopsByOp: flops?.byOp ?? null, img: a.img, publishedFlops: entry?.publishedFlops ?? null,
    featureInfo: model.featureInfo, pretrained: entry?.pretrained ?? [],
  };
  model.dispose();
  const json = a.json;
  if (json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  else {
    process.stdout.write(`model       ${out.model} (${out.family})\nparams      ${out.params.toLocaleString('en')}` +
      (out.officialParams ? ` (official ${out.officialParams.toLocaleString('en')})` : '') + '\n' +
      (out.flops !== null ? `flops       ${(out.flops / 1e9).toFixed(3)} G at ${a.img}x${a.img}` + (out.publishedFlops ? ` (published ${(out.publishedFlops / 1e9).toFixed(1)} G)` : '') + '\n' : '') +
      `features    ${out.featureInfo.map((f) => `${f.module}: ${f.channels}ch /${f.reduction}`).join(', ')}\n` +
      out.pretrained.map((p) => `weights     ${p.tag}: ${p.url ?? p.file}\n`).join(''));
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SCHEMA, 'info');
  if (args.help) {
    process.stdout.write(formatHelp('info', 'ssmv info [--json] [backend=auto|webgpu|cpu|tensorflow]', SCHEMA));
    return 0;
  }
  if (args.values.model || args.values.config) {
    const v = args.values;
    return modelInfo({ name: v.model as string | undefined, configFile: v.config as string | undefined, json: v.json as boolean, img: v.img as number, flops: v.flops as boolean, backend: v.backend as string });
  }
  const info = await setBackend(args.values.backend as string);
  const registries = await allRegistries();
  if (args.values.json) {
    process.stdout.write(JSON.stringify({ ...info, registries }, null, 2) + '\n');
    return 0;
  }
  const lines = [`backend     ${info.backend}${info.fallbackReason ? ` (fell back: ${info.fallbackReason})` : ''}`];
  if (info.adapter) {
    const a = info.adapter;
    lines.push(`adapter     ${a.vendor} / ${a.architecture} / ${a.device}${a.software ? ' (software)' : ''}`);
    lines.push(`            ${a.description}`);
  }
  if (info.limits) for (const [k, v] of Object.entries(info.limits)) lines.push(`  ${k.padEnd(36)} ${v}`);
  if (info.features.length) lines.push(`features    ${info.features.join(', ')}`);
  lines.push(`tfjs        ${info.tfjsVersion}`);
  for (const [kind, names] of Object.entries(registries)) lines.push(`${kind.padEnd(11)} (${names.length}) ${names.join(', ')}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
