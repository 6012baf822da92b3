// `ssmv demo`: the main job on a fresh machine in about three minutes (2-core cpu or the GPU host alike:
// the model is tiny). Writes a synthetic ImageFolder of rendered shapes (2,000 images of 4 shapes at
// 32x32) (datasets' writeSynthetic), trains the tiny `test_vmamba` variant on it with the
// full machinery (AdamW + cosine/warmup, EMA, checkpoints, metrics.csv, plots), evaluates the best
// checkpoint the way `ssmv val` does, and prints the tables.
import { basename, dirname, join } from 'node:path';
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { BACKEND_NAMES } from '../core/backend.ts';

export const DEMO_SCHEMA: ArgSchema = {
  backend: { type: 'string', default: 'auto', choices: BACKEND_NAMES, help: 'tensor backend (auto: a GPU when there is one, else cpu)' },
  model: { type: 'string', default: 'test_vmamba', help: 'model to train' },
  classes: { type: 'int', default: 4, help: 'shape classes (2..8: circle, square, triangle, star, ...)' },
  images: { type: 'int', default: 2000, help: 'synthetic images (train + val, 20% val)' },
  imgsz: { type: 'int', default: 32, help: 'image size' },
  epochs: { type: 'int', default: 10, help: 'epochs' },
  batch: { type: 'int', default: 64, help: 'batch size' },
  lr: { type: 'number', default: 1e-3, help: 'peak learning rate (AdamW, 1 warmup epoch, cosine)' },
  seed: { type: 'int', default: 0, help: 'random seed (data, init, order)' },
  workers: { type: 'int', default: -1, help: 'data loading workers: processes on machines of more than 2 cores, else threads (-1 = one per core, less one above 2 cores, at most 32)' },
  project: { type: 'string', default: 'runs', help: 'parent folder of the run directory' },
  name: { type: 'string', default: 'demo', help: 'run directory name (demo, demo2, ... unless exist_ok)' },
  exist_ok: { type: 'boolean', default: false, help: 'reuse runs/<name>' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, DEMO_SCHEMA, 'demo');
  if (args.help) {
    process.stdout.write(formatHelp('demo', 'ssmv demo [backend=auto] [epochs=10] [classes=4] ... (quick check: images=200 imgsz=16 classes=2 epochs=5 batch=16)', DEMO_SCHEMA));
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}': keys are key=value (see ssmv demo --help)`);
  const v = args.values as Record<string, never>;
  const n = (k: string) => v[k] as number;
  if (n('classes') < 2 || n('classes') > 8) throw new UsageError(`classes: must be 2..8, got ${n('classes')}`);
  for (const k of ['images', 'imgsz', 'epochs', 'batch']) if (n(k) < 1) throw new UsageError(`${k}: must be >= 1, got ${n(k)}`);
  if (n('imgsz') < 16) throw new UsageError(`imgsz: must be >= 16, got ${n('imgsz')}`);

  const [{ writeSynthetic }, { incrementRunDir }, { trainClassifier }, { registryDeps }, { runSummary }, { validateClassifier, formatVal }, { defaultTrainConfig }] = await Promise.all([
    import('../datasets/synth/write.ts'), import('../train/run-dir.ts'), import('../train/classify.ts'), import('../train/classify-deps.ts'),
    import('../train/report.ts'), import('../train/val.ts'), import('../train/config.ts'),
  ]);
  const out = process.stdout;
  const t0 = performance.now();
  // A software WebGPU adapter (lavapipe/llvmpipe on machines without a GPU) trains this small model
  // several times slower than tfjs' cpu backend (measured: 7 s vs 2.1 s per update of 16 images at
  // 16x16 on the 2-core development machine, before the cpu kernels of core/kernels/tfjs-cpu made the
  // cpu side 3x faster again), so `auto` takes cpu there and says so.
  let backend = v.backend as string;
  if (backend === 'auto') {
    const { setBackend } = await import('../core/backend.ts');
    const info = await setBackend('auto');
    if (info.adapter?.software) {
      backend = 'cpu';
      out.write(`backend cpu (the WebGPU adapter is software: ${info.adapter.description}; the cpu backend is faster for this model there; backend=webgpu forces it)\n`);
    } else backend = info.backend;
  }
  const dir = incrementRunDir(v.project, v.name, v.exist_ok);
  const dataDir = join(dir, 'data');
  const synth = await writeSynthetic({ task: 'classify', out: dataDir, n: n('images'), size: n('imgsz'), classes: n('classes'), seed: n('seed') });
  out.write(`data   ${synth.train} train + ${synth.val} val images of ${synth.classes.length} shapes (${synth.classes.join(', ')}) in ${dataDir} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  // the demo recipe: the VMamba recipe shortened (1 warmup epoch, EMA with warmup), no Mixup/RandAugment
  // (too strong for a few hundred updates), whole-image crops (the shapes may sit near the border)
  const cfg = {
    ...defaultTrainConfig(), model: v.model, data: dataDir, imgsz: n('imgsz'), epochs: n('epochs'), batch: n('batch'), lr: n('lr'),
    warmup_epochs: Math.min(1, n('epochs') - 1), mixup: 0, cutmix: 0, auto_augment: '', reprob: 0, color_jitter: 0, scale: [1, 1], crop_pct: 1,
    model_ema_warmup: true, drop_path: 0, seed: n('seed'), workers: n('workers'), backend,
    project: dirname(dir), name: basename(dir), exist_ok: true, log_interval: 5,
  };
  out.write(`train  ssmv train model=${cfg.model} backend=${backend} data=${dataDir} imgsz=${cfg.imgsz} epochs=${cfg.epochs} batch=${cfg.batch} lr=${cfg.lr} warmup_epochs=${cfg.warmup_epochs} mixup=0 cutmix=0 auto_augment= reprob=0 color_jitter=0 scale=1,1 crop_pct=1 model_ema_warmup=true drop_path=0 project=${cfg.project} name=${cfg.name} exist_ok=true\n\n`);
  const r = await trainClassifier(cfg, { deps: registryDeps(), handleSigint: true });
  out.write('\n' + runSummary(r));
  if (r.reason !== 'completed' && r.reason !== 'interrupted') return 1;
  if (!r.best.weights) return r.reason === 'interrupted' ? 130 : 0;
  out.write(`\nval    ssmv val model=${cfg.model} weights=${r.best.weights} data=${dataDir} imgsz=${cfg.imgsz} crop_pct=1\n`);
  const { backendInfo: _b, ...val } = await validateClassifier({
    model: cfg.model, weights: r.best.weights, data: dataDir, split: 'val', batch: cfg.batch, imgsz: cfg.imgsz, crop_pct: 1,
    interpolation: cfg.interpolation, workers: cfg.workers, backend: cfg.backend, ema: false,
  });
  out.write(formatVal(val));
  out.write(`\ndemo done in ${((performance.now() - t0) / 1000).toFixed(1)} s; plots: ${join(dir, 'results.png')}\n`);
  return r.reason === 'interrupted' ? 130 : 0;
}
