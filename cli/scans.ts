// `ssmv scans list [--json]` and `ssmv scans show <name> --size 14x14 --out path.png [option=value ...]`:
// the registered scan strategies, their directions and options, and pictures of their paths.
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { scans, type ScanStrategy } from '../scans/index.ts';
import { drawPlans } from '../scans/draw.ts';
import { writePng } from '../core/plot/index.ts';

const LIST: ArgSchema = {
  json: { type: 'boolean', default: false, help: 'print one JSON array' },
  size: { type: 'numbers', default: [14, 14], help: 'map size the directions are described for, HxW' },
};

const SHOW: ArgSchema = {
  size: { type: 'numbers', default: [14, 14], help: 'map size HxW (one number: square)' },
  out: { type: 'string', help: 'PNG file to write' },
  cell: { type: 'int', help: 'pixels per map cell (default: fit ~240 px per panel)' },
  columns: { type: 'int', help: 'panels per row' },
};

const USAGE_LIST = 'ssmv scans list [--json] [--size 14x14]';
const USAGE_SHOW = 'ssmv scans show <name> --size 14x14 --out path.png [<option>=<value> ...]';

function parseSize(v: unknown): [number, number] {
  const s = v as number[];
  const [H, W] = s.length === 1 ? [s[0], s[0]] : s;
  if (s.length > 2 || !Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1) throw new UsageError(`size: expected HxW with positive integers (e.g. 14x14), got ${s.join('x')}`);
  return [H, W];
}

function describe(s: ScanStrategy, H: number, W: number) {
  let plans: ReturnType<ScanStrategy['plans']> = [];
  let error: string | undefined;
  try {
    plans = s.plans(H, W);
  } catch (e) {
    error = (e as Error).message; // e.g. a default window larger than a small --size
  }
  return {
    name: s.name,
    K: s.directions(),
    directions: plans.flatMap((p) => p.directions.map((d) => (plans.length > 1 ? `${d} [${p.H}x${p.W}, L=${p.L}]` : d))),
    merge: plans[0]?.merge,
    ...(error ? { error } : {}),
    options: Object.fromEntries(Object.entries(s.options).map(([k, o]) => [k, { type: o.choices ? o.choices.join('|') : o.type, default: o.default, help: o.help }])),
    description: s.description,
    paper: s.paper,
    upstream: s.upstream,
  };
}

async function list(argv: string[]): Promise<number> {
  const args = parseArgs(argv, LIST, 'scans list');
  if (args.help) {
    process.stdout.write(formatHelp('scans list', USAGE_LIST, LIST));
    return 0;
  }
  const [H, W] = parseSize(args.values.size);
  const all = scans.entriesList().map(([, s]) => describe(s, H, W));
  if (args.values.json) {
    process.stdout.write(JSON.stringify(all, null, 2) + '\n');
    return 0;
  }
  const lines: string[] = [`${all.length} scan strategies (directions as on a ${H}x${W} map, default options)`, ''];
  for (const s of all) {
    lines.push(`${s.name}  K=${s.K}  merge=${s.merge ?? '-'}  ${s.description}`);
    s.directions.forEach((d, k) => lines.push(`    ${k}: ${d}`));
    if (s.error) lines.push(`    (no plan on ${H}x${W} with the defaults: ${s.error})`);
    for (const [k, o] of Object.entries(s.options)) lines.push(`    --${k.padEnd(17)} ${String(o.type).padEnd(16)} default ${JSON.stringify(o.default)}: ${o.help}`);
    lines.push(`    paper:    ${s.paper}`, `    upstream: ${s.upstream}`, '');
  }
  process.stdout.write(lines.join('\n'));
  return 0;
}

async function show(argv: string[]): Promise<number> {
  const name = argv.find((a) => !a.startsWith('-') && !a.includes('='));
  if (!name) {
    if (argv.some((a) => a === '--help' || a === '-h')) {
      process.stdout.write(formatHelp('scans show', USAGE_SHOW, SHOW) + `\nstrategies: ${scans.names().join(', ')} (their options: ssmv scans show <name> --help)\n`);
      return 0;
    }
    throw new UsageError(`missing strategy name: ${USAGE_SHOW}; strategies: ${scans.names().join(', ')}`);
  }
  const strategy = scans.get(name);
  const schema: ArgSchema = { ...SHOW, ...strategy.options };
  const args = parseArgs(argv.filter((a) => a !== name), schema, `scans show ${name}`);
  if (args.help) {
    process.stdout.write(formatHelp(`scans show ${name}`, USAGE_SHOW.replace('<name>', name), schema));
    return 0;
  }
  const out = args.values.out as string | undefined;
  if (!out) throw new UsageError(`--out is required (the PNG to write): ${USAGE_SHOW}`);
  if (!out.toLowerCase().endsWith('.png')) throw new UsageError(`--out must name a .png file, got '${out}'`);
  const [H, W] = parseSize(args.values.size);
  const options = Object.fromEntries([...args.given].filter((k) => k in strategy.options).map((k) => [k, args.values[k]]));
  const plans = strategy.plans(H, W, options);
  const given = Object.entries(options).map(([k, v]) => ` ${k}=${Array.isArray(v) ? v.join(',') : v}`).join('');
  const canvas = drawPlans(plans, { cell: args.values.cell as number | undefined, columns: args.values.columns as number | undefined, title: `${name} ${H}x${W}${given}` });
  writePng(out, canvas);
  const panels = plans.reduce((a, p) => a + p.K, 0);
  process.stdout.write(`wrote ${out}: ${panels} direction${panels > 1 ? 's' : ''} of '${name}' on ${H}x${W}, ${canvas.width}x${canvas.height} px\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(rest);
  if (sub === 'show') return show(rest);
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`usage:\n  ${USAGE_LIST}\n  ${USAGE_SHOW}\n`);
    return sub ? 0 : 2;
  }
  throw new UsageError(`unknown subcommand '${sub}': use list or show`);
}
