// The rows of an ablation and their per-scan summary (mean and sample standard deviation over seeds),
// and results.json: { version, config (the comparable part), rows, summary }. The file is rewritten
// atomically after every row, so an interrupted ablation keeps every finished row.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../train/checkpoint.ts';

export type RowStatus = 'done' | 'skipped' | 'diverged' | 'error';

export interface ErfSummary {
  /** input side the ERF was measured at, and the last-stage map whose centre was taken */
  size: number;
  feature: [number, number];
  images: number;
  nanImages: number;
  grad: string;
  scale: string;
  /** RepLKNet's high-contribution area ratios (log10(x+1)-scaled map; null: no square reached it) */
  ratios: Record<string, number | null>;
  /** raw mean map (out/erf/<id>.json) */
  file: string;
}

export interface AblationRow {
  /** `<model>/<scan>/seed<seed>`, or `<model>/<scan>` for a skipped scan */
  id: string;
  model: string;
  family: string;
  scan: string;
  seed: number | null;
  status: RowStatus;
  /** why a scan was skipped / the error / the divergence message */
  reason?: string;
  /** scan directions K (null for 'none') */
  directions?: number | null;
  params?: number;
  /** fvcore-convention FLOPs of one image at imgsz (and at 224 with flops224) */
  flops?: number;
  flops224?: number | null;
  /** percent, after the last epoch (the model, not an EMA) */
  top1?: number;
  top5?: number;
  val_loss?: number;
  train_loss?: number;
  epochs_done?: number;
  train_seconds?: number;
  train_ips?: number;
  infer_ips?: number;
  /** peak bytes of one training / inference step, and which tf.memory() field was sampled */
  peak_train_bytes?: number;
  peak_infer_bytes?: number;
  /** bytes in use before the training step (weights + optimizer state + inputs) */
  base_train_bytes?: number;
  memory_field?: string;
  erf?: ErfSummary;
  backend?: string;
  adapter?: string | null;
  /** the row's `ssmv train` run directory, relative to out/ */
  run_dir?: string;
  /** the resolved `ssmv train` config of the row (plus the scan), as given to trainClassifier */
  config?: Record<string, unknown>;
  finished_at?: string;
}

export interface Stat {
  mean: number;
  std: number | null;
  n: number;
}

export interface ScanSummary {
  model: string;
  scan: string;
  status: 'done' | 'skipped' | 'partial' | 'diverged' | 'error' | 'pending';
  reason?: string;
  seeds: number[];
  directions?: number | null;
  params?: number;
  flops?: number;
  flops224?: number | null;
  top1?: Stat;
  top5?: Stat;
  train_ips?: Stat;
  infer_ips?: Stat;
  peak_train_mib?: Stat;
  peak_infer_mib?: Stat;
  erf_r50?: Stat;
  memory_field?: string;
}

export interface ResultsFile {
  version: 1;
  tool: 'ssmv ablate';
  config: Record<string, unknown>;
  backend: { backend: string; adapter: string | null } | null;
  rows: AblationRow[];
  summary: ScanSummary[];
}

export const rowId = (model: string, scan: string, seed: number | null): string => (seed === null ? `${model}/${scan}` : `${model}/${scan}/seed${seed}`);

/** a row that a rerun does not redo (errors are retried) */
export const isFinished = (r: AblationRow): boolean => r.status === 'done' || r.status === 'skipped' || r.status === 'diverged';

/** mean and sample standard deviation (n - 1, as numpy's std(ddof=1)); std null for one value */
export function stat(values: readonly number[]): Stat | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) return undefined;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : null;
  return { mean, std, n: v.length };
}

const MIB = 1024 * 1024;

/** One summary per (model, scan), in the order the rows first appear. */
export function summarize(rows: readonly AblationRow[], expectedSeeds: readonly number[] = []): ScanSummary[] {
  const groups = new Map<string, AblationRow[]>();
  for (const r of rows) {
    const k = `${r.model}\u0000${r.scan}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const out: ScanSummary[] = [];
  for (const rs of groups.values()) {
    const { model, scan } = rs[0];
    const skipped = rs.find((r) => r.status === 'skipped');
    if (skipped) {
      out.push({ model, scan, status: 'skipped', reason: skipped.reason, seeds: [] });
      continue;
    }
    const done = rs.filter((r) => r.status === 'done');
    const num = (f: (r: AblationRow) => number | undefined) => done.map(f).filter((v): v is number => v !== undefined);
    const any = done[0] ?? rs.find((r) => r.params !== undefined) ?? rs[0];
    const missing = expectedSeeds.filter((s) => !rs.some((r) => r.seed === s && isFinished(r)));
    const failed = rs.filter((r) => r.status === 'error' || r.status === 'diverged');
    let status: ScanSummary['status'] = 'done';
    if (!done.length) status = failed.some((r) => r.status === 'error') ? 'error' : failed.length ? 'diverged' : 'pending';
    else if (failed.length || missing.length) status = 'partial';
    out.push({
      model, scan, status,
      ...(failed.length ? { reason: failed.map((r) => `seed ${r.seed}: ${r.reason}`).join('; ') } : {}),
      seeds: done.map((r) => r.seed!).sort((a, b) => a - b),
      directions: any.directions, params: any.params, flops: any.flops, flops224: any.flops224,
      top1: stat(num((r) => r.top1)), top5: stat(num((r) => r.top5)),
      train_ips: stat(num((r) => r.train_ips)), infer_ips: stat(num((r) => r.infer_ips)),
      peak_train_mib: stat(num((r) => (r.peak_train_bytes === undefined ? undefined : r.peak_train_bytes / MIB))),
      peak_infer_mib: stat(num((r) => (r.peak_infer_bytes === undefined ? undefined : r.peak_infer_bytes / MIB))),
      erf_r50: stat(num((r) => r.erf?.ratios.r50 ?? undefined)),
      memory_field: any.memory_field,
    });
  }
  return out;
}

export function resultsPath(out: string): string {
  return join(out, 'results.json');
}

export function readResults(out: string): ResultsFile | null {
  const p = resultsPath(out);
  if (!existsSync(p)) return null;
  let parsed: ResultsFile;
  try {
    parsed = JSON.parse(readFileSync(p, 'utf8')) as ResultsFile;
  } catch (e) {
    throw new Error(`out: '${p}' is not valid JSON (${(e as Error).message}); move it away or use --force`);
  }
  if (parsed.tool !== 'ssmv ablate' || parsed.version !== 1 || !Array.isArray(parsed.rows)) {
    throw new Error(`out: '${p}' is not an ssmv ablate results file (version 1); use another out= or --force`);
  }
  return parsed;
}

export function writeResults(out: string, file: ResultsFile): void {
  writeJsonAtomic(resultsPath(out), file);
}
