// `ssmv data <command> ...`: dataset tools. Each command is one entry of COMMANDS (keys + run).
//   synth: write a synthetic dataset of rendered shapes (ImageFolder, COCO + YOLO, or ADE20K layout)
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { closeMatches } from '../core/registry.ts';

interface Command {
  usage: string;
  help: string;
  schema: ArgSchema;
  run(values: Record<string, unknown>, out: (s: string) => void): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  synth: {
    usage: 'ssmv data synth --task classify|detect|segment --out <dir> [--n 200] [--size 64] [--classes 4] [--seed 0]',
    help: 'write a synthetic dataset of rendered shapes, read back by the real loaders',
    schema: {
      task: { type: 'string', choices: ['classify', 'detect', 'segment'], help: 'what to write' },
      out: { type: 'string', help: 'output folder' },
      n: { type: 'int', default: 200, help: 'images in all (train + val)' },
      size: { type: 'int', default: 64, help: 'image side in pixels' },
      classes: { type: 'int', default: 4, help: 'number of classes (shapes), at most 8' },
      seed: { type: 'int', default: 0, help: 'random seed' },
      val_fraction: { type: 'number', default: 0.2, help: 'fraction of images in the val split' },
      json: { type: 'boolean', default: false, help: 'print the result as JSON' },
    },
    async run(v, out) {
      if (!v.task) throw new UsageError('--task is required (classify, detect or segment)');
      if (!v.out) throw new UsageError('--out <dir> is required');
      const { writeSynthetic } = await import('../datasets/synth/write.ts');
      const t0 = performance.now();
      const r = await writeSynthetic({
        task: v.task as 'classify' | 'detect' | 'segment', out: v.out as string, n: v.n as number, size: v.size as number,
        classes: v.classes as number, seed: v.seed as number, valFraction: v.val_fraction as number,
      });
      if (v.json) {
        out(JSON.stringify(r, null, 2) + '\n');
        return 0;
      }
      const lines = [
        `wrote ${r.train} train + ${r.val} val ${r.task} images (${(v.size as number)}px, classes ${r.classes.join(', ')}) to ${r.out} in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
        `  train: dataset=${r.open.train.dataset} ${Object.entries(r.open.train.options).map(([k, x]) => `${k}=${x}`).join(' ')}`,
        `  val:   dataset=${r.open.val.dataset} ${Object.entries(r.open.val.options).map(([k, x]) => `${k}=${x}`).join(' ')}`,
      ];
      if (r.yaml) lines.push(`  ultralytics YAML: ${r.yaml} (dataset=yolo data=${r.yaml})`);
      out(lines.join('\n') + '\n');
      return 0;
    },
  },
};

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const out = (s: string) => process.stdout.write(s);
  const list = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(8)} ${c.help}`).join('\n');
  if (!name || name === '--help' || name === '-h') {
    out(`usage: ssmv data <command> [keys] (ssmv data <command> --help)\n\ncommands:\n${list}\n`);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    const near = closeMatches(name, Object.keys(COMMANDS));
    throw new UsageError(`unknown command '${name}'` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `; commands: ${Object.keys(COMMANDS).join(', ')}`);
  }
  const args = parseArgs(rest, cmd.schema, `data ${name}`);
  if (args.help) {
    out(formatHelp(`data ${name}`, cmd.usage, cmd.schema));
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}'; see ssmv data ${name} --help`);
  return cmd.run(args.values, out);
}
