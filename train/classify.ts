// `ssmv train task=classify ...` as a function: resolves the config (or the one of the run being
// resumed), opens the data and builds the model BEFORE creating the run directory (bad input leaves
// nothing behind), then wires optimizer, schedule, EMA and the callbacks around the Trainer.
import { join, dirname } from 'node:path';
import { setBackend, type BackendInfo } from '../core/backend.ts';
import { manualSeed } from '../core/rng.ts';
import { checkTrainConfig, resolveLr, type TrainConfig } from './config.ts';
import type { BatchSource } from './data.ts';
import type { Classifier } from './evaluate.ts';
import { AdamW, SGD, paramGroups, type Optimizer } from './optim/index.ts';
import { cosineFromEpochs, type LrSchedule } from './schedule.ts';
import { ModelEma } from './ema.ts';
import { Trainer, fitTimed, type Callback, type EpochMetrics, type StopReason } from './trainer.ts';
import { incrementRunDir } from './run-dir.ts';
import { writeJsonAtomic } from './checkpoint.ts';
import { resumeConfig, restoreTrainer } from './resume.ts';
import { RunLog } from './callbacks/log.ts';
import { EmaCallback } from './callbacks/ema.ts';
import { CheckpointCallback } from './callbacks/checkpoint.ts';
import { MetricsCsvCallback } from './callbacks/metrics-csv.ts';
import { PlotsCallback } from './callbacks/plots.ts';
import { ProgressCallback } from './callbacks/progress.ts';
import { InterruptCallback } from './callbacks/interrupt.ts';

export interface ClassifyData {
  train: BatchSource;
  val: BatchSource | null;
  classes: readonly string[];
  /** facts for config.json (root, sample counts) */
  describe: Record<string, unknown>;
}

/** How models and data are made (the defaults use the registries; tests inject small ones). */
export interface ClassifyDeps {
  createModel(name: string, kwargs: { num_classes: number; drop_path_rate?: number }): Classifier;
  openData(cfg: TrainConfig): Promise<ClassifyData>;
  /** loads initial weights (weights=) strictly; throws a clear error for another model's file */
  loadWeights?(model: Classifier, path: string, modelName: string): void;
}

export interface ClassifyOptions {
  deps: ClassifyDeps;
  /** keys given explicitly (with resume: the only ones that may differ from the saved config) */
  given?: ReadonlySet<string>;
  err?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  tty?: boolean;
  /** install the Ctrl-C handler (CLI runs) */
  handleSigint?: boolean;
  /** extra callbacks (after the built-in ones) */
  callbacks?: Callback[];
}

export interface ClassifyResult {
  dir: string;
  reason: StopReason;
  message: string;
  config: TrainConfig;
  history: EpochMetrics[];
  /** best epoch, its top-1 (model or EMA, whichever is higher) and the weights file that scored it */
  best: { epoch: number; metric: number; weights: string | null };
  backend: BackendInfo;
  params: number;
  seconds: number;
}

/** keys that may change when resuming (they do not change the numbers) */
export const RESUME_OVERRIDABLE = ['epochs', 'workers', 'worker_kind', 'backend', 'log_interval', 'plots', 'data', 'resume'];

