// `ssmv bench model model=vmamba_tiny_s2l5 batch=128 img=224 [backend=...] [iters=...] [train=true]`:
// inference and training images/s, peak device memory (in use and the buffer pool), and the top-N
// kernels of one profiled step (GPU timestamps on webgpu, tf.profile elsewhere). See eval/speed/.
import { writeFileSync } from 'node:fs';
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { setBackend } from '../core/backend.ts';
import { runModelBench, type PhaseResult } from '../eval/speed/model-bench.ts';
import type { BreakdownRow } from '../eval/speed/breakdown.ts';

const SCHEMA: ArgSchema = {
  model: { type: 'string', default: 'vmamba_tiny_s2l5', help: 'registered backbone (ssmv info lists them)' },
  batch: { type: 'int', default: 128, help: 'images per step' },
  img: { type: 'int', default: 224, help: 'input size (square)' },
  classes: { type: 'int', default: 1000, help: 'classifier outputs' },
  backend: { type: 'string', default: 'auto', choices: ['auto', 'webgpu', 'cpu', 'tensorflow'], help: 'tensor backend' },
  iters: { type: 'int', default: 10, help: 'timed steps per phase' },
  warmup: { type: 'int', default: 2, help: 'untimed steps first (pipelines, buffer pool)' },
  infer: { type: 'boolean', default: true, help: 'measure inference (eval-mode forward)' },
  train: { type: 'boolean', default: true, help: 'measure training (forward, backward, AdamW step)' },
  profile: { type: 'boolean', default: true, help: 'per-kernel breakdown of one extra step per phase' },
  top: { type: 'int', default: 25, help: 'rows of the breakdown tables' },
  lr: { type: 'number', default: 1e-3, help: 'AdamW learning rate' },
  wd: { type: 'number', default: 0.05, help: 'AdamW weight decay' },
  clip: { type: 'number', default: 0, help: 'global grad-norm clip (0 = off)' },
  kernels: { type: 'boolean', default: true, help: 'false: tfjs composites and tf.variableGrads (the baseline before core/kernels)' },
  json: { type: 'string', help: 'also write the full result as JSON to this file' },
};

const GB = (b: number) => (b / 1e9).toFixed(2);

function table(title: string, rows: BreakdownRow[], top: number): string {
  const lines = [`  ${title}`, `    ${'ms'.padStart(9)} ${'share'.padStart(6)} ${'calls'.padStart(6)}  name`];
  for (const r of rows.slice(0, top)) {
    lines.push(`    ${r.ms.toFixed(2).padStart(9)} ${(r.share * 100).toFixed(1).padStart(5)}% ${String(r.calls).padStart(6)}  ${r.name}${r.shape !== undefined ? ` ${r.shape}` : ''}`);
  }
  return lines.join('\n');
}

function phase(name: string, p: PhaseResult, top: number): string {
  const m = p.memory;
  const out = [
    `${name}: ${p.imagesPerSecond.toFixed(1)} images/s (${p.msPerStep.toFixed(1)} ms/step over ${p.steps} steps)`,
    `  memory (${m.field}): before ${GB(m.before)} GB, peak ${GB(m.peak)} GB in use; pool ${GB(m.pool)} GB allocated`,
  ];
  if (p.breakdown) {
    const b = p.breakdown;
    out.push(`  kernels (${b.source}): ${b.totalMs.toFixed(1)} ms summed over ${b.dispatches} dispatches (wall ${p.msPerStep.toFixed(1)} ms/step)`);
    out.push(table('by name', b.byName, top));
    out.push(table('by name and output shape', b.byShape, top));
  }
  return out.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SCHEMA, 'bench model');
  if (args.help) {
    process.stdout.write(formatHelp('bench model', 'ssmv bench model model=vmamba_tiny_s2l5 batch=128 img=224 [backend=webgpu] [iters=10] [train=true]', SCHEMA));
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}' (keys are key=value)`);
  const v = args.values;
  for (const k of ['batch', 'img', 'classes', 'iters', 'top'] as const) if (!((v[k] as number) >= 1)) throw new UsageError(`${k} must be >= 1, got ${v[k]}`);
  if ((v.warmup as number) < 0) throw new UsageError(`warmup must be >= 0, got ${v.warmup}`);
  if (!v.infer && !v.train) throw new UsageError('nothing to measure: infer=false and train=false');
  const info = await setBackend(v.backend as string);
  const a = info.adapter;
  const device = a ? `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.replace(/\s+/g, ' ').trim() + (a.software ? ' (software)' : '') : `${info.backend} backend`;
  process.stdout.write(`model ${v.model}, batch ${v.batch}, ${v.img}x${v.img}, backend ${info.backend}, device: ${device}${v.kernels ? '' : ' (kernels=false: tfjs composites, tf.variableGrads)'}\n`);
  const r = await runModelBench({
    model: v.model as string, batch: v.batch as number, img: v.img as number, numClasses: v.classes as number,
    warmup: v.warmup as number, iters: v.iters as number, infer: v.infer as boolean, train: v.train as boolean,
    profile: v.profile as boolean, customKernels: v.kernels as boolean, lr: v.lr as number, weightDecay: v.wd as number, clipGrad: v.clip as number,
    log: (s) => process.stderr.write(`bench model: ${s}\n`),
    onPhase: (name, p) => process.stdout.write(phase(name, p, v.top as number) + '\n'),
  });
  process.stdout.write(`${(r.params / 1e6).toFixed(2)} M params; buffer pool at the end: ${GB(r.poolBytes ?? 0)} GB\n`);
  if (v.json) writeFileSync(v.json as string, JSON.stringify({ device, ...r }, null, 2));
  return 0;
}
