// The training loop end to end on cpu with a tiny core/nn model and in-memory data: exact resume
// (epoch boundary and mid-epoch Ctrl-C), NaN stop keeping the last good checkpoint, atomic
// checkpoints, gradient accumulation, run-directory contents.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { manualSeed } from '../core/rng.ts';
import { TinyNet, quadrantSet } from './helpers/train-fixtures.ts';
import { ArraySource } from '../train/data.ts';
import { trainClassifier, type ClassifyDeps } from '../train/classify.ts';
import { defaultTrainConfig, type TrainConfig } from '../train/config.ts';
import { saveCheckpoint, readCheckpointMeta, loadCheckpointInto } from '../train/checkpoint.ts';
import { AdamW, paramGroups } from '../train/optim/index.ts';
import { Trainer, type Callback } from '../train/trainer.ts';
import { decodePng } from '../core/plot/index.ts';

test.before(async () => {
  await setBackend('cpu');
});

const trainSet = quadrantSet(96, 8, 4, 1);
const valSet = quadrantSet(32, 8, 4, 2);

class PoisonNet extends TinyNet {
  poisoned = false;
  override forward(x: Tensor): Tensor {
    const y = super.forward(x);
    return this.poisoned ? tf.tidy(() => tf.mul(y, NaN)) : y;
  }
}

let lastModel: PoisonNet | null = null;
const deps: ClassifyDeps = {
  createModel: (_name, kw) => (lastModel = new PoisonNet(kw.num_classes, 8, kw.drop_path_rate ?? 0.2)),
  openData: async (c) => ({
    train: new ArraySource(trainSet.images, trainSet.labels, [8, 8, 3], 4, { batch: c.batch, seed: c.seed }),
    val: new ArraySource(valSet.images, valSet.labels, [8, 8, 3], 4, { batch: 16, train: false }),
    classes: ['tl', 'tr', 'bl', 'br'],
    describe: { samples: 96 },
  }),
};

const root = mkdtempSync(join(tmpdir(), 'ssmv-train-'));
const cfg = (over: Partial<TrainConfig>): TrainConfig => ({
  ...defaultTrainConfig(), model: 'tiny', data: 'memory', backend: 'cpu', epochs: 3, batch: 12, lr: 5e-3, warmup_epochs: 1,
  model_ema_warmup: true, mixup: 0, cutmix: 0, log_interval: 1, project: root, exist_ok: false, ...over,
});
/** records the loss of every update (log_interval 1: read at each update) and can stop the run */
function recorder(stopAt?: { step?: number; epoch?: number }): Callback & { losses: number[] } {
  const losses: number[] = [];
  return {
    name: 'recorder', losses,
    onBatchEnd(tr) {
      losses.push(tr.lastLoss);
      if (stopAt?.step === tr.state.step) tr.requestStop('interrupted', 'test stop');
    },
    onEpochEnd(tr, m) {
      if (stopAt?.epoch === m.epoch) tr.requestStop('interrupted', 'test stop');
    },
  };
}

