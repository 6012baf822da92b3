// The configuration of `ssmv ablate`: which (model, scan, seed) rows to run, the training recipe of
// every row (the keys of `ssmv train`, with a short recipe as default: the one of `ssmv demo`), and
// how each row is measured (throughput, memory, FLOPs, ERF). One flat typed object whose keys are the
// CLI keys; the part that decides the numbers of a row is written into results.json and compared on
// a rerun (resume), so rows measured under another recipe are never mixed into one table.
import type { ArgSchema, ArgSpec } from '../../cli/args.ts';
import { TRAIN_SCHEMA, defaultTrainConfig, checkTrainConfig, type TrainConfig } from '../../train/config.ts';

export const ERF_GRADS = ['relu', 'abs'] as const;
export const ERF_SCALES = ['pow', 'log', 'linear'] as const;
export type ErfGrad = (typeof ERF_GRADS)[number];
export type ErfScale = (typeof ERF_SCALES)[number];

/** the pseudo-scan of a model built without a `scan` override (its own scan, or no SSM: MambaOut) */
export const NO_SCAN = 'none';

/** TrainConfig keys an ablation row sets itself (per row) or that make no sense here */
const ROW_KEYS = ['task', 'model', 'data', 'seed', 'resume', 'weights', 'project', 'name', 'exist_ok', 'plots', 'val', 'save_period'] as const;
type RecipeKey = Exclude<keyof TrainConfig, (typeof ROW_KEYS)[number]>;

export type Recipe = Pick<TrainConfig, RecipeKey>;

export interface AblateConfig extends Recipe {
  /** backbones (timm-style names); several put e.g. a MambaOut baseline into the same table */
  model: string[];
  /** scan strategies; empty = every registered strategy the model accepts ('none' for scan-less families) */
  scans: string[];
  seeds: number[];
  out: string;
  /** ImageFolder root, or 'synth' = a synthetic set written into out/data */
  data: string;
  images: number;
  classes: number;
  flops224: boolean;
  bench_batch: number;
  bench_warmup: number;
  bench_steps: number;
  erf_images: number;
  erf_size: number;
  erf_grad: ErfGrad;
  erf_scale: ErfScale;
  path_size: number;
  force: boolean;
}

const spec = (type: ArgSpec['type'], dflt: unknown, help: string, choices?: readonly string[]): ArgSpec => ({ type, default: dflt, help, ...(choices ? { choices } : {}) });

/** The demo's short recipe (cli/demo.ts): no Mixup/RandAugment/erasing, whole-image crops, no EMA. */
const SHORT_RECIPE: Partial<Record<RecipeKey, unknown>> = {
  epochs: 5, batch: 16, imgsz: 32, lr: 1e-3, warmup_epochs: undefined, mixup: 0, cutmix: 0, auto_augment: '', reprob: 0,
  color_jitter: 0, scale: [1, 1], crop_pct: 1, drop_path: 0, model_ema: false, log_interval: 5,
};

function recipeSchema(): Record<RecipeKey, ArgSpec> {
  const out: Record<string, ArgSpec> = {};
  for (const [k, s] of Object.entries(TRAIN_SCHEMA)) {
    if ((ROW_KEYS as readonly string[]).includes(k)) continue;
    out[k] = k in SHORT_RECIPE ? { ...s, default: SHORT_RECIPE[k as RecipeKey] } : s;
  }
  out.warmup_epochs = { ...out.warmup_epochs, help: 'linear warmup epochs (default 1, or 0 when epochs=1)' };
  return out as Record<RecipeKey, ArgSpec>;
}

export const ABLATE_SCHEMA = {
  model: spec('list', ['test_vmamba'], 'backbone(s) to ablate (ssmv info lists them); a list puts them in one table'),
  scans: spec('list', [], `scan strategies (ssmv scans list); default: every one the model accepts; '${NO_SCAN}' = the model as registered`),
  seeds: spec('numbers', [0], 'seeds: one row per (scan, seed); mean and std over seeds in the summary'),
  out: spec('string', 'runs/ablate', 'output folder (rerun with the same out= resumes: finished rows are skipped)'),
  data: spec('string', 'synth', "ImageFolder root (<data>/train, <data>/val), or 'synth': synthetic shapes written into out/data"),
  images: spec('int', 400, 'synthetic images (train + val, 20% val) when data=synth'),
  classes: spec('int', 4, 'synthetic shape classes (2..8) when data=synth'),
  ...recipeSchema(),
  flops224: spec('boolean', false, 'also count FLOPs at 224x224 (besides imgsz)'),
  bench_batch: spec('int', 0, 'batch of the throughput and memory measurements (0 = batch)'),
  bench_warmup: spec('int', 2, 'untimed steps before timing (shader compilation, buffer pools)'),
  bench_steps: spec('int', 5, 'timed steps (training: forward + backward + clip + AdamW update; inference: forward)'),
  erf_images: spec('int', 16, 'validation images averaged into the ERF (VMamba/RepLKNet use 50)'),
  erf_size: spec('int', 0, 'input side for the ERF (0 = 4 x imgsz; VMamba uses 1024 for 224 models)'),
  erf_grad: spec('string', 'relu', 'per-pixel gradient kept: relu (VMamba/RepLKNet get_input_grad) or abs', ERF_GRADS),
  erf_scale: spec('string', 'pow', 'display scale, then / max: pow = x^0.2 (VMamba analyze/utils.py simpnorm), log = log10(x+1) (RepLKNet), linear', ERF_SCALES),
  path_size: spec('int', 0, 'map side of the scan-path pictures (0 = the first stage at imgsz, at least 8)'),
  force: spec('boolean', false, 'out/ holds an ablation with another configuration: delete its results and start over'),
} satisfies Record<keyof AblateConfig, ArgSpec> satisfies ArgSchema;

