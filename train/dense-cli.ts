// `ssmv train task=detect|segment model=<backbone> head=mask_rcnn|upernet data=<root> ...` (cli/train.ts
// hands these runs here): keys of train/dense-config.ts, progress on stderr, the per-epoch table on
// stdout. task=detect without head= on a YOLO model (family mamba_yolo) is not a dense run.
import { DENSE_SCHEMA, denseConfigFrom } from './dense-config.ts';
import { parseTrainArgs } from './config-args.ts';
import type { DenseResult } from './dense.ts';
import type { EpochMetrics } from './trainer.ts';
import { formatDuration } from './callbacks/progress.ts';
import { alignedTable, timeOnBackend } from './report.ts';

/** The value of `key` in argv (key=v, --key v, --key=v), or undefined. */
function argOf(argv: readonly string[], key: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i].replace(/^--/, '');
    if (a.startsWith(`${key}=`)) return a.slice(key.length + 1);
    if (argv[i] === `--${key}`) return argv[i + 1];
  }
  return undefined;
}

/** Whether `ssmv train <argv>` is a backbone + dense head run (Mask R-CNN, UperNet). */
export async function isDenseRun(argv: readonly string[]): Promise<boolean> {
  const task = argOf(argv, 'task');
  if (task === 'segment') return true;
  if (task !== 'detect') return false;
  const head = argOf(argv, 'head');
  if (head !== undefined) return head !== 'yolo' && head !== 'yolo_detect'; // YOLO heads: cli/train-yolo.ts
  const model = argOf(argv, 'model');
  if (!model) return false;
  const { backbones } = await import('../backbones/index.ts');
  const name = model.split('.')[0];
  return backbones.has(name) && backbones.get(name).family !== 'mamba_yolo';
}

const fix = (v: number | undefined, d = 4) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** epoch, train/loss, the task's metrics (AP or mIoU as %), time */
export function denseTable(rows: readonly EpochMetrics[], bestEpoch = -1): string {
  const cols: Array<[string, string, number]> = [
    ['train/loss', 'train/loss', 1], ['metrics/bbox_mAP', 'box AP', 100], ['metrics/bbox_mAP_50', 'box AP50', 100],
    ['metrics/segm_mAP', 'mask AP', 100], ['metrics/mIoU', 'mIoU', 100], ['metrics/aAcc', 'aAcc', 100],
  ];
  const used = cols.filter(([k]) => rows.some((r) => r[k] !== undefined));
  const head = ['epoch', ...used.map(([, h]) => h), 'time'];
  const body = rows.map((r) => [`${r.epoch}${r.epoch === bestEpoch ? '*' : ''}`, ...used.map(([k, , s]) => fix(r[k] === undefined ? undefined : r[k] * s, s === 1 ? 4 : 2)), formatDuration(r.time)]);
  return alignedTable(head, body);
}

export function denseSummary(r: DenseResult): string {
  const lines = [denseTable(r.history, r.best.epoch)];
  if (r.reason !== 'completed') lines.push(`stopped (${r.reason}): ${r.message}`);
  lines.push(`results in ${r.dir}: last.* (resume=${r.dir}/last), best.*, metrics.csv, train.log`);
  lines.push(timeOnBackend(r.seconds, r.backend));
  return lines.join('\n') + '\n';
}

export async function run(argv: string[]): Promise<number> {
  const args = parseTrainArgs(argv, DENSE_SCHEMA, 'ssmv train task=detect|segment model=<backbone> head=mask_rcnn|upernet data=<root> [key=value ...]', (v) => `ssmv train task=${v.task} --help`, denseConfigFrom);
  if (!args) return 0; // --help
  const { trainDense } = await import('./dense.ts');
  const r = await trainDense(args.cfg, { given: args.given, handleSigint: true });
  process.stdout.write(denseSummary(r));
  return r.reason === 'completed' ? 0 : r.reason === 'interrupted' ? 130 : 1;
}
