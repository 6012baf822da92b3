// `ssmv train task=detect model=mamba_yolo_t data=...` as a function: a port of ultralytics'
// BaseTrainer._do_train / DetectionTrainer for the Mamba-YOLO models. Per batch: lr / momentum /
// accumulate from the warmup (iteration ni <= nw = max(3 epochs, 100 iterations)), forward, the v8
// loss (summed over the batch as ultralytics back-propagates it), gradients accumulated until
// `accumulate` batches (nbs 64 / batch) are in, then clip to norm 10, SGD step, EMA update. Per epoch:
// mosaic closed for the last close_mosaic epochs, validation of the EMA model (COCO mAP), fitness
// 0.1 mAP50 + 0.9 mAP50-95, weights/last (+ weights/best when the fitness improves), results.csv,
// results.png, early stop after `patience` epochs without improvement.
// GPU->CPU syncs: the loss items are read every 10 batches and at the end of an epoch (one read of all
// pending values); validation reads once per batch.
import { join, dirname } from 'node:path';
import { availableParallelism } from 'node:os';
import { tf, type Tensor } from '../../core/tf.ts';
import { setBackend, type BackendInfo } from '../../core/backend.ts';
import { globalRng, manualSeed } from '../../core/rng.ts';
import { createModel } from '../../backbones/index.ts';
import type { MambaYOLO } from '../../backbones/mamba-yolo.ts';
import { isMambaYolo } from '../../backbones/mamba-yolo.ts';
import { readYoloWeights } from '../../backbones/mamba-yolo-import.ts';
import { V8DetectionLoss } from '../../heads/yolo/loss.ts';
import { clipGradNorm } from '../optim/clip.ts';
import { ParamGrads, addGradsInto } from '../param-grads.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { incrementRunDir } from '../run-dir.ts';
import { loadCheckpointInto, saveCheckpoint, writeFileAtomic, writeJsonAtomic } from '../checkpoint.ts';
import { resumeConfig } from '../resume.ts';
import type { TrainState } from '../trainer.ts';
import { RunLog } from '../callbacks/log.ts';
import { checkYoloConfig, type YoloTrainConfig } from './config.ts';
import { openYoloData, trainTargets, yoloLoaders } from './data.ts';
import { applySchedule, YoloSGD, yoloParamGroups } from './optim.ts';
import { YoloEma } from './ema.ts';
import { validateYolo, type YoloValResult } from './validate.ts';
import { argsYaml, epochLine, valLine, writeResults, type ResultRow } from './report.ts';

export type YoloStopReason = 'completed' | 'interrupted' | 'nan' | 'patience';

export interface YoloTrainOptions {
  /** keys given explicitly (with resume: the only ones that may differ from the saved config) */
  given?: ReadonlySet<string>;
  /** progress and summaries (default stderr) */
  out?: NodeJS.WritableStream;
  handleSigint?: boolean;
  cores?: number;
  /** after every epoch (tests, custom logging); may return 'stop' */
  onEpochEnd?(row: ResultRow, val: YoloValResult | null): void | 'stop';
}

export interface YoloTrainResult {
  dir: string;
  reason: YoloStopReason;
  message: string;
  config: YoloTrainConfig;
  history: ResultRow[];
  best: { epoch: number; fitness: number };
  names: readonly string[];
  params: number;
  backend: BackendInfo;
  seconds: number;
  lastVal: YoloValResult | null;
}

/** keys that may change when resuming (they do not change the numbers) */
export const YOLO_RESUME_OVERRIDABLE = ['epochs', 'workers', 'worker_kind', 'backend', 'plots', 'data', 'resume', 'patience'];

/** DetMetrics.fitness: 0.1 mAP50 + 0.9 mAP50-95 */
export const yoloFitness = (map50: number, map: number): number => 0.1 * map50 + 0.9 * map;

