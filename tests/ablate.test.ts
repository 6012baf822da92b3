// `ssmv ablate` end to end on cpu: test_vmamba under three scans (and 'window', which a 4x4 first
// stage cannot take: a skipped row with the family's reason), two seeds, one epoch of 32 images at
// 16 px. Checks every output file against the others and against the trainer's own files, that the
// PNGs decode and the HTML embeds them, that a rerun skips finished rows, that a lost row is redone
// from its run's `last` checkpoint, and the errors for a changed config and unknown names.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { main } from '../cli/main.ts';
import { setBackend } from '../core/backend.ts';
import { createModel } from '../backbones/index.ts';
import { scaleErf, areaRatios } from '../eval/ablate/erf.ts';
import type { AblationRow, ResultsFile } from '../eval/ablate/results.ts';

const dir = mkdtempSync(join(tmpdir(), 'ssmv-ablate-'));
const out = join(dir, 'abl');
const SCANS = ['cross', 'hilbert', 'atrous'];
const ARGS = [
  'ablate', 'model=test_vmamba', `scans=${[...SCANS, 'window'].join(',')}`, 'seeds=0,1', 'epochs=1', 'imgsz=16', 'images=40', 'classes=2',
  'batch=16', 'backend=cpu', 'workers=0', 'bench_batch=4', 'bench_warmup=1', 'bench_steps=1', 'erf_images=4', 'erf_size=32', `out=${out}`,
];

