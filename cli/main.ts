// `ssmv <mode> ...`: dispatches to cli/<mode>.ts. Each mode module exports `run(argv): Promise<number>`.
import { UsageError } from './args.ts';
import { releaseGpu } from '../core/backend.ts';

interface ModeModule {
  run(argv: string[]): Promise<number>;
}

const MODES: Record<string, { help: string; load: () => Promise<ModeModule> }> = {
  info: { help: 'backend, adapter, limits, registries; --model <name> for params/FLOPs', load: () => import('./info.ts') },
  train: { help: 'train a classifier: AdamW/cosine/EMA/Mixup recipe, checkpoints, exact resume, plots', load: () => import('./train.ts') },
  val: { help: 'top-1/top-5/loss of a weights file on an ImageFolder split', load: () => import('./val.ts') },
  demo: { help: 'synthetic shapes -> train test_vmamba for about a minute -> evaluate, with plots', load: () => import('./demo.ts') },
  import: { help: 'convert an official checkpoint (.pth/.safetensors) strictly to safetensors', load: () => import('./import.ts') },
  predict: { help: 'classify images with a model and weights (top-5)', load: () => import('./predict.ts') },
  eval: { help: 'evaluate saved predictions: coco (pycocotools AP/AR), voc (mAP), seg (mIoU)', load: () => import('./eval.ts') },
  data: { help: 'dataset tools: synth (synthetic shapes as ImageFolder / COCO + YOLO / ADE20K)', load: () => import('./data.ts') },
  bench: { help: 'benchmarks: data (input pipeline images/s per worker count), scan (selective-scan kernels ms and GB/s)', load: () => import('./bench.ts') },
  scans: { help: 'scan strategies: list (directions, options), show <name> --size 14x14 --out p.png', load: () => import('./scans.ts') },
  ablate: { help: 'scan ablation: train + measure a backbone under each scan (accuracy, speed, memory, FLOPs, ERF), report.html', load: () => import('./ablate.ts') },
};

function usage(): string {
  const rows = Object.entries(MODES).map(([k, m]) => `  ${k.padEnd(10)} ${m.help}`);
  return `usage: ssmv <mode> [args] (ssmv <mode> --help for its keys)\n\nmodes:\n${rows.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [mode, ...rest] = argv;
  if (!mode || mode === '--help' || mode === '-h' || mode === 'help') {
    process.stdout.write(usage());
    return mode ? 0 : 1;
  }
  const entry = MODES[mode];
  if (!entry) {
    const { closeMatches } = await import('../core/registry.ts');
    const near = closeMatches(mode, Object.keys(MODES));
    process.stderr.write(`ssmv: unknown mode '${mode}'` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `\n\n${usage()}`);
    return 2;
  }
  try {
    const m = await entry.load();
    return await m.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`ssmv ${mode}: ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    process.stderr.write(`ssmv ${mode}: ${err.message}\n`);
    if (process.env.SSMV_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  } finally {
    releaseGpu();
  }
}