export async function trainYolo(cfgIn: YoloTrainConfig, o: YoloTrainOptions = {}): Promise<YoloTrainResult> {
  const { cfg, resume } = resumeConfig(cfgIn, o.given, YOLO_RESUME_OVERRIDABLE, (saved, prefix) => {
    if (saved.task !== 'detect') throw new Error(`resume: ${prefix} is not a detection run`);
    const { nc: _nc, names: _names, ...rest } = saved; // saved beside the config keys (saveConfig below)
    return rest;
  });
  checkYoloConfig(cfg);
  if (!isMambaYolo(cfg.model)) throw new Error(`model: '${cfg.model}' is not a YOLO model (mamba_yolo_t, mamba_yolo_b, mamba_yolo_l, test_mamba_yolo)`);
  const out = o.out ?? process.stderr;
  const backend = await setBackend(cfg.backend);
  manualSeed(cfg.seed);

  // data and model first: bad input fails before anything is written
  const data = await openYoloData(cfg);
  const names = data.names;
  const kwargs = { nc: names.length, names: [...names] };
  const model = createModel(cfg.model, kwargs) as unknown as MambaYOLO;
  if (cfg.weights && !resume) {
    const w = readYoloWeights(cfg.weights);
    try {
      model.loadStateDict(w.stateDict, { strict: true });
    } catch (e) {
      model.dispose();
      throw new Error(`weights: '${cfg.weights}' (${w.source}) does not fit ${cfg.model} with ${names.length} classes: ${(e as Error).message}`);
    }
  }
  const ema = new YoloEma(createModel(cfg.model, kwargs) as unknown as MambaYOLO, model);
  const loaders = yoloLoaders(data, cfg, o.cores ?? availableParallelism());
  const nb = loaders.train.length;
  const nw = cfg.warmup_epochs > 0 ? Math.max(Math.round(cfg.warmup_epochs * nb), 100) : -1;
  const accumulate0 = Math.max(Math.round(cfg.nbs / cfg.batch), 1);
  const weightDecay = (cfg.weight_decay * cfg.batch * accumulate0) / cfg.nbs;
  const groups = yoloParamGroups(model, cfg.lr0, cfg.momentum, weightDecay);
  const optimizer = new YoloSGD(groups);
  const lossFn = new V8DetectionLoss(model.head, { box: cfg.box, cls: cfg.cls, dfl: cfg.dfl });
  const params = model.numParams();

  const dir = resume ? dirname(dirname(resume.prefix)) : incrementRunDir(cfg.project, cfg.name, cfg.exist_ok);
  const log = new RunLog(join(dir, 'train.log'));
  const saveConfig = { ...cfg, nc: names.length, names: [...names] };
  if (!resume) writeFileAtomic(join(dir, 'args.yaml'), argsYaml(cfg as unknown as Record<string, unknown>));
  writeJsonAtomic(join(dir, resume ? 'config.resume.json' : 'config.json'), {
    ...saveConfig,
    resolved: {
      params, batches_per_epoch: nb, warmup_iterations: nw, accumulate: accumulate0, weight_decay: weightDecay, data: data.describe,
      param_groups: groups.map((g) => ({ name: g.name, tensors: g.params.length, weight_decay: g.weightDecay })),
      backend: backend.backend, adapter: backend.adapter?.description ?? null,
    },
  });
  const say = (s: string) => {
    out.write(s + '\n');
    log.file(s);
  };
  for (const m of data.messages) say(m);
  say(`${resume ? 'resuming' : 'training'} ${cfg.model} (${params.toLocaleString('en')} parameters, ${names.length} classes) on ${backend.backend}${backend.adapter ? ` (${backend.adapter.description})` : ''}: ` +
    `${data.train.samples.length} images, ${nb} batches of ${cfg.batch}, imgsz ${cfg.imgsz}, optimizer SGD(lr=${cfg.lr0}, momentum=${cfg.momentum}) with parameter groups ` +
    `${groups[2].params.length} weight(decay=0.0), ${groups[1].params.length} weight(decay=${weightDecay}), ${groups[0].params.length} bias(decay=0.0); results to ${dir}`);

  const st: TrainState = { epoch: 0, batch: 0, step: 0, epochLossSum: 0, epochLossCount: 0, bestMetric: -Infinity, bestEpoch: -1, history: [], elapsed: 0 };
  if (resume) {
    loadCheckpointInto(resume.prefix, resume.meta, { model, ema: ema.module, optimizer: optimizer as unknown as Optimizer });
    Object.assign(st, structuredClone(resume.meta.state));
    ema.updates = st.step;
    globalRng.setState(resume.meta.rng);
    say(`resumed from ${resume.prefix} at epoch ${st.epoch + 1}`);
  }
  const history = st.history as unknown as ResultRow[];

  let stop: { reason: YoloStopReason; message: string } | null = null;
  let sigint: (() => void) | null = null;
  if (o.handleSigint) {
    sigint = () => {
      if (!stop) {
        stop = { reason: 'interrupted', message: 'interrupted by the user (Ctrl-C): weights/last holds the last finished epoch' };
        out.write('\nInterrupted: stopping after this batch (weights/last is the last finished epoch)\n');
      } else process.exit(130);
    };
    process.on('SIGINT', sigint);
  }
  const paramGrads = new ParamGrads(groups);
  const t0 = performance.now();
  const elapsed0 = st.elapsed;
  let lastVal: YoloValResult | null = null;
  let accumulate = accumulate0;
  let lastOptStep = -1;
  let acc: Map<string, Tensor> | null = null;
  try {
    for (let epoch = st.epoch; epoch < cfg.epochs && !stop; epoch++) {
      const closed = epoch >= cfg.epochs - cfg.close_mosaic;
      if (closed && epoch === Math.max(0, cfg.epochs - cfg.close_mosaic) && cfg.mosaic > 0) say('Closing dataloader mosaic');
      const loader = closed ? loaders.trainClosed : loaders.train;
      model.train();
      const te = performance.now();
      const tloss = [0, 0, 0];
      let seen = 0;
      let pending: Tensor[] = [];
      let lastPrint = performance.now();
      const flush = async () => {
        if (!pending.length) return;
        const packed = tf.stack(pending);
        tf.dispose(pending);
        const n = pending.length;
        pending = [];
        const v = await packed.data(); // GPU->CPU sync: the loss items of the last batches
        packed.dispose();
        for (let i = 0; i < n; i++) {
          if (![v[3 * i], v[3 * i + 1], v[3 * i + 2]].every(Number.isFinite)) {
            stop = { reason: 'nan', message: `loss is not finite (box ${v[3 * i]}, cls ${v[3 * i + 1]}, dfl ${v[3 * i + 2]}) in epoch ${epoch + 1}; stopping: weights/last keeps the last good epoch` };
            return;
          }
          for (let k = 0; k < 3; k++) tloss[k] = (tloss[k] * seen + v[3 * i + k]) / (seen + 1); // running mean as tloss
          seen++;
        }
      };
      let i = 0;
      for await (const batch of loader.epoch(epoch)) {
        const ni = i + nb * epoch;
        accumulate = applySchedule(groups, {
          ni, nw, epoch, epochs: cfg.epochs, lrf: cfg.lrf, cosLr: cfg.cos_lr, warmupBiasLr: cfg.warmup_bias_lr,
          warmupMomentum: cfg.warmup_momentum, momentum: cfg.momentum, nbs: cfg.nbs, batch: cfg.batch, accumulate,
        });
        const targets = trainTargets(batch);
        const x = tf.tensor4d(batch.images, batch.shape);
        let items: Tensor | null = null;
        const { value, grads } = paramGrads.compute(() => {
          const r = lossFn.compute(model.forwardTrain(x), targets);
          items = tf.keep(r.items);
          return r.loss as tf.Scalar;
        });
        x.dispose();
        value.dispose();
        pending.push(items!);
        acc = addGradsInto(acc, grads);
        if (ni - lastOptStep >= accumulate) {
          const { grads: clipped, norm } = clipGradNorm(acc, 10.0);
          for (const g of acc.values()) g.dispose();
          acc = null;
          norm.dispose();
          optimizer.step(clipped);
          for (const g of clipped.values()) g.dispose();
          ema.update();
          st.step++;
          lastOptStep = ni;
        }
        i++;
        if (pending.length >= 10) await flush();
        if (stop) break;
        if (performance.now() - lastPrint > 10_000) {
          lastPrint = performance.now();
          out.write(`  ${epoch + 1}/${cfg.epochs} ${i}/${nb}  box ${tloss[0].toFixed(4)}  cls ${tloss[1].toFixed(4)}  dfl ${tloss[2].toFixed(4)}  ${((i * cfg.batch) / ((performance.now() - te) / 1000)).toFixed(1)} img/s\n`);
        }
      }
      await flush();
      if (stop && (stop as { reason: string }).reason !== 'patience') break;
      const lrs = groups.map((g) => g.lr);
      const final = epoch + 1 === cfg.epochs;
      let val: YoloValResult | null = null;
      if (loaders.val && (cfg.val || final)) {
        val = await validateYolo(ema.module as unknown as MambaYOLO, loaders.val, data.val!, data.kind, { conf: cfg.conf, iou: cfg.iou, maxDet: cfg.max_det, lossFn: new V8DetectionLoss((ema.module as unknown as MambaYOLO).head, { box: cfg.box, cls: cfg.cls, dfl: cfg.dfl }) });
        lastVal = val;
        say(valLine(val.images, val.instances, val.precision, val.recall, val.map50, val.map5095));
      }
      const row: ResultRow = {
        epoch: epoch + 1, 'train/box_loss': tloss[0], 'train/cls_loss': tloss[1], 'train/dfl_loss': tloss[2],
        'metrics/precision(B)': val?.precision ?? NaN, 'metrics/recall(B)': val?.recall ?? NaN,
        'metrics/mAP50(B)': val?.map50 ?? NaN, 'metrics/mAP50-95(B)': val?.map5095 ?? NaN,
        'val/box_loss': val?.loss?.[0] ?? NaN, 'val/cls_loss': val?.loss?.[1] ?? NaN, 'val/dfl_loss': val?.loss?.[2] ?? NaN,
        'lr/pg0': lrs[0], 'lr/pg1': lrs[1], 'lr/pg2': lrs[2],
      };
      const fit = val ? yoloFitness(val.map50, val.map5095) : -(tloss[0] + tloss[1] + tloss[2]);
      const best = st.bestEpoch < 0 || fit > st.bestMetric;
      if (best) {
        st.bestMetric = fit;
        st.bestEpoch = epoch + 1;
      }
      history.push(row);
      st.epoch = epoch + 1;
      st.batch = 0;
      st.elapsed = elapsed0 + (performance.now() - t0) / 1000;
      const meta = { model: cfg.model, state: structuredClone(st), rng: globalRng.getState(), config: saveConfig as unknown as Record<string, unknown> };
      await saveCheckpoint(join(dir, 'weights', 'last'), { model, ema: { module: ema.module, decay: ema.decay }, optimizer: optimizer as unknown as Optimizer, meta: { ...meta, reason: 'epoch' } });
      if (best) await saveCheckpoint(join(dir, 'weights', 'best'), { model: ema.module, optimizer: null, meta: { ...meta, reason: 'best' } });
      if (cfg.save_period > 0 && (epoch + 1) % cfg.save_period === 0) await saveCheckpoint(join(dir, 'weights', `epoch${epoch + 1}`), { model: ema.module, optimizer: null, meta: { ...meta, reason: 'epoch' } });
      writeResults(dir, history, cfg.plots);
      say(epochLine(row, cfg.epochs, (performance.now() - te) / 1000, best));
      if (o.onEpochEnd?.(row, val) === 'stop' && !stop) stop = { reason: 'interrupted', message: 'stopped by a callback' };
      if (!stop && epoch + 1 - st.bestEpoch >= cfg.patience && epoch + 1 < cfg.epochs) {
        stop = { reason: 'patience', message: `no improvement in the last ${cfg.patience} epochs (best: epoch ${st.bestEpoch}); stopping early` };
      }
    }
  } finally {
    if (sigint) process.off('SIGINT', sigint);
    if (acc) for (const g of (acc as Map<string, Tensor>).values()) g.dispose();
    await loaders.train.close();
    await loaders.trainClosed.close();
    await loaders.val?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const result: YoloTrainResult = {
    dir, reason: (stop as { reason: YoloStopReason } | null)?.reason ?? 'completed', message: (stop as { message: string } | null)?.message ?? '',
    config: cfg, history, best: { epoch: st.bestEpoch, fitness: st.bestMetric }, names, params, backend, seconds, lastVal,
  };
  if (result.message) say(result.message);
  log.file(`end: ${result.reason} after ${seconds.toFixed(1)} s; tensors in memory ${tf.memory().numTensors}`);
  model.dispose();
  ema.dispose();
  optimizer.dispose();
  return result;
}
