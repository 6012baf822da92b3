// `ssmv bench <what> ...`: benchmarks (commands, not tests). One entry per benchmark in BENCHES,
// dispatched on the first positional; each module exports `run(argv): Promise<number>`.
import { UsageError } from './args.ts';
import { closeMatches } from '../core/registry.ts';

interface Bench {
  help: string;
  load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

const BENCHES: Record<string, Bench> = {
  data: { help: 'input pipeline: decode + RandomResizedCrop 224 + flip + normalise, images/s per worker count', load: () => import('./bench-data.ts') },
  model: { help: 'a backbone: inference and training images/s, peak memory, per-kernel GPU time breakdown', load: () => import('./bench-model.ts') },
  scan: { help: 'selective-scan kernels: forward and forward+backward, unfused and fused cross plan (ms, GB/s)', load: () => import('../scans/kernel/selective-scan/bench.ts') },
};

export async function run(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  const list = Object.entries(BENCHES).map(([k, b]) => `  ${k.padEnd(8)} ${b.help}`).join('\n');
  if (!what || what === '--help' || what === '-h') {
    process.stdout.write(`usage: ssmv bench <what> [keys] (ssmv bench <what> --help)\n\nbenchmarks:\n${list}\n`);
    return what ? 0 : 2;
  }
  const b = BENCHES[what];
  if (!b) {
    const near = closeMatches(what, Object.keys(BENCHES));
    throw new UsageError(`unknown benchmark '${what}'` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `; benchmarks: ${Object.keys(BENCHES).join(', ')}`);
  }
  return (await b.load()).run(rest);
}
