// `ssmv scans list|show` and the plan pictures: listed strategies and options, PNG geometry and the
// pixels at the start / end of a path, and errors for bad input.
import test from 'ava';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';
import { scans } from '../scans/index.ts';
import { decodePng, viridis } from '../core/plot/index.ts';
import { drawPlans } from '../scans/draw.ts';

const dir = mkdtempSync(join(tmpdir(), 'ssmv-scans-'));

/** Runs the CLI in-process, capturing stdout and stderr. */
async function ssmv(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

const near = (a: readonly number[], b: readonly number[], tol = 40) => a.slice(0, 3).every((v, i) => Math.abs(v - b[i]) <= tol);

test.serial('scans list prints every strategy with K, directions and options; --json matches the registry', async (t) => {
  const r = await ssmv('scans', 'list');
  t.is(r.code, 0, r.err);
  for (const name of scans.names()) t.regex(r.out, new RegExp(`^${name}  K=${scans.get(name).directions()}  merge=`, 'm'));
  t.regex(r.out, /^ {4}1: column-major$/m, 'cross direction 1');
  t.regex(r.out, /--directions +list +default \["h","h_flip","w7","w7_flip"\]/, 'window options with defaults');
  const j = await ssmv('scans', 'list', '--json', '--size', '6x4');
  const all = JSON.parse(j.out) as Array<{ name: string; K: number; directions: string[]; upstream: string }>;
  t.deepEqual(all.map((s) => s.name), scans.names());
  for (const s of all) t.true(s.K === scans.get(s.name).directions() && (s.directions.length >= 1 || s.name === 'window'), s.name);
  t.regex((all.find((s) => s.name === 'window') as { error?: string }).error ?? '', /window 7 of 'w7' is larger than the 6x4 map/, 'a default that does not fit is reported, not fatal');
  t.deepEqual(all.find((s) => s.name === 'multiscale')!.directions, ['full resolution: row-major [6x4, L=24]', '3x2: reversed row-major + column-major + reversed column-major [3x2, L=18]']);
});

test.serial('scans show writes one labelled panel per direction; the path starts dark at its first cell and ends light at its last', async (t) => {
  const out = join(dir, 'cross.png');
  const r = await ssmv('scans', 'show', 'cross', '--size', '4x5', '--cell', '40', '--out', out);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /wrote .*cross\.png: 4 directions of 'cross' on 4x5/);
  const img = decodePng(readFileSync(out));
  // layout: title band 36 px, grid gap 8, panel margin 8, label 14, cell 40; panels of 5*40 + 16 px
  // (wider than the longest label, 'reversed column-major')
  const panelW = 5 * 40 + 16;
  t.is(img.width, 4 * panelW + 5 * 8);
  const centre = (panel: number, h: number, w: number): [number, number] => [8 + panel * (panelW + 8) + 8 + w * 40 + 20, 36 + 8 + 8 + 14 + h * 40 + 20];
  const dark = viridis(0), light = viridis(0.9);
  // row-major starts at (0, 0) and ends at (3, 4); column-major ends at (3, 4) coming down column 4
  t.true(near(img.getPixel(...centre(0, 0, 0)), dark), `start dot ${img.getPixel(...centre(0, 0, 0))}`);
  const [ex, ey] = centre(0, 3, 4);
  t.true(near(img.getPixel(ex - 12, ey), light), `arrow into the last cell ${img.getPixel(ex - 6, ey)}`);
  t.true(near(img.getPixel(...centre(2, 3, 4)), dark), 'reversed row-major starts at the last cell');
  const [cx, cy] = centre(1, 3, 4);
  t.true(near(img.getPixel(cx, cy - 12), light), 'column-major enters (3, 4) from above');
  // the map has no row 4: below the grid the panel is white
  t.deepEqual([...img.getPixel(centre(0, 0, 0)[0], centre(0, 3, 0)[1] + 30)], [255, 255, 255, 255]);
});

test('drawing skips zero tokens and rejects bad cells', (t) => {
  const plans = scans.get('window').plans(3, 3, { directions: ['w2'] });
  const c = drawPlans(plans, { cell: 10 });
  t.true(c.width > 3 * 10 && c.height > 3 * 10);
  t.throws(() => drawPlans(plans, { cell: 1 }), { message: /cell must be an integer >= 2/ });
  t.throws(() => drawPlans([]), { message: /no plans/ });
});

test.serial('scans show: bad input fails with a message and exit code', async (t) => {
  const png = join(dir, 'x.png');
  let r = await ssmv('scans', 'show', 'hilbret', '--out', png);
  t.is(r.code, 1);
  t.regex(r.err, /unknown scan 'hilbret' \(did you mean hilbert\?\)/);
  r = await ssmv('scans', 'show', 'cross', '--size', '4x4');
  t.is(r.code, 2);
  t.regex(r.err, /--out is required/);
  r = await ssmv('scans', 'show', 'cross', '--size', '0x4', '--out', png);
  t.is(r.code, 2);
  t.regex(r.err, /size: expected HxW with positive integers/);
  r = await ssmv('scans', 'show', 'window', '--directons', 'h', '--out', png);
  t.is(r.code, 2);
  t.regex(r.err, /unknown key 'directons' .*did you mean directions/);
  r = await ssmv('scans', 'show', 'window', '--size', '3x4', '--out', png);
  t.is(r.code, 1);
  t.regex(r.err, /window 7 of 'w7' is larger than the 3x4 map; use windows of at most 3/);
  r = await ssmv('scans', 'show', 'window', '--size', '3x4', '--directions', 'h,w2', '--merge', 'avg', '--out', png);
  t.is(r.code, 2);
  t.regex(r.err, /merge: 'avg' is not one of sum, biattn/);
  r = await ssmv('scans', 'show', 'cross', '--out', join(dir, 'x.jpg'));
  t.is(r.code, 2);
  t.false(existsSync(png), 'nothing written on failure');
  r = await ssmv('scans', 'draw');
  t.is(r.code, 2);
  t.regex(r.err, /unknown subcommand 'draw'/);
});
