// `ssmv train task=classify model=<name> data=<ImageFolder root> epochs= batch= lr= ...`: every
// recipe item is a key (ssmv train --help), defaults are VMamba's ImageNet recipe. Progress goes to
// stderr, the final table to stdout. Exit code 0 completed, 130 interrupted (Ctrl-C, checkpoint
// saved), 1 stopped on a NaN loss or an error.
import { UsageError } from './args.ts';
import { TRAIN_SCHEMA, trainConfigFrom } from '../train/config.ts';
import { parseTrainArgs } from '../train/config-args.ts';

export async function run(argv: string[]): Promise<number> {
  // task=detect with a Mamba-YOLO model (or head=yolo): the ultralytics recipe, cli/train-yolo.ts
  const yolo = await import('./train-yolo.ts');
  if (yolo.isYoloRun(argv)) return yolo.run(argv);
  // task=detect|segment on a backbone + dense head (Mask R-CNN, UperNet): train/dense-cli.ts
  const dense = await import('../train/dense-cli.ts');
  if (await dense.isDenseRun(argv)) return dense.run(argv);
  const ti = argv.findIndex((a) => /^(--)?task(=|$)/.test(a));
  const task = ti < 0 ? undefined : argv[ti].includes('=') ? argv[ti].split('=')[1] : argv[ti + 1];
  if (task === 'detect' || task === 'segment') {
    throw new UsageError(`task=${task} needs a head: head=${task === 'detect' ? 'mask_rcnn' : 'upernet'} with any backbone model=<name>` +
      (task === 'detect' ? ', or a Mamba-YOLO model (model=mamba_yolo_t|b|l, or head=yolo)' : ''));
  }
  const args = parseTrainArgs(argv, TRAIN_SCHEMA, 'ssmv train task=classify model=<name> data=<ImageFolder root> [key=value ...]', 'ssmv train --help', trainConfigFrom);
  if (!args) return 0; // --help
  const [{ trainClassifier }, { registryDeps }, { runSummary }] = await Promise.all([
    import('../train/classify.ts'), import('../train/classify-deps.ts'), import('../train/report.ts'),
  ]);
  const r = await trainClassifier(args.cfg, { deps: registryDeps(), given: args.given, handleSigint: true });
  process.stdout.write(runSummary(r));
  return r.reason === 'completed' ? 0 : r.reason === 'interrupted' ? 130 : 1;
}
