// `ssmv ablate model=<backbone> scans=cross,hilbert,... data=<dir|synth> epochs=N seeds=0,1,2 out=<dir>`:
// trains and measures one backbone under each scan strategy (eval/ablate/runner.ts) and writes
// results.json/.csv/.md, PNG plots and an offline report.html into out/. Rerunning resumes.
import { parseArgs, formatHelp, UsageError } from './args.ts';
import { ABLATE_SCHEMA, resolveAblateConfig, type AblateConfig } from '../eval/ablate/config.ts';

const USAGE = 'ssmv ablate model=test_vmamba scans=cross,hilbert,atrous data=synth epochs=5 seeds=0,1,2 out=runs/ablate [--force]';

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ABLATE_SCHEMA, 'ablate');
  if (args.help) {
    const { scans } = await import('../scans/index.ts');
    process.stdout.write(formatHelp('ablate', USAGE, ABLATE_SCHEMA) + `\nscan strategies: ${scans.names().join(', ')}, none (the model as registered)\n`);
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}': keys are key=value (see ssmv ablate --help)`);
  let cfg: AblateConfig;
  try {
    cfg = resolveAblateConfig(args.values as Partial<AblateConfig>);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { runAblation } = await import('../eval/ablate/runner.ts');
  const { summaryTable } = await import('../eval/ablate/report.ts');
  const t0 = performance.now();
  const r = await runAblation(cfg, { log: (l) => process.stdout.write(l + '\n'), progress: process.stderr, handleSigint: true });
  process.stdout.write('\n' + summaryTable(r.file, cfg) + '\n');
  process.stdout.write(`${r.ran} row${r.ran === 1 ? '' : 's'} run, ${r.reused} reused from ${r.out}${r.errors ? `, ${r.errors} failed (rerun to retry them)` : ''}; ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`wrote ${[r.reports.json, r.reports.csv, r.reports.md, r.reports.html].join(', ')} and ${r.reports.pngs.length} PNGs in ${r.out}\n`);
  if (r.interrupted) return 130;
  return r.errors ? 1 : 0;
}
