// The ablation's report files in out/: results.csv (one line per row), results.md (the per-scan
// summary, mean ± sample std over seeds, and the settings), the PNGs (plots.ts) and report.html, which
// embeds every PNG as a base64 data URI and has no other asset, so it opens offline.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../train/checkpoint.ts';
import type { AblateConfig } from './config.ts';
import { writePlots, type PlotFiles } from './plots.ts';
import type { AblationRow, ResultsFile, ScanSummary, Stat } from './results.ts';

export interface ReportFiles {
  json: string;
  csv: string;
  md: string;
  html: string;
  plots: PlotFiles;
  /** every PNG, relative to out/ */
  pngs: string[];
}

const MIB = 1024 * 1024;

/** 1234567 -> '1.23 M' (SI prefix, three significant digits) */
export function si(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  const [d, p] = a >= 1e12 ? [1e12, 'T'] : a >= 1e9 ? [1e9, 'G'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'K'] : [1, ''];
  return `${(v / d).toPrecision(3)}${p ? ` ${p}` : ''}`;
}

/** 'mean ± std' with `digits` decimals; one seed: the mean alone */
export function pm(s: Stat | undefined, digits: number): string {
  if (!s) return '-';
  return s.std === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
}

export const CSV_COLUMNS = [
  'id', 'model', 'family', 'scan', 'seed', 'status', 'reason', 'directions', 'params', 'flops', 'flops224', 'top1', 'top5', 'val_loss', 'train_loss',
  'epochs_done', 'train_seconds', 'train_ips', 'infer_ips', 'peak_train_bytes', 'peak_infer_bytes', 'base_train_bytes', 'memory_field',
  'erf_size', 'erf_images', 'erf_r20', 'erf_r30', 'erf_r50', 'erf_r99', 'backend', 'run_dir',
] as const;

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? String(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: readonly AblationRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const flat: Record<string, unknown> = {
      ...r, erf_size: r.erf?.size, erf_images: r.erf?.images,
      erf_r20: r.erf?.ratios.r20, erf_r30: r.erf?.ratios.r30, erf_r50: r.erf?.ratios.r50, erf_r99: r.erf?.ratios.r99,
    };
    lines.push(CSV_COLUMNS.map((k) => csvCell(flat[k])).join(','));
  }
  return lines.join('\n') + '\n';
}

/** the settings in one sentence (markdown and html) */
export function settingsLine(cfg: AblateConfig, file: ResultsFile): string {
  const data = cfg.data === 'synth' ? `synthetic shapes (${cfg.images} images, ${cfg.classes} classes, 20% val)` : `ImageFolder '${cfg.data}'`;
  const be = file.backend ? `${file.backend.backend}${file.backend.adapter ? ` (${file.backend.adapter})` : ''}` : '?';
  return `${cfg.model.join(', ')} on ${data} at ${cfg.imgsz}x${cfg.imgsz}; ${cfg.epochs} epoch${cfg.epochs > 1 ? 's' : ''}, batch ${cfg.batch}, ` +
    `${cfg.optimizer} lr ${cfg.lr ?? `${cfg.lr_base} x batch / ${cfg.lr_base_size}`}, warmup ${cfg.warmup_epochs}, ${cfg.sched}; seeds ${cfg.seeds.join(', ')}; backend ${be}. ` +
    `Throughput: batch ${cfg.bench_batch} at ${cfg.imgsz}x${cfg.imgsz}, ${cfg.bench_warmup} warm-up + ${cfg.bench_steps} timed steps. ` +
    `ERF: ${cfg.erf_images} val images at ${cfg.erf_size}x${cfg.erf_size}, ${cfg.erf_grad}(grad), scale ${cfg.erf_scale}.`;
}

interface Column {
  head: string;
  cell(s: ScanSummary, models: number): string;
}

