// `ssmv info [--json] [backend=auto]`: backend, adapter, limits in force, tfjs version, registries.
import { parseArgs, formatHelp, type ArgSchema } from './args.ts';
import { setBackend, BACKEND_NAMES } from '../core/backend.ts';
import { allRegistries } from '../core/registries.ts';

const SCHEMA: ArgSchema = {
  backend: { type: 'string', default: 'auto', choices: BACKEND_NAMES, help: 'tensor backend' },
  json: { type: 'boolean', default: false, help: 'print one JSON object' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SCHEMA, 'info');
  if (args.help) {
    process.stdout.write(formatHelp('info', 'ssmv info [--json] [backend=auto|webgpu|cpu|tensorflow]', SCHEMA));
    return 0;
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