async function ssmv(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let o = '', e = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((o += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((e += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out: o, err: e };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;
const sampleStd = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

let first: ResultsFile;

test.serial('an ablation of test_vmamba (3 scans + 1 refused, 2 seeds, 1 epoch, cpu) writes consistent results', async (t) => {
  const r = await ssmv(...ARGS);
  t.is(r.code, 0, r.err + r.out);
  t.regex(r.out, /6 rows run, 0 reused/);
  first = readJson<ResultsFile>(join(out, 'results.json'));
  const done = first.rows.filter((x) => x.status === 'done');
  t.deepEqual(done.map((x) => x.id).sort(), SCANS.flatMap((s) => [0, 1].map((seed) => `test_vmamba/${s}/seed${seed}`)).sort());
  const skipped = first.rows.filter((x) => x.status === 'skipped');
  t.is(skipped.length, 1);
  t.is(skipped[0].id, 'test_vmamba/window');
  t.regex(skipped[0].reason!, /at imgsz=16: scan 'window': window 7 of 'w7' is larger than the 4x4 map/);

  await setBackend('cpu');
  for (const row of done) {
    // top-1 is the trainer's last epoch, as its metrics.csv says
    const csv = readFileSync(join(out, row.run_dir!, 'metrics.csv'), 'utf8').trim().split('\n');
    const head = csv[0].split(','), last = csv[csv.length - 1].split(',');
    t.is(row.top1, 100 * Number(last[head.indexOf('metrics/accuracy_top1')]), row.id);
    t.is(row.epochs_done, 1);
    // the scan really reached the model: parameters as createModel with that scan counts them
    const m = createModel('test_vmamba', { scan: row.scan, num_classes: 2 });
    t.is(row.params, m.numParams(), row.id);
    m.dispose();
    t.is(row.directions, 4);
    t.true(row.flops! > 0 && row.train_ips! > 0 && row.infer_ips! > 0, row.id);
    t.is(row.memory_field, 'numBytes');
    t.true(row.peak_train_bytes! > row.base_train_bytes! && row.base_train_bytes! > 0 && row.peak_infer_bytes! > 0, row.id);
    t.is((row.config as { scan: string }).scan, row.scan);
    t.is((row.config as { seed: number }).seed, row.seed!);
    t.is(row.run_dir, `runs/test_vmamba-${row.scan}-s${row.seed}`);
    t.like(row.config, { data: 'data', project: 'runs' });
    // the ERF summary is the one of the stored raw map
    const erf = readJson<{ H: number; W: number; images: number; map: number[] }>(join(out, row.erf!.file));
    t.is(erf.H, 32);
    t.is(erf.map.length, 32 * 32);
    t.is(row.erf!.images, 4);
    t.true(erf.map.every((v) => v >= 0) && erf.map.some((v) => v > 0), 'relu(grad) maps are non-negative and not all zero');
    t.deepEqual(row.erf!.ratios, areaRatios(scaleErf(erf.map, 'log'), 32, 32), 'RepLKNet: ratios of the log10(x+1) map');
  }
  // FLOPs differ where the scan does (atrous projects only the visited positions) and agree otherwise
  const flops = (s: string) => done.find((x) => x.scan === s)!.flops!;
  t.is(flops('cross'), flops('hilbert'));
  t.not(flops('atrous'), flops('cross'));

  // summary: mean and sample std over the two seeds
  for (const s of SCANS) {
    const sum = first.summary.find((x) => x.scan === s)!;
    const rows = done.filter((x) => x.scan === s);
    t.is(sum.status, 'done');
    t.deepEqual(sum.seeds, [0, 1]);
    for (const [k, f] of [['top1', (x: AblationRow) => x.top1!], ['train_ips', (x: AblationRow) => x.train_ips!]] as const) {
      const v = rows.map(f);
      const st = sum[k]!;
      t.true(Math.abs(st.mean - (v[0] + v[1]) / 2) < 1e-9, `${s} ${k} mean`);
      t.true(Math.abs(st.std! - sampleStd(v)) < 1e-9, `${s} ${k} std`);
    }
  }
  t.is(first.summary.find((x) => x.scan === 'window')!.status, 'skipped');

  // csv: one line per row, same numbers as the JSON
  const lines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  t.is(lines.length, 1 + first.rows.length);
  const cols = lines[0].split(',');
  for (const line of lines.slice(1)) {
    const id = line.split(',')[0];
    const row = first.rows.find((x) => x.id === id)!;
    t.truthy(row, id);
    if (row.status === 'done') t.is(Number(line.split(',')[cols.indexOf('top1')]), row.top1!, id);
  }
  // markdown: one table line per scan, the skip reason, mean ± std
  const md = readFileSync(join(out, 'results.md'), 'utf8');
  for (const s of [...SCANS, 'window']) t.regex(md, new RegExp(`^\\| test_vmamba \\| ${s} \\|`, 'm'));
  t.regex(md, /\| skipped: at imgsz=16: scan 'window'/);
  const cross = first.summary.find((x) => x.scan === 'cross')!;
  t.true(md.includes(`${cross.top1!.mean.toFixed(2)} ± ${cross.top1!.std!.toFixed(2)}`));

  // every PNG decodes; the HTML embeds each one and loads nothing from outside
  const pngs = [
    'plots/accuracy-vs-throughput.png', 'plots/erf.png', ...['top1', 'train_ips', 'infer_ips', 'peak_train_mib', 'peak_infer_mib', 'params', 'flops', 'erf_r50'].map((k) => `plots/${k}.png`),
    ...SCANS.map((s) => `erf/test_vmamba-${s}.png`), ...SCANS.map((s) => `paths/${s}.png`),
  ];
  t.false(existsSync(join(out, 'paths/window.png')));
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const p of pngs) {
    const bytes = readFileSync(join(out, p));
    const img = PNG.sync.read(bytes);
    t.true(img.width > 50 && img.height > 50, p);
    t.true(html.includes(`data:image/png;base64,${bytes.toString('base64')}`), `report.html embeds ${p}`);
  }
  t.is((html.match(/<img /g) ?? []).length, pngs.length);
  t.notRegex(html, /(src|href)="(?!data:)/, 'no external assets');
});

test.serial('a rerun skips finished rows; a row lost from results.json is redone from its run checkpoint', async (t) => {
  t.truthy(first, 'needs the first test');
  const r = await ssmv(...ARGS);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /0 rows run, 7 reused/);
  t.deepEqual(readJson<ResultsFile>(join(out, 'results.json')).rows, first.rows);

  // as after an interruption between the end of training and the results write: the run has `last`
  const lost = first.rows.find((x) => x.id === 'test_vmamba/hilbert/seed1')!;
  const file = readJson<ResultsFile>(join(out, 'results.json'));
  writeFileSync(join(out, 'results.json'), JSON.stringify({ ...file, rows: file.rows.filter((x) => x.id !== lost.id) }));
  const r2 = await ssmv(...ARGS);
  t.is(r2.code, 0, r2.err);
  t.regex(r2.out, /1 row run, 6 reused/);
  const again = readJson<ResultsFile>(join(out, 'results.json')).rows.find((x) => x.id === lost.id)!;
  t.is(again.top1, lost.top1, 'resumed from the finished run: same weights, same top-1');
  t.is(again.val_loss, lost.val_loss);
  t.deepEqual(again.erf!.ratios, lost.erf!.ratios);
  t.true(readFileSync(join(out, lost.run_dir!, 'train.log'), 'utf8').includes('resumed from'), 'the trainer resumed, it did not start over');
});

test.serial('a changed recipe is an error naming the key; --force starts over', async (t) => {
  t.truthy(first, 'needs the first test');
  const before = readFileSync(join(out, 'results.json'), 'utf8');
  const r = await ssmv(...ARGS.map((a) => (a === 'epochs=1' ? 'epochs=2' : a)));
  t.is(r.code, 1);
  t.regex(r.err, /out: '.*abl' holds an ablation made with epochs=1; this run has epochs=2.*--force/);
  t.is(readFileSync(join(out, 'results.json'), 'utf8'), before, 'nothing changed');
  // selection keys may change: another scan list only adds or reuses rows (window: probe only)
  const sel = await ssmv(...ARGS.map((a) => (a.startsWith('scans=') ? 'scans=window' : a)));
  t.is(sel.code, 0, sel.err);
  t.regex(sel.out, /0 rows run, 1 reused/);
  const forced = await ssmv(...ARGS.map((a) => (a === 'epochs=1' ? 'epochs=2' : a.startsWith('scans=') ? 'scans=window' : a)), '--force');
  t.is(forced.code, 0, forced.err);
  const now = readJson<ResultsFile>(join(out, 'results.json'));
  t.deepEqual(now.rows.map((x) => x.id), ['test_vmamba/window']);
  t.is(now.config.epochs, 2);
  t.false(existsSync(join(out, 'runs')), 'the old run directories are gone');
  t.deepEqual(readdirSync(join(out, 'data')).sort(), ['synth.json', 'train', 'val']);
});

test.serial('unknown names fail before anything is written, with close matches', async (t) => {
  const o2 = join(dir, 'never');
  const a = await ssmv('ablate', 'scans=cross,hilbrt', `out=${o2}`, 'backend=cpu');
  t.is(a.code, 1);
  t.regex(a.err, /scans: unknown scan strategy 'hilbrt' \(did you mean hilbert\?\)/);
  const b = await ssmv('ablate', 'model=test_vmamb', `out=${o2}`, 'backend=cpu');
  t.regex(b.err, /model: unknown backbone 'test_vmamb' \(did you mean test_vmamba/);
  const c = await ssmv('ablate', 'seedz=1', `out=${o2}`);
  t.is(c.code, 2);
  t.regex(c.err, /unknown key 'seedz' for ssmv ablate \(did you mean seeds\?\)/);
  const d = await ssmv('ablate', 'seeds=1,1', `out=${o2}`);
  t.is(d.code, 2);
  t.regex(d.err, /seeds: repeats a seed: 1,1/);
  const e = await ssmv('ablate', `data=${join(dir, 'nope')}`, `out=${o2}`, 'backend=cpu');
  t.is(e.code, 1);
  t.regex(e.err, /data: folder '.*nope' does not exist/);
  t.false(existsSync(o2));
});
