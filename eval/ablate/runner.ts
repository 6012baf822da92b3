// `ssmv ablate` as a function: for every (model, scan, seed) row, train with the recipe
// (trainClassifier, the `ssmv train` machinery: run directory out/runs/<model>-<scan>-s<seed>), then
// measure the trained model: throughput and peak memory of inference and training steps, and its
// effective receptive field. Scans a model refuses become skipped rows with the family's reason.
// results.json is rewritten after every row; a rerun with the same out/ skips finished rows and
// resumes an interrupted training from its `last` checkpoint. The reports (csv, markdown, PNGs, html)
// are written at the end, also after Ctrl-C.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { setBackend, type BackendInfo } from '../../core/backend.ts';
import { trainClassifier, type ClassifyDeps } from '../../train/classify.ts';
import { resolveLr } from '../../train/config.ts';
import { registryDeps, loadWeightsStrict } from '../../train/classify-deps.ts';
import type { Classifier } from '../../train/evaluate.ts';
import { openImageFolder } from '../../datasets/imagefolder.ts';
import { DataLoader } from '../../datasets/loader.ts';
import { classifyEval } from '../../datasets/pipeline/spec.ts';
import { writeSynthetic } from '../../datasets/synth/write.ts';
import { comparableConfig, configDiff, trainConfigFor, type AblateConfig } from './config.ts';
import { buildModel, checkNames, familyOf, probeScan, scansFor, type ProbeResult } from './probe.ts';
import { benchInference, benchTraining } from './metrics.ts';
import { effectiveReceptiveField, erfAreaRatios } from './erf.ts';
import { isFinished, readResults, rowId, summarize, writeResults, type AblationRow, type ResultsFile } from './results.ts';
import { writeReports, type ReportFiles } from './report.ts';

export interface AblateOptions {
  /** one line per row and the summary (stdout in the CLI) */
  log?: (line: string) => void;
  /** the trainer's progress bars (stderr in the CLI) */
  progress?: NodeJS.WritableStream;
  /** install the trainer's Ctrl-C handler (CLI runs) */
  handleSigint?: boolean;
}

export interface AblateResult {
  out: string;
  file: ResultsFile;
  reports: ReportFiles;
  /** rows run now / skipped because finished before */
  ran: number;
  reused: number;
  interrupted: boolean;
  errors: number;
}

/** files and folders this tool writes into out/ (what --force deletes) */
const OWNED = ['results.json', 'results.csv', 'results.md', 'report.html', 'runs', 'erf', 'plots', 'paths'];

class Interrupted extends Error {}

const nullSink = { write: () => true } as unknown as NodeJS.WritableStream;