test.serial('resume continues exactly: the next losses equal the uninterrupted run (epoch boundary and mid-epoch)', async (t) => {
  const full = recorder();
  const a = await trainClassifier(cfg({ name: 'full' }), { deps, callbacks: [full], err: devnull() });
  t.is(a.reason, 'completed');
  t.is(full.losses.length, 24); // 3 epochs x 8 updates

  // stopped after epoch 1, then resumed
  const first = recorder({ epoch: 1 });
  const b = await trainClassifier(cfg({ name: 'cut' }), { deps, callbacks: [first], err: devnull() });
  t.is(b.reason, 'interrupted');
  t.deepEqual(first.losses, full.losses.slice(0, 8));
  const rest = recorder();
  const b2 = await trainClassifier(cfg({ resume: join(b.dir, 'last') }), { deps, callbacks: [rest], err: devnull(), given: new Set(['resume']) });
  t.is(b2.dir, b.dir);
  t.is(rest.losses[0], full.losses[8], 'first update after the resume');
  t.deepEqual(rest.losses, full.losses.slice(8));

  // Ctrl-C in the middle of epoch 2 (update 11 of 24), then resumed
  const mid = recorder({ step: 11 });
  const c = await trainClassifier(cfg({ name: 'mid' }), { deps, callbacks: [mid], err: devnull() });
  t.is(c.reason, 'interrupted');
  const meta = readCheckpointMeta(join(c.dir, 'last')).meta;
  t.is(meta.reason, 'interrupt');
  t.deepEqual([meta.state.epoch, meta.state.batch, meta.state.step], [1, 3, 11]);
  const rest2 = recorder();
  const c2 = await trainClassifier(cfg({ resume: c.dir, epochs: 3 }), { deps, callbacks: [rest2], err: devnull(), given: new Set(['resume', 'epochs']) });
  t.is(c2.reason, 'completed');
  t.is(rest2.losses[0], full.losses[11]);
  t.deepEqual(rest2.losses, full.losses.slice(11));
  // the resumed run's epoch rows equal the uninterrupted run's, except wall time
  const strip = (h: typeof a.history) => h.map(({ time: _t, ...r }) => r);
  t.deepEqual(strip(c2.history), strip(a.history));

  // changing the recipe on resume is refused, naming the key
  await t.throwsAsync(trainClassifier(cfg({ resume: c.dir, lr: 1 }), { deps, err: devnull(), given: new Set(['resume', 'lr']) }), { message: /lr cannot change/ });
  await t.throwsAsync(trainClassifier(cfg({ resume: join(root, 'nothing') }), { deps, err: devnull(), given: new Set(['resume']) }), { message: /no checkpoint at '.*nothing': .*nothing\.json not found/ });
});

test.serial('run directory: config, last/best checkpoints, metrics.csv with ultralytics columns, plots, log', async (t) => {
  const r = await trainClassifier(cfg({ name: 'layout', epochs: 2 }), { deps, err: devnull() });
  const files = readdirSync(r.dir).sort();
  t.deepEqual(files, ['accuracy.png', 'best.ema.safetensors', 'best.json', 'best.safetensors', 'config.json', 'last.ema.safetensors', 'last.json', 'last.optim.safetensors', 'last.safetensors', 'loss.png', 'lr.png', 'metrics.csv', 'results.png', 'train.log']);
  const csv = readFileSync(join(r.dir, 'metrics.csv'), 'utf8').trim().split('\n');
  t.is(csv[0], 'epoch,time,train/loss,metrics/accuracy_top1,metrics/accuracy_top5,val/loss,metrics/accuracy_top1_ema,metrics/accuracy_top5_ema,val/loss_ema,train/grad_norm,lr/pg0');
  t.is(csv.length, 3);
  const config = JSON.parse(readFileSync(join(r.dir, 'config.json'), 'utf8'));
  t.is(config.resolved.num_classes, 4);
  t.is(config.resolved.updates_per_epoch, 8);
  const png = decodePng(readFileSync(join(r.dir, 'loss.png')));
  t.deepEqual([png.width, png.height], [640, 400]);
  // a second run with the same name gets name2 (ultralytics increment_path)
  const r2 = await trainClassifier(cfg({ name: 'layout', epochs: 1, warmup_epochs: 0 }), { deps, err: devnull() });
  t.is(r2.dir, join(root, 'layout2'));
  t.regex(readFileSync(join(r.dir, 'train.log'), 'utf8'), /epoch 2\/2  train\/loss \d\.\d{4}  val\/loss/);
});

test.serial('a NaN loss stops the run with a message and keeps the last good checkpoint', async (t) => {
  const poison: Callback = { name: 'poison', onEpochEnd: (_tr, m) => { if (m.epoch === 1 && lastModel) lastModel.poisoned = true; } };
  const r = await trainClassifier(cfg({ name: 'nan', model_ema: false }), { deps: { ...deps, createModel: (n, kw) => deps.createModel(n, kw) }, callbacks: [poison], err: devnull() });
  t.is(r.reason, 'nan');
  t.regex(r.message, /loss is NaN at update 9 \(epoch 2\); stopping/);
  const meta = readCheckpointMeta(join(r.dir, 'last')).meta;
  t.is(meta.state.epoch, 1, 'last is still the end of epoch 1');
  t.is(meta.state.step, 8);
  t.is(r.history.length, 1);
});

