// test_vmamba through the real pipeline on cpu: writeSynthetic -> ImageFolder -> worker-pool loader
// (RandomResizedCrop, RandAugment, random erasing, Mixup/CutMix) -> trainer -> checkpoints.
// 1. it learns: accuracy on held-out shapes clearly above chance after a few epochs;
// 2. resume is exact with every source of randomness on (drop path, Mixup/CutMix, augmentation,
//    EMA, gradient accumulation): the losses after a mid-epoch Ctrl-C equal the uninterrupted run's.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setBackend } from '../core/backend.ts';
import { writeSynthetic } from '../datasets/synth/write.ts';
import { trainClassifier } from '../train/classify.ts';
import { registryDeps } from '../train/classify-deps.ts';
import { defaultTrainConfig, type TrainConfig } from '../train/config.ts';
import type { Callback } from '../train/trainer.ts';

const root = mkdtempSync(join(tmpdir(), 'ssmv-train-vmamba-'));
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
const deps = registryDeps(2);

test.before(async () => {
  await setBackend('cpu');
});

const base = (over: Partial<TrainConfig>): TrainConfig => ({
  ...defaultTrainConfig(), model: 'test_vmamba', backend: 'cpu', imgsz: 16, batch: 16, workers: 0, project: root, ...over,
});

test.serial('test_vmamba learns synthetic shapes on cpu: val top-1 >= 70% (chance 50%) after 3 epochs', async (t) => {
  const data = join(root, 'shapes2');
  await writeSynthetic({ task: 'classify', out: data, n: 160, size: 16, classes: 2, seed: 0 });
  const r = await trainClassifier(base({
    name: 'learn', data, epochs: 3, lr: 5e-3, warmup_epochs: 1, mixup: 0, cutmix: 0, auto_augment: '', reprob: 0, color_jitter: 0,
    scale: [1, 1], hflip: 0, crop_pct: 1, drop_path: 0, model_ema_warmup: true, log_interval: 4,
  }), { deps, err: quiet });
  t.is(r.reason, 'completed');
  const top1 = Math.max(...r.history.map((m) => m['metrics/accuracy_top1']));
  t.log(`val top-1 per epoch: ${r.history.map((m) => (m['metrics/accuracy_top1'] * 100).toFixed(1)).join(', ')} (${r.seconds.toFixed(1)} s)`);
  t.true(top1 >= 0.7, `best val top-1 ${top1}`);
  t.true(r.history[r.history.length - 1]['train/loss'] < r.history[0]['train/loss'], 'training loss goes down');
});

test.serial('exact resume with drop path, Mixup/CutMix, RandAugment, erasing, EMA and accumulation on (test_vmamba, cpu)', async (t) => {
  const data = join(root, 'shapes3');
  await writeSynthetic({ task: 'classify', out: data, n: 40, size: 16, classes: 3, seed: 1 });
  const recipe = { data, epochs: 2, batch: 8, accum: 2, lr: 2e-3, warmup_epochs: 1, drop_path: 0.2, log_interval: 1, model_ema_warmup: true, plots: false };
  const rec = (stopAtStep?: number): Callback & { losses: number[] } => {
    const losses: number[] = [];
    return {
      name: 'rec', losses,
      onBatchEnd(tr) {
        losses.push(tr.lastLoss);
        if (tr.state.step === stopAtStep) tr.requestStop('interrupted', 'test');
      },
    };
  };
  const full = rec();
  const a = await trainClassifier(base({ name: 'full', ...recipe }), { deps, err: quiet, callbacks: [full] });
  t.is(a.reason, 'completed');
  t.is(full.losses.length, 4); // 32 train images / 8 = 4 micro-batches = 2 updates per epoch
  const cut = rec(1);
  const b = await trainClassifier(base({ name: 'cut', ...recipe }), { deps, err: quiet, callbacks: [cut] });
  t.is(b.reason, 'interrupted');
  t.is(cut.losses[0], full.losses[0]);
  const rest = rec();
  const c = await trainClassifier(base({ resume: join(b.dir, 'last') }), { deps, err: quiet, callbacks: [rest], given: new Set(['resume']) });
  t.is(c.reason, 'completed');
  t.deepEqual(rest.losses, full.losses.slice(1), 'every loss after the resume equals the uninterrupted run');
  const strip = (h: typeof a.history) => h.map(({ time: _t, ...m }) => m);
  t.deepEqual(strip(c.history), strip(a.history), 'same epoch rows (val and EMA metrics included)');
});