export async function runAblation(cfg: AblateConfig, o: AblateOptions = {}): Promise<AblateResult> {
  const log = o.log ?? (() => {});
  checkNames(cfg.model, cfg.scans);
  if (cfg.data !== 'synth' && !existsSync(cfg.data)) throw new Error(`data: folder '${cfg.data}' does not exist (give an ImageFolder root, or data=synth)`);
  const out = resolve(cfg.out);
  const comparable = comparableConfig(cfg);
  let previous = existsSync(out) ? readResultsOrForce(out, cfg.force) : null;
  if (previous && !cfg.force) {
    const diff = configDiff(previous.config, comparable);
    if (diff.length) {
      const d = diff[0];
      throw new Error(`out: '${out}' holds an ablation made with ${d.key}=${fmt(d.saved)}; this run has ${d.key}=${fmt(d.now)}` +
        (diff.length > 1 ? ` (also differ: ${diff.slice(1).map((x) => x.key).join(', ')})` : '') + '. Use another out=, the same settings, or --force to delete its results and start over');
    }
  }
  if (cfg.force && existsSync(out)) {
    for (const name of OWNED) rmSync(join(out, name), { recursive: true, force: true });
    if (cfg.data === 'synth') rmSync(join(out, 'data'), { recursive: true, force: true });
    previous = null;
  }
  mkdirSync(out, { recursive: true });
  const backend = await setBackend(cfg.backend);
  const data = cfg.data === 'synth' ? await ensureSynthetic(out, cfg, log) : resolve(cfg.data);
  const classes = await classesOf(data, cfg.train_split);

  const rows = new Map<string, AblationRow>((previous?.rows ?? []).map((r) => [r.id, r]));
  const file: ResultsFile = { version: 1, tool: 'ssmv ablate', config: comparable, backend: backendSummary(backend), rows: [], summary: [] };
  const save = () => {
    file.rows = [...rows.values()];
    file.summary = summarize(file.rows, cfg.seeds);
    writeResults(out, file);
  };
  save();

  const erfSource = await openErfImages(data, cfg);
  let ran = 0, reused = 0, errors = 0, interrupted = false;
  const plan = cfg.model.flatMap((model) => scansFor(model, cfg.scans).map((scan) => ({ model, scan })));
  const total = plan.length * cfg.seeds.length;
  let index = 0;
  try {
    for (const { model, scan } of plan) {
      const skippedId = rowId(model, scan, null);
      const ids = cfg.seeds.map((s) => rowId(model, scan, s));
      if (rows.get(skippedId)?.status === 'skipped' || ids.every((id) => rows.has(id) && isFinished(rows.get(id)!))) {
        reused += rows.has(skippedId) ? 1 : ids.length;
        index += cfg.seeds.length;
        log(`${model} ${scan}: finished before (${rows.has(skippedId) ? 'skipped' : `${ids.length} row${ids.length > 1 ? 's' : ''}`}), not rerun`);
        continue;
      }
      const probe = await probeScan(model, scan, classes.length, cfg.imgsz, cfg.flops224);
      if (!probe.accepted) {
        rows.set(skippedId, { id: skippedId, model, family: familyOf(model), scan, seed: null, status: 'skipped', reason: probe.reason, finished_at: new Date().toISOString() });
        for (const id of ids) rows.delete(id);
        save();
        index += cfg.seeds.length;
        log(`${model} ${scan}: skipped: ${probe.reason}`);
        continue;
      }
      rows.delete(skippedId);
      for (const seed of cfg.seeds) {
        index++;
        const id = rowId(model, scan, seed);
        const prev = rows.get(id);
        if (prev && isFinished(prev)) {
          reused++;
          log(`[${index}/${total}] ${id}: finished before, not rerun`);
          continue;
        }
        const t0 = performance.now();
        let row: AblationRow;
        try {
          row = await runRow(cfg, { model, scan, seed, probe, data, classes, out, backend, erfSource }, o);
        } catch (e) {
          if (e instanceof Interrupted) {
            interrupted = true;
            log(`[${index}/${total}] ${id}: interrupted; rerun the same command to resume from out/runs/${runName(model, scan, seed)}/last`);
            break;
          }
          errors++;
          row = { id, model, family: familyOf(model), scan, seed, status: 'error', reason: (e as Error).message, finished_at: new Date().toISOString() };
        }
        rows.set(id, row);
        save();
        ran++;
        log(`[${index}/${total}] ${rowLine(row)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
      if (interrupted) break;
    }
  } finally {
    await erfSource.close();
  }
  save();
  const reports = writeReports(out, file, cfg);
  return { out, file, reports, ran, reused, interrupted, errors };
}

function fmt(v: unknown): string {
  return v === undefined ? '(unset)' : Array.isArray(v) ? v.join(',') : String(v);
}

function readResultsOrForce(out: string, force: boolean): ResultsFile | null {
  try {
    return readResults(out);
  } catch (e) {
    if (force) return null;
    throw e;
  }
}

function backendSummary(b: BackendInfo): { backend: string; adapter: string | null } {
  return { backend: b.backend, adapter: b.adapter?.description ?? null };
}

export const runName = (model: string, scan: string, seed: number): string => `${model}-${scan}-s${seed}`;

/** out/data: written once (to a temporary folder renamed at the end, so an interrupted write is redone) */
async function ensureSynthetic(out: string, cfg: AblateConfig, log: (l: string) => void): Promise<string> {
  const dir = join(out, 'data');
  if (existsSync(join(dir, 'synth.json'))) return dir;
  const tmp = join(out, `data.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const t0 = performance.now();
  const r = await writeSynthetic({ task: 'classify', out: tmp, n: cfg.images, size: cfg.imgsz, classes: cfg.classes, seed: 0 });
  writeFileSync(join(tmp, 'synth.json'), JSON.stringify({ images: cfg.images, size: cfg.imgsz, classes: r.classes, train: r.train, val: r.val, seed: 0 }, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`data: ${r.train} train + ${r.val} val synthetic images of ${r.classes.length} shapes (${r.classes.join(', ')}), ${cfg.imgsz}x${cfg.imgsz}, in ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return dir;
}

async function classesOf(root: string, trainSplit: string): Promise<string[]> {
  if (!existsSync(root)) throw new Error(`data: folder '${root}' does not exist`);
  const split = existsSync(join(root, trainSplit)) ? trainSplit : undefined;
  const ds = await openImageFolder({ root, split });
  if (ds.classes.length < 2) throw new Error(`data: '${root}' has ${ds.classes.length} class folder(s); classification needs at least 2`);
  return [...ds.classes];
}

interface ErfSource {
  batches(): AsyncIterable<{ images: Float32Array; shape: number[] }>;
  close(): Promise<void>;
}

/** The ERF images: the validation split (else train) at erf_size, in one fixed shuffled order. */
async function openErfImages(root: string, cfg: AblateConfig): Promise<ErfSource> {
  const split = cfg.val_split && existsSync(join(root, cfg.val_split)) ? cfg.val_split : existsSync(join(root, cfg.train_split)) ? cfg.train_split : undefined;
  const ds = await openImageFolder({ root, split });
  const loader = new DataLoader({
    dataset: ds, pipeline: classifyEval({ size: cfg.erf_size, cropPct: 1, interpolation: cfg.interpolation }),
    batchSize: Math.min(cfg.erf_images, 8), shuffle: true, seed: 0, workers: 0,
  });
  return {
    batches: async function* () {
      let n = 0;
      for await (const b of loader.epoch(0)) {
        yield { images: b.images, shape: [...b.shape] };
        n += b.shape[0];
        if (n >= cfg.erf_images) break;
      }
    },
    close: () => loader.close(),
  };
}

interface RowContext {
  model: string;
  scan: string;
  seed: number;
  probe: ProbeResult;
  data: string;
  classes: string[];
  out: string;
  backend: BackendInfo;
  erfSource: ErfSource;
}

async function runRow(cfg: AblateConfig, c: RowContext, o: AblateOptions): Promise<AblationRow> {
  const name = runName(c.model, c.scan, c.seed);
  const runsDir = join(c.out, 'runs');
  const dir = join(runsDir, name);
  const tcfg = trainConfigFor(cfg, c.model, c.seed, c.data, name, runsDir);
  const resuming = existsSync(join(dir, 'last.json'));
  if (resuming) tcfg.resume = join(dir, 'last');
  const base = registryDeps(availableParallelism());
  const deps: ClassifyDeps = { ...base, createModel: (n, kw) => buildModel(n, c.scan, kw.num_classes, kw.drop_path_rate === undefined ? {} : { drop_path_rate: kw.drop_path_rate }) as unknown as Classifier };
  const r = await trainClassifier(tcfg, { deps, given: new Set(resuming ? ['resume'] : []), err: o.progress ?? nullSink, tty: false, handleSigint: o.handleSigint });
  if (r.reason === 'interrupted') throw new Interrupted();
  const last = r.history[r.history.length - 1];
  const row: AblationRow = {
    id: rowId(c.model, c.scan, c.seed), model: c.model, family: familyOf(c.model), scan: c.scan, seed: c.seed, status: 'done',
    directions: c.probe.directions, params: c.probe.params, flops: c.probe.flops, flops224: c.probe.flops224,
    epochs_done: r.history.length, train_seconds: r.seconds, backend: c.backend.backend, adapter: c.backend.adapter?.description ?? null,
    // paths inside out/ are written relative to it, so results.json stays valid when out/ moves
    run_dir: inOut(c.out, dir), config: { ...tcfg, data: inOut(c.out, tcfg.data), project: inOut(c.out, tcfg.project), resume: '', scan: c.scan, first_map: c.probe.firstMap },
  };
  if (r.reason !== 'completed') {
    return { ...row, status: r.reason === 'nan' ? 'diverged' : 'error', reason: r.message || r.reason, finished_at: new Date().toISOString() };
  }
  row.top1 = 100 * last['metrics/accuracy_top1'];
  row.top5 = 100 * last['metrics/accuracy_top5'];
  row.val_loss = last['val/loss'];
  row.train_loss = last['train/loss'];

  const model = buildModel(c.model, c.scan, c.classes.length);
  try {
    loadWeightsStrict(model, join(dir, 'last.safetensors'), c.model);
    model.eval();
    // ERF on the trained weights (eval mode), before the training benchmark changes them
    try {
      const lastStage = model.featureInfo.length - 1;
      const erf = await effectiveReceptiveField((x) => model.forwardIntermediates(x, { indices: [lastStage], norm: false })[0], c.erfSource.batches(), { grad: cfg.erf_grad, maxImages: cfg.erf_images });
      const file = join('erf', `${name}.json`);
      mkdirSync(join(c.out, 'erf'), { recursive: true });
      writeFileSync(join(c.out, file), JSON.stringify({ id: row.id, H: erf.H, W: erf.W, images: erf.images, grad: cfg.erf_grad, map: Array.from(erf.map, (v) => Number(v.toPrecision(6))) }) + '\n');
      row.erf = {
        size: cfg.erf_size, feature: [erf.featureH, erf.featureW], images: erf.images, nanImages: erf.nanImages, grad: cfg.erf_grad, scale: cfg.erf_scale,
        ratios: erfAreaRatios(erf.map, erf.H, erf.W), file,
      };
    } catch (e) {
      row.reason = `ERF not measured: ${(e as Error).message}`;
    }
    const bench = { batch: cfg.bench_batch, size: cfg.imgsz, numClasses: c.classes.length, warmup: cfg.bench_warmup, steps: cfg.bench_steps };
    const inf = await benchInference(model, bench);
    const trn = await benchTraining(model, { ...bench, lr: resolveLr(tcfg).lr, weightDecay: cfg.weight_decay, clipGrad: cfg.clip_grad, smoothing: cfg.smoothing });
    row.infer_ips = inf.throughput.imagesPerSecond;
    row.train_ips = trn.throughput.imagesPerSecond;
    row.peak_infer_bytes = inf.memory.peak;
    row.peak_train_bytes = trn.memory.peak;
    row.base_train_bytes = trn.memory.before;
    row.memory_field = trn.memory.field;
  } finally {
    model.dispose();
  }
  row.finished_at = new Date().toISOString();
  return row;
}

/** `p` relative to out/ when it lies inside it, else as it is */
function inOut(out: string, p: string): string {
  const r = relative(out, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

const MIB = 1024 * 1024;

export function rowLine(r: AblationRow): string {
  if (r.status !== 'done') return `${r.id}: ${r.status}${r.reason ? `: ${r.reason}` : ''}`;
  const parts = [
    `top-1 ${r.top1!.toFixed(2)}%`, `train ${r.train_ips!.toFixed(1)} img/s`, `infer ${r.infer_ips!.toFixed(1)} img/s`,
    `peak ${(r.peak_train_bytes! / MIB).toFixed(1)} MiB (${r.memory_field})`,
  ];
  if (r.erf) parts.push(`ERF r50 ${r.erf.ratios.r50 === null ? '-' : r.erf.ratios.r50.toFixed(3)}`);
  if (r.reason) parts.push(r.reason);
  return `${r.id}: ${parts.join(', ')}`;
}