test.serial('checkpoints are atomic: a save that fails midway leaves the previous one whole and no temp files', async (t) => {
  manualSeed(3);
  const model = new TinyNet(4, 8);
  const opt = new AdamW(paramGroups(model, 0.05));
  const prefix = join(root, 'atomic', 'last');
  const state = { epoch: 1, batch: 0, step: 8, epochLossSum: 0, epochLossCount: 0, bestMetric: 0, bestEpoch: 1, history: [], elapsed: 0 };
  const good = await saveCheckpoint(prefix, { model, optimizer: opt, meta: { model: 'tiny', reason: 'epoch', state, rng: [1, 2, 3, 4], config: {} } });
  // an optimizer whose state cannot be read fails after the weights were staged
  const broken = { ...opt, kind: 'adamw' as const, groups: opt.groups, updates: 9, stateTensors: () => { throw new Error('device lost'); } } as unknown as AdamW;
  await t.throwsAsync(saveCheckpoint(prefix, { model, optimizer: broken, meta: { model: 'tiny', reason: 'epoch', state: { ...state, step: 9 }, rng: [1, 2, 3, 4], config: {} } }), { message: 'device lost' });
  t.deepEqual(readdirSync(join(root, 'atomic')).sort(), ['last.json', 'last.optim.safetensors', 'last.safetensors']);
  const { meta } = readCheckpointMeta(prefix);
  t.is(meta.id, good.id);
  const fresh = new TinyNet(4, 8);
  loadCheckpointInto(prefix, meta, { model: fresh, optimizer: new AdamW(paramGroups(fresh, 0.05)) });
  t.deepEqual([...fresh.head.weight.dataSync()], [...model.head.weight.dataSync()]);
  // a mismatched model is refused with the key named
  const other = new TinyNet(5, 8);
  t.throws(() => loadCheckpointInto(prefix, meta, { model: other }), { message: /do not fit model 'tiny'.*size mismatch for 'head.weight'/ });
});

test.serial('gradient accumulation: 2 x 6 images per update equals one batch of 12', async (t) => {
  const run = async (batch: number, accum: number, updates = 8) => {
    manualSeed(5);
    const model = new TinyNet(4, 8);
    const train = new ArraySource(trainSet.images, trainSet.labels, [8, 8, 3], 4, { batch, seed: 0 });
    const tr = new Trainer({ model, optimizer: new AdamW(paramGroups(model, 0.05)), schedule: { kind: 'constant', baseLr: 1e-2, warmupLr: 1e-2, warmupSteps: 0 }, train, epochs: 1, accum, clipGrad: 1, smoothing: 0.1 });
    await tr.fit();
    t.is(tr.state.step, updates);
    t.is(tr.updatesPerEpoch, updates);
    return [...model.head.weight.dataSync()];
  };
  const a = await run(12, 1);
  const b = await run(6, 2);
  t.true(a.every((v, i) => Math.abs(v - b[i]) < 1e-5), 'same weights after 8 updates');
  await run(12, 3, 3); // 8 micro-batches in groups of 3, 3 and 2 (timm's last_accum_steps)
  t.true(tf.memory().numTensors < 200);
});

test.serial('the loop learns: the tiny net beats chance (25%) by far on held-out images', async (t) => {
  const r = await trainClassifier(cfg({ name: 'learn', epochs: 3 }), { deps, err: devnull() });
  const last = r.history[r.history.length - 1];
  t.true(last['metrics/accuracy_top1'] >= 0.9, `top-1 ${last['metrics/accuracy_top1']}`);
  t.true(existsSync(join(r.dir, 'best.safetensors')));
});

function devnull(): NodeJS.WritableStream {
  return { write: () => true } as unknown as NodeJS.WritableStream;
}
