// `ssmv train task=detect|segment ...` as a function: backbone from the registry (built as the
// detection/segmentation backbone where the family has out_indices, e.g. Backbone_VSSM's outnorms),
// the head from the head registry, data and model first (bad input leaves no run directory), then
// AdamW, the task's schedule (multistep or poly after a linear warmup), the task hooks and the same
// callbacks as classification (checkpoints, metrics.csv, plots, progress, Ctrl-C).
import { join, dirname } from 'node:path';
import { availableParallelism } from 'node:os';
import { setBackend, type BackendInfo } from '../core/backend.ts';
import { manualSeed } from '../core/rng.ts';
import { loadCheckpoint } from '../core/io/checkpoint.ts';
import { backbones, families, createModel } from '../backbones/index.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { heads } from '../heads/index.ts';
import type { MaskRCNN } from '../heads/mask_rcnn.ts';
import type { UperNet } from '../heads/upernet.ts';
import { AdamW, paramGroups } from './optim/index.ts';
import type { LrSchedule } from './schedule.ts';
import { Trainer, fitTimed, type Callback, type EpochMetrics, type StopReason } from './trainer.ts';
import { incrementRunDir } from './run-dir.ts';
import { writeJsonAtomic } from './checkpoint.ts';
import { resumeConfig, restoreTrainer } from './resume.ts';
import { loadWeightsStrict } from './classify-deps.ts';
import { RunLog } from './callbacks/log.ts';
import { CheckpointCallback } from './callbacks/checkpoint.ts';
import { MetricsCsvCallback } from './callbacks/metrics-csv.ts';
import { PlotsCallback } from './callbacks/plots.ts';
import { ProgressCallback } from './callbacks/progress.ts';
import { InterruptCallback } from './callbacks/interrupt.ts';
import { checkDenseConfig, resolveDense, type DenseConfig, type ResolvedDense } from './dense-config.ts';
import { openDenseData } from './dense-data.ts';
import { DetectTask } from './detect-task.ts';
import { SegmentTask } from './segment-task.ts';

export interface DenseOptions {
  /** keys given explicitly (with resume: the only ones that may differ from the saved config) */
  given?: ReadonlySet<string>;
  err?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  tty?: boolean;
  handleSigint?: boolean;
  callbacks?: Callback[];
  cores?: number;
}

export interface DenseResult {
  dir: string;
  reason: StopReason;
  message: string;
  config: DenseConfig;
  resolved: ResolvedDense;
  history: EpochMetrics[];
  best: { epoch: number; metric: number };
  backend: BackendInfo;
  params: number;
  seconds: number;
}

export const DENSE_RESUME_OVERRIDABLE = ['epochs', 'workers', 'worker_kind', 'backend', 'log_interval', 'plots', 'data', 'resume'];

/** The backbone for dense heads: all stage outputs, with the family's out_indices when it has them. */
export function denseBackbone(name: string, dropPath?: number): Backbone {
  const entry = backbones.get(name.split('.')[0]);
  const fam = families.get(entry.family);
  const nStages = Array.isArray(entry.config.depths) ? (entry.config.depths as number[]).length : 4;
  const kwargs: Record<string, unknown> = {};
  if ('out_indices' in fam.defaults) kwargs.out_indices = Array.from({ length: nStages }, (_, i) => i);
  if (dropPath !== undefined) kwargs.drop_path_rate = dropPath;
  return createModel(name, kwargs);
}

/** The registered head of `cfg.task` on a backbone. */
export function buildDenseModel(cfg: DenseConfig, r: ResolvedDense, numClasses: number): MaskRCNN | UperNet {
  const entry = heads.get(r.head);
  const want = cfg.task === 'detect' ? 'detector' : 'segmentor';
  if (entry.kind !== want) throw new Error(`head: '${r.head}' is a ${entry.kind ?? 'head'}, task=${cfg.task} needs a ${want} (${heads.names().filter((n) => heads.get(n).kind === want).join(', ')})`);
  if (entry.presets && !(cfg.head_preset in entry.presets)) throw new Error(`head_preset: '${cfg.head_preset}' is not a preset of ${r.head} (${Object.keys(entry.presets).join(', ')})`);
  const backbone = denseBackbone(cfg.model, cfg.drop_path);
  return entry.create(backbone, { num_classes: numClasses }, cfg.head_preset) as MaskRCNN | UperNet;
}

function scheduleFor(cfg: DenseConfig, r: ResolvedDense, updatesPerEpoch: number): LrSchedule {
  const total = updatesPerEpoch * cfg.epochs;
  const warmupSteps = Math.min(r.warmupIters, Math.max(0, total - 1));
  const base = { baseLr: r.lr, warmupLr: r.lr * r.warmupRatio, warmupSteps };
  if (cfg.task === 'detect') return { kind: 'multistep', ...base, milestones: cfg.milestones.map((e) => Math.round(e * updatesPerEpoch)), gamma: cfg.gamma };
  return { kind: 'poly', ...base, decaySteps: Math.max(1, total - warmupSteps), power: cfg.poly_power, minLr: cfg.min_lr };
}

/** The epoch line of the dense metrics in the run log. */
class DenseLogCallback implements Callback {
  readonly name = 'dense-log';
  constructor(private readonly log: RunLog, private readonly err: NodeJS.WritableStream) {}
  onEpochEnd(tr: Trainer, m: EpochMetrics): void {
    // loss parts and the headline metrics (the AP of size ranges stays in metrics.csv)
    const keys = Object.keys(m).filter((k) => (k.startsWith('metrics/') && !/_(s|m|l)$/.test(k)) || (k.startsWith('train/') && k !== 'train/loss' && k !== 'train/grad_norm'));
    const line = `epoch ${m.epoch}: ` + keys.map((k) => `${k.replace(/^(metrics|train)\//, '')} ${m[k].toFixed(4)}`).join('  ') + (tr.isBest(m) ? '  *best' : '');
    this.log.file(line);
    this.err.write(line + '\n');
  }
}