/** Keys that select rows or only affect how the run is carried out: they may change on a rerun. */
export const SELECTION_KEYS = ['model', 'scans', 'seeds', 'out', 'force', 'workers', 'log_interval'] as const;

export function defaultAblateConfig(): AblateConfig {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(ABLATE_SCHEMA)) out[k] = structuredClone(s.default);
  return out as unknown as AblateConfig;
}

/** Defaults filled in, derived values resolved (warmup, erf_size, bench_batch), bad values named. */
export function resolveAblateConfig(values: Partial<AblateConfig>): AblateConfig {
  const c = { ...defaultAblateConfig(), ...values } as AblateConfig;
  const bad = (key: string, msg: string): never => { throw new Error(`${key}: ${msg}`); };
  if (!c.model.length) bad('model', 'give at least one backbone, e.g. model=test_vmamba');
  if (!c.seeds.length) bad('seeds', 'give at least one seed, e.g. seeds=0,1,2');
  for (const s of c.seeds) if (!Number.isInteger(s) || s < 0) bad('seeds', `must be non-negative integers, got ${s}`);
  if (new Set(c.seeds).size !== c.seeds.length) bad('seeds', `repeats a seed: ${c.seeds.join(',')}`);
  const dupScan = c.scans.find((s, i) => c.scans.indexOf(s) !== i);
  if (dupScan) bad('scans', `lists '${dupScan}' twice`);
  const dupModel = c.model.find((s, i) => c.model.indexOf(s) !== i);
  if (dupModel) bad('model', `lists '${dupModel}' twice`);
  if (!c.out) bad('out', 'give the output folder');
  if (!c.data) bad('data', "give an ImageFolder root or 'synth'");
  if (c.data === 'synth') {
    if (c.classes < 2 || c.classes > 8) bad('classes', `must be 2..8, got ${c.classes}`);
    if (c.images < 2 * c.classes) bad('images', `must be at least 2 per class (${2 * c.classes}), got ${c.images}`);
    if (c.imgsz < 16) bad('imgsz', `synthetic images are at least 16 px, got ${c.imgsz}`);
  }
  if (c.warmup_epochs === undefined) c.warmup_epochs = Math.min(1, c.epochs - 1);
  if (c.bench_batch === 0) c.bench_batch = c.batch;
  if (c.erf_size === 0) c.erf_size = 4 * c.imgsz;
  if (c.bench_batch < 1) bad('bench_batch', `must be >= 1 (or 0 = batch), got ${c.bench_batch}`);
  if (c.bench_warmup < 0) bad('bench_warmup', `must be >= 0, got ${c.bench_warmup}`);
  if (c.bench_steps < 1) bad('bench_steps', `must be >= 1, got ${c.bench_steps}`);
  if (c.erf_images < 1) bad('erf_images', `must be >= 1, got ${c.erf_images}`);
  if (c.erf_size < 8) bad('erf_size', `must be >= 8 (or 0 = 4 x imgsz), got ${c.erf_size}`);
  if (c.path_size < 0) bad('path_size', `must be >= 0, got ${c.path_size}`);
  checkTrainConfig(trainConfigFor(c, c.model[0], 0, c.data, 'check'));
  return c;
}

/** The `ssmv train` config of one row (its run directory is out/runs/<name>). */
export function trainConfigFor(c: AblateConfig, model: string, seed: number, data: string, name: string, project = 'runs'): TrainConfig {
  const t = defaultTrainConfig() as unknown as Record<string, unknown>;
  for (const k of Object.keys(t)) if (k in c && !(ROW_KEYS as readonly string[]).includes(k)) t[k] = (c as unknown as Record<string, unknown>)[k];
  return { ...(t as unknown as TrainConfig), model, seed, data, project, name, exist_ok: true, plots: false, val: true, save_period: 0, resume: '', weights: '' };
}

/** The part of the config stored in results.json and compared on a rerun. */
export function comparableConfig(c: AblateConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (!(SELECTION_KEYS as readonly string[]).includes(k)) out[k] = v;
  return out;
}

/** Keys whose values differ between a stored comparable config and a new one (missing = differs). */
export function configDiff(saved: Record<string, unknown>, now: Record<string, unknown>): Array<{ key: string; saved: unknown; now: unknown }> {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])];
  return keys.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k])).map((key) => ({ key, saved: saved[key], now: now[key] }));
}
