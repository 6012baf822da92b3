// What a YOLO run writes beside its weights, in ultralytics' layout: results.csv (one row per epoch,
// ultralytics 8.2 column names), args.yaml (the resolved config), results.png (one small chart per
// column, as ultralytics' plot_results) and the per-epoch line printed to the console.
import { join } from 'node:path';
import { lineChart, gridOf, writePng } from '../../core/plot/index.ts';
import { writeFileAtomic } from '../checkpoint.ts';

/** results.csv columns of a detection run (ultralytics/engine/trainer.py save_metrics, 8.2.x) */
export const RESULT_COLUMNS = [
  'epoch', 'train/box_loss', 'train/cls_loss', 'train/dfl_loss', 'metrics/precision(B)', 'metrics/recall(B)',
  'metrics/mAP50(B)', 'metrics/mAP50-95(B)', 'val/box_loss', 'val/cls_loss', 'val/dfl_loss', 'lr/pg0', 'lr/pg1', 'lr/pg2',
] as const;

export type ResultRow = Record<(typeof RESULT_COLUMNS)[number], number>;

export function resultsCsv(rows: readonly ResultRow[]): string {
  const fmt = (k: string, v: number) => (k === 'epoch' ? String(v) : Number.isFinite(v) ? String(+v.toPrecision(6)) : 'nan');
  return [RESULT_COLUMNS.join(','), ...rows.map((r) => RESULT_COLUMNS.map((k) => fmt(k, r[k])).join(','))].join('\n') + '\n';
}

/** a flat YAML of scalars and lists (args.yaml) */
export function argsYaml(cfg: Record<string, unknown>): string {
  const scalar = (v: unknown): string => {
    if (v === null || v === undefined || v === '') return 'null';
    if (typeof v === 'string') return /^[\w./-]+$/.test(v) && !/^(true|false|null|yes|no|[-+.\d].*)$/i.test(v) ? v : JSON.stringify(v);
    return String(v);
  };
  return Object.entries(cfg).map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.map(scalar).join(', ')}]` : scalar(v)}`).join('\n') + '\n';
}

export function writeResults(dir: string, rows: readonly ResultRow[], plots: boolean): void {
  writeFileAtomic(join(dir, 'results.csv'), resultsCsv(rows));
  if (!plots || !rows.length) return;
  const x = rows.map((r) => r.epoch);
  const panels = RESULT_COLUMNS.slice(1, 11).map((k) => lineChart([{ name: k, x, y: rows.map((r) => r[k]) }], { width: 320, height: 220, title: k, xLabel: 'epoch', legend: 'none' }));
  writePng(join(dir, 'results.png'), gridOf(panels, 5));
}

const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : '-');

/** ultralytics' validation line: Class Images Instances Box(P R mAP50 mAP50-95) */
export function valLine(images: number, instances: number, p: number, r: number, m50: number, m: number): string {
  const head = `${'Class'.padStart(22)}${'Images'.padStart(11)}${'Instances'.padStart(11)}${'Box(P'.padStart(11)}${'R'.padStart(11)}${'mAP50'.padStart(11)}${'mAP50-95)'.padStart(11)}`;
  const row = `${'all'.padStart(22)}${String(images).padStart(11)}${String(instances).padStart(11)}${[p, r, m50, m].map((v) => f(v, 3).padStart(11)).join('')}`;
  return `${head}\n${row}`;
}

export function epochLine(r: ResultRow, epochs: number, seconds: number, best: boolean): string {
  return `epoch ${r.epoch}/${epochs}  box ${f(r['train/box_loss'])}  cls ${f(r['train/cls_loss'])}  dfl ${f(r['train/dfl_loss'])}  ` +
    `P ${f(r['metrics/precision(B)'], 3)}  R ${f(r['metrics/recall(B)'], 3)}  mAP50 ${f(r['metrics/mAP50(B)'], 3)}  mAP50-95 ${f(r['metrics/mAP50-95(B)'], 3)}  ` +
    `lr ${r['lr/pg1'].toExponential(2)}  ${seconds.toFixed(1)} s${best ? '  *best' : ''}`;
}