function columns(cfg: AblateConfig): Column[] {
  const cols: Column[] = [
    { head: 'model', cell: (s) => s.model },
    { head: 'scan', cell: (s) => s.scan },
    { head: 'K', cell: (s) => (s.directions === undefined || s.directions === null ? '-' : String(s.directions)) },
    { head: 'params', cell: (s) => si(s.params) },
    { head: `FLOPs@${cfg.imgsz}`, cell: (s) => si(s.flops) },
  ];
  if (cfg.flops224) cols.push({ head: 'FLOPs@224', cell: (s) => si(s.flops224) });
  cols.push(
    { head: 'top-1 %', cell: (s) => pm(s.top1, 2) },
    { head: 'train img/s', cell: (s) => pm(s.train_ips, 1) },
    { head: 'infer img/s', cell: (s) => pm(s.infer_ips, 1) },
    { head: 'peak train MiB', cell: (s) => pm(s.peak_train_mib, 2) },
    { head: 'peak infer MiB', cell: (s) => pm(s.peak_infer_mib, 2) },
    { head: 'ERF r50', cell: (s) => pm(s.erf_r50, 3) },
    { head: 'seeds', cell: (s) => String(s.seeds.length) },
    { head: 'status', cell: (s) => (s.reason ? `${s.status}: ${s.reason}` : s.status) },
  );
  return cols;
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** the per-scan summary as a markdown table (also what the CLI prints) */
export function summaryTable(file: ResultsFile, cfg: AblateConfig): string {
  const models = new Set(file.summary.map((s) => s.model)).size;
  const cols = columns(cfg);
  return [
    `| ${cols.map((c) => c.head).join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...file.summary.map((s) => `| ${cols.map((c) => mdEscape(c.cell(s, models))).join(' | ')} |`),
  ].join('\n');
}

export function toMarkdown(file: ResultsFile, cfg: AblateConfig): string {
  const field = file.summary.find((s) => s.memory_field)?.memory_field;
  const lines = [
    `# Scan ablation`,
    '',
    settingsLine(cfg, file),
    '',
    summaryTable(file, cfg),
    '',
    `Mean ± sample standard deviation over seeds. top-1: the model after the last epoch on the validation split. ` +
      `Peak memory: highest tf.memory().${field ?? 'numBytes'} sampled after every kernel of one step (${field === 'numBytesInGPU' ? 'GPU buffers in use' : 'bytes of all live tfjs tensors'}), weights and optimizer state included. ` +
      `FLOPs: one image, fvcore convention (eval/flops.ts). ERF r50: area of the smallest centred square holding 50% of the log10(x+1)-scaled ERF, as a fraction of the input (RepLKNet's high-contribution area ratio).`,
    '',
  ];
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function img(out: string, rel: string, alt: string): string {
  const b64 = readFileSync(join(out, rel)).toString('base64');
  return `<figure><img alt="${esc(alt)}" src="data:image/png;base64,${b64}"><figcaption>${esc(alt)}</figcaption></figure>`;
}

export function toHtml(out: string, file: ResultsFile, cfg: AblateConfig, plots: PlotFiles): string {
  const models = new Set(file.summary.map((s) => s.model)).size;
  const cols = columns(cfg);
  const table = `<table><thead><tr>${cols.map((c) => `<th>${esc(c.head)}</th>`).join('')}</tr></thead><tbody>` +
    file.summary.map((s) => `<tr class="${s.status}">${cols.map((c) => `<td>${esc(c.cell(s, models))}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
  const rowCols: Array<[string, (r: AblationRow) => string]> = [
    ['row', (r) => r.id], ['status', (r) => r.status + (r.reason ? `: ${r.reason}` : '')], ['top-1 %', (r) => r.top1?.toFixed(2) ?? '-'],
    ['train img/s', (r) => r.train_ips?.toFixed(1) ?? '-'], ['infer img/s', (r) => r.infer_ips?.toFixed(1) ?? '-'],
    ['peak train MiB', (r) => (r.peak_train_bytes === undefined ? '-' : (r.peak_train_bytes / MIB).toFixed(2))],
    ['ERF r50', (r) => (r.erf?.ratios.r50 === null || r.erf?.ratios.r50 === undefined ? '-' : r.erf.ratios.r50.toFixed(3))],
    ['train s', (r) => r.train_seconds?.toFixed(1) ?? '-'],
  ];
  const perRow = `<table><thead><tr>${rowCols.map(([h]) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    file.rows.map((r) => `<tr class="${r.status}">${rowCols.map(([, f]) => `<td>${esc(f(r))}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
  const figs: string[] = [];
  if (plots.scatter) figs.push('<h2>Accuracy against throughput</h2>', img(out, plots.scatter, 'top-1 against inference and training throughput (error bars: std over seeds)'));
  if (plots.metrics.length) figs.push('<h2>Metrics</h2>', '<div class="grid">', ...plots.metrics.map((m) => img(out, m.file, m.key)), '</div>');
  if (plots.erfGrid) figs.push('<h2>Effective receptive fields</h2>', img(out, plots.erfGrid, `ERF of every scan (${cfg.erf_scale} scale, normalised to 1)`));
  if (plots.erf.length) figs.push('<div class="grid">', ...plots.erf.map((e) => img(out, e.file, `ERF ${e.label}`)), '</div>');
  if (plots.paths.length) figs.push('<h2>Scan paths</h2>', '<div class="grid">', ...plots.paths.map((p) => img(out, p.file, `scan path: ${p.scan}`)), '</div>');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ssmv ablate: ${esc(cfg.model.join(', '))}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, td:nth-child(2) { text-align: left; }
tr.skipped td, tr.error td, tr.diverged td { color: #888; }
figure { display: inline-block; margin: 0.5em; } figcaption { font-size: 12px; color: #555; }
.grid { display: flex; flex-wrap: wrap; }
pre { background: #f7f7f7; padding: 1em; overflow: auto; font-size: 12px; }
</style></head><body>
<h1>Scan ablation: ${esc(cfg.model.join(', '))}</h1>
<p>${esc(settingsLine(cfg, file))}</p>
<h2>Summary (mean ± std over seeds)</h2>
${table}
${figs.join('\n')}
<h2>Rows</h2>
${perRow}
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(file.config, null, 2))}</pre>
</body></html>
`;
}

/** Writes results.csv, results.md, the PNGs and report.html (results.json is the runner's). */
export function writeReports(out: string, file: ResultsFile, cfg: AblateConfig): ReportFiles {
  const plots = writePlots(out, file.rows, file.summary, cfg);
  writeFileAtomic(join(out, 'results.csv'), toCsv(file.rows));
  writeFileAtomic(join(out, 'results.md'), toMarkdown(file, cfg));
  writeFileAtomic(join(out, 'report.html'), toHtml(out, file, cfg, plots));
  const pngs = [plots.scatter, ...plots.metrics.map((m) => m.file), plots.erfGrid, ...plots.erf.map((e) => e.file), ...plots.paths.map((p) => p.file)].filter((p): p is string => !!p);
  return { json: 'results.json', csv: 'results.csv', md: 'results.md', html: 'report.html', plots, pngs };
}

