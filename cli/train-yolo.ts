// `ssmv train task=detect model=mamba_yolo_t data=coco.yaml epochs=300 batch=16 imgsz=640 ...`: the
// YOLO route of `ssmv train` (cli/train.ts sends task=detect here when the model is a Mamba-YOLO or
// head=yolo). Keys are ultralytics' (ssmv train task=detect model=mamba_yolo_t --help lists them).
// Exit code 0 completed (or stopped by patience), 130 interrupted, 1 stopped on a NaN loss.
import { YOLO_TRAIN_SCHEMA, yoloConfigFrom } from '../train/yolo/config.ts';
import { parseTrainArgs } from '../train/config-args.ts';
import { isMambaYolo } from '../backbones/mamba-yolo.ts';

/** the value of `key` in ultralytics (`key=v`) or timm (`--key v`, `--key=v`) grammar */
function argOf(argv: readonly string[], key: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i].replace(/^--?/, '');
    const [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, argv[i + 1]];
    if (k.replace(/-/g, '_') === key && (a.includes('=') || argv[i].startsWith('--'))) return v;
  }
  return undefined;
}

/** task=detect with a Mamba-YOLO model, or head=yolo */
export function isYoloRun(argv: readonly string[]): boolean {
  if (argOf(argv, 'task') !== 'detect') return false;
  if (argOf(argv, 'head') === 'yolo') return true;
  const model = argOf(argv, 'model');
  return model !== undefined && isMambaYolo(model);
}

export async function run(argv: string[]): Promise<number> {
  const args = parseTrainArgs(argv, YOLO_TRAIN_SCHEMA, 'ssmv train task=detect model=mamba_yolo_t data=<dataset.yaml | instances.json | VOCdevkit> [key=value ...]', 'ssmv train task=detect --help', yoloConfigFrom);
  if (!args) return 0; // --help
  const { trainYolo } = await import('../train/yolo/trainer.ts');
  const r = await trainYolo(args.cfg, { given: args.given, handleSigint: true });
  const last = r.history[r.history.length - 1];
  process.stdout.write([
    `${r.reason}: ${r.history.length} epochs in ${r.seconds.toFixed(1)} s on ${r.backend.backend}`,
    last ? `last epoch: mAP50 ${last['metrics/mAP50(B)'].toFixed(4)}  mAP50-95 ${last['metrics/mAP50-95(B)'].toFixed(4)}` : '',
    r.best.epoch > 0 ? `best: epoch ${r.best.epoch}, fitness ${r.best.fitness.toFixed(4)} -> ${r.dir}/weights/best.safetensors (EMA weights)` : '',
    `results in ${r.dir}: weights/last.* (resume=${r.dir}/weights/last), results.csv, args.yaml${r.config.plots ? ', results.png' : ''}, train.log`,
  ].filter(Boolean).join('\n') + '\n');
  return r.reason === 'completed' || r.reason === 'patience' ? 0 : r.reason === 'interrupted' ? 130 : 1;
}