export async function trainDense(cfgIn: DenseConfig, o: DenseOptions = {}): Promise<DenseResult> {
  const { cfg, resume } = resumeConfig(cfgIn, o.given, DENSE_RESUME_OVERRIDABLE);
  checkDenseConfig(cfg);
  const r = resolveDense(cfg);
  const backend = await setBackend(cfg.backend);
  manualSeed(cfg.seed);

  const headEntry = heads.get(r.head); // unknown head: "did you mean" before any data is read
  backbones.get(cfg.model.split('.')[0]);
  const data = await openDenseData(cfg, r, o.cores ?? availableParallelism(), { instanceMasks: headEntry.kind === 'detector' });
  const model = buildDenseModel(cfg, r, data.classes.length);
  const err = o.err ?? process.stderr;
  const notes: string[] = [];
  if (cfg.pretrained && !resume) {
    const res = loadCheckpoint(model.backbone, cfg.pretrained, { strict: false });
    if (res.mismatched.length) throw new Error(`pretrained: '${cfg.pretrained}' has ${res.mismatched.length} tensors of the wrong shape for ${cfg.model}, e.g. '${res.mismatched[0].key}' [${res.mismatched[0].actual}] vs [${res.mismatched[0].expected}]`);
    notes.push(`pretrained backbone: ${res.keys - res.unexpected.length} tensors loaded, ${res.unexpected.length} unused (${res.unexpected.slice(0, 3).join(', ')}${res.unexpected.length > 3 ? ', ...' : ''}), ${res.missing.length} not in the file (${res.missing.slice(0, 3).join(', ')}${res.missing.length > 3 ? ', ...' : ''})`);
  }
  if (cfg.weights && !resume) loadWeightsStrict(model, cfg.weights, `${cfg.model}+${r.head}`);

  const groups = paramGroups(model, r.weightDecay);
  const optimizer = new AdamW(groups, { betas: [cfg.betas[0], cfg.betas[1]], eps: cfg.eps });
  const updatesPerEpoch = Math.ceil(data.train.batchesPerEpoch / cfg.accum);
  const schedule = scheduleFor(cfg, r, updatesPerEpoch);
  const val = cfg.val ? data.val : null;
  const task: DetectTask | SegmentTask = cfg.task === 'detect'
    ? new DetectTask(model as MaskRCNN, val, Boolean(data.trainSet.meta.hasMasks))
    : new SegmentTask(model as UperNet, val, data.classes);

  const dir = resume ? dirname(resume.prefix) : incrementRunDir(cfg.project, cfg.name, cfg.exist_ok);
  const log = new RunLog(join(dir, 'train.log'));
  const params = model.numParams();
  const resolved = {
    ...cfg,
    resolved: {
      ...r, updates_per_epoch: updatesPerEpoch, total_updates: updatesPerEpoch * cfg.epochs, schedule,
      num_classes: data.classes.length, classes: data.classes, data: data.describe, params, head_config: (model as { cfg: unknown }).cfg,
      param_groups: groups.map((g) => ({ name: g.name, weight_decay: g.weightDecay, tensors: g.params.length })),
      backend: backend.backend, adapter: backend.adapter?.description ?? null,
    },
  };
  writeJsonAtomic(join(dir, resume ? 'config.resume.json' : 'config.json'), resolved);
  log.info(`${resume ? 'resuming' : 'training'} ${cfg.model} + ${r.head} (${cfg.head_preset}; ${(params / 1e6).toFixed(3)} M params) for task=${cfg.task} on ${backend.backend}${backend.adapter ? ` (${backend.adapter.description})` : ''}`);
  for (const n of notes) log.info(n);
  log.file(`config: ${JSON.stringify(resolved)}`);

  const trainer = new Trainer({
    model, task, optimizer, schedule, train: data.train, epochs: cfg.epochs, accum: cfg.accum, clipGrad: cfg.clip_grad, logInterval: cfg.log_interval,
  });
  if (resume) restoreTrainer(trainer, resume, { model, optimizer }, log);
  trainer.callbacks.push(
    ...(o.handleSigint ? [new InterruptCallback(err, join(dir, 'last'))] : []),
    new ProgressCallback({ out: err, tty: o.tty, log }),
    new DenseLogCallback(log, err),
    new CheckpointCallback({ dir, modelName: `${cfg.model}+${r.head}`, config: cfg as unknown as Record<string, unknown>, savePeriod: cfg.save_period, log }),
    new MetricsCsvCallback(dir),
    ...(cfg.plots ? [new PlotsCallback(dir, updatesPerEpoch * cfg.epochs)] : []),
    ...(o.callbacks ?? []),
  );

  const { reason, seconds } = await fitTimed(trainer, log, async () => {
    await data.train.close?.();
    await data.val?.loader.close();
    task.parts.dispose();
  });
  const result: DenseResult = {
    dir, reason, message: trainer.stopMessage, config: cfg, resolved: r, history: trainer.state.history,
    best: { epoch: trainer.state.bestEpoch, metric: trainer.state.bestMetric }, backend, params, seconds,
  };
  model.dispose();
  optimizer.dispose();
  return result;
}