export async function trainClassifier(cfgIn: TrainConfig, o: ClassifyOptions): Promise<ClassifyResult> {
  const { cfg, resume } = resumeConfig(cfgIn, o.given, RESUME_OVERRIDABLE);
  checkTrainConfig(cfg);
  const backend = await setBackend(cfg.backend);
  manualSeed(cfg.seed);

  // data and model first: a bad folder, batch or weights file fails before anything is written
  if (!cfg.data) throw new Error('data: give the ImageFolder root, e.g. data=path/to/imagenet (see ssmv train --help)');
  const data = await o.deps.openData(cfg);
  const numClasses = data.classes.length;
  const kwargs = { num_classes: numClasses, ...(cfg.drop_path !== undefined ? { drop_path_rate: cfg.drop_path } : {}) };
  const model = o.deps.createModel(cfg.model, kwargs);
  if (cfg.weights && !resume) {
    if (!o.deps.loadWeights) throw new Error('weights=: no weight loader configured');
    o.deps.loadWeights(model, cfg.weights, cfg.model);
  }
  const ema = cfg.model_ema ? new ModelEma(o.deps.createModel(cfg.model, kwargs), model, { decay: cfg.model_ema_decay, warmup: cfg.model_ema_warmup }) : null;

  const groups = paramGroups(model, cfg.weight_decay);
  const optimizer: Optimizer = cfg.optimizer === 'sgd'
    ? new SGD(groups, { momentum: cfg.momentum, nesterov: cfg.nesterov })
    : new AdamW(groups, { betas: [cfg.betas[0], cfg.betas[1]], eps: cfg.eps });
  const { lr, warmupLr, minLr } = resolveLr(cfg);
  const updatesPerEpoch = Math.ceil(data.train.batchesPerEpoch / cfg.accum);
  const schedule: LrSchedule = cfg.sched === 'constant'
    ? { kind: 'constant', baseLr: lr, warmupLr, warmupSteps: Math.floor(cfg.warmup_epochs * updatesPerEpoch) }
    : cosineFromEpochs({ lr, warmupLr, minLr, epochs: cfg.epochs, warmupEpochs: cfg.warmup_epochs, stepsPerEpoch: updatesPerEpoch });

  const dir = resume ? dirname(resume.prefix) : incrementRunDir(cfg.project, cfg.name, cfg.exist_ok);
  const err = o.err ?? process.stderr;
  const log = new RunLog(join(dir, 'train.log'));
  const params = model.numParams();
  const resolved = {
    ...cfg,
    resolved: {
      lr, warmup_lr: warmupLr, min_lr: minLr, updates_per_epoch: updatesPerEpoch, total_updates: updatesPerEpoch * cfg.epochs,
      num_classes: numClasses, classes: data.classes, data: data.describe, params,
      param_groups: groups.map((g) => ({ name: g.name, weight_decay: g.weightDecay, tensors: g.params.length })),
      backend: backend.backend, adapter: backend.adapter?.description ?? null,
    },
  };
  writeJsonAtomic(join(dir, resume ? 'config.resume.json' : 'config.json'), resolved);
  log.info(`${resume ? 'resuming' : 'training'} ${cfg.model} (${(params / 1e6).toFixed(3)} M params) on ${backend.backend}${backend.adapter ? ` (${backend.adapter.description})` : ''}`);
  log.file(`config: ${JSON.stringify(resolved)}`);

  const trainer = new Trainer({
    model, optimizer, schedule, train: data.train, val: cfg.val ? data.val ?? undefined : undefined,
    epochs: cfg.epochs, accum: cfg.accum, clipGrad: cfg.clip_grad, smoothing: cfg.smoothing, logInterval: cfg.log_interval,
  });
  if (resume) restoreTrainer(trainer, resume, { model, ema: ema?.module ?? null, optimizer }, log);
  const checkpoint = new CheckpointCallback({ dir, modelName: cfg.model, config: cfg as unknown as Record<string, unknown>, ema, savePeriod: cfg.save_period, log });
  trainer.callbacks.push(
    ...(o.handleSigint ? [new InterruptCallback(err, join(dir, 'last'))] : []),
    ...(ema ? [new EmaCallback(ema, cfg.val ? data.val ?? undefined : undefined)] : []),
    new ProgressCallback({ out: err, tty: o.tty, log }),
    checkpoint,
    new MetricsCsvCallback(dir),
    ...(cfg.plots ? [new PlotsCallback(dir, updatesPerEpoch * cfg.epochs)] : []),
    ...(o.callbacks ?? []),
  );

  const { reason, seconds } = await fitTimed(trainer, log, async () => {
    await data.train.close?.();
    await data.val?.close?.();
  });
  const bestRow = trainer.state.history.find((m) => m.epoch === trainer.state.bestEpoch);
  const emaWon = bestRow !== undefined && (bestRow['metrics/accuracy_top1_ema'] ?? -1) > (bestRow['metrics/accuracy_top1'] ?? -1);
  const result: ClassifyResult = {
    dir, reason, message: trainer.stopMessage, config: cfg, history: trainer.state.history,
    best: { epoch: trainer.state.bestEpoch, metric: trainer.state.bestMetric, weights: bestRow ? join(dir, emaWon ? 'best.ema.safetensors' : 'best.safetensors') : null },
    backend, params, seconds,
  };
  model.dispose();
  ema?.dispose();
  optimizer.dispose();
  return result;
}
