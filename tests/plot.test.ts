// core/plot: pixels of decoded PNGs (rects, anti-aliased lines, circles, font), chart geometry,
// ticks and number formatting, atomic PNG writes.
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Canvas, decodePng, encodePng, writePng, lineChart, barChart, heatmap, gridOf, niceTicks, logTicks,
  formatNumber, formatTicks, parseColor, viridis, glyph, textWidth, seriesColor, type RGBA,
} from '../core/plot/index.ts';

const WHITE: RGBA = [255, 255, 255, 255];
const same = (a: RGBA, b: RGBA) => a.every((v, i) => Math.abs(v - b[i]) <= 1);
const roundTrip = (c: Canvas) => decodePng(encodePng(c));
function countColor(c: Canvas, color: RGBA, box = [0, 0, c.width, c.height]): number {
  let n = 0;
  for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) if (same(c.getPixel(x, y), color)) n++;
  return n;
}

test('fillRect fills exactly its pixels; the PNG round trip keeps every byte', (t) => {
  const c = new Canvas(20, 10);
  c.fillRect(2, 3, 5, 4, '#ff0000');
  const d = roundTrip(c);
  t.deepEqual([...d.data], [...c.data]);
  t.deepEqual(d.getPixel(2, 3), [255, 0, 0, 255]);
  t.deepEqual(d.getPixel(6, 6), [255, 0, 0, 255]);
  t.deepEqual(d.getPixel(7, 6), WHITE);
  t.deepEqual(d.getPixel(2, 7), WHITE);
  t.is(countColor(d, [255, 0, 0, 255]), 20);
});

test('a 1 px horizontal line at y = j + 0.5 fills row j only; a diagonal line is anti-aliased', (t) => {
  const c = new Canvas(30, 30);
  c.line(5, 10.5, 25, 10.5, 'black');
  const d = roundTrip(c);
  for (let x = 6; x < 25; x++) t.deepEqual(d.getPixel(x, 10), [0, 0, 0, 255]);
  for (let x = 0; x < 30; x++) {
    t.deepEqual(d.getPixel(x, 9), WHITE);
    t.deepEqual(d.getPixel(x, 11), WHITE);
  }
  const e = new Canvas(30, 30);
  e.line(2, 3, 27, 20, 'black', { width: 1.5 });
  const grays = new Set<number>();
  for (let y = 0; y < 30; y++) for (let x = 0; x < 30; x++) {
    const p = e.getPixel(x, y);
    if (p[0] > 0 && p[0] < 255) grays.add(p[0]);
  }
  t.true(grays.size > 10, `anti-aliasing gives intermediate grays (${grays.size} levels)`);
  t.deepEqual(e.getPixel(2, 27), WHITE);
});

test('dashed lines leave gaps of the requested length', (t) => {
  const c = new Canvas(60, 5);
  c.line(0, 2.5, 60, 2.5, 'black', { dash: [10, 10] });
  t.deepEqual(c.getPixel(4, 2), [0, 0, 0, 255]);
  t.deepEqual(c.getPixel(15, 2), WHITE);
  t.deepEqual(c.getPixel(25, 2), [0, 0, 0, 255]);
  t.deepEqual(c.getPixel(35, 2), WHITE);
});

test('circles: filled centre, partial edge, untouched outside', (t) => {
  const c = new Canvas(40, 40);
  c.fillCircle(20.5, 20.5, 10, '#0000ff');
  t.deepEqual(c.getPixel(20, 20), [0, 0, 255, 255]);
  t.deepEqual(c.getPixel(20, 3), WHITE);
  t.deepEqual(c.getPixel(29, 20), [0, 0, 255, 255]); // pixel centre 9 px away: inside
  // pixel centre exactly on the radius: half covered, half the white left
  t.deepEqual(c.getPixel(30, 20), [128, 128, 255, 255]);
  t.deepEqual(c.getPixel(31, 20), WHITE);
  const r = new Canvas(40, 40);
  r.strokeCircle(20.5, 20.5, 10, 'black', 2);
  t.deepEqual(r.getPixel(20, 20), WHITE);
  t.deepEqual(r.getPixel(30, 20), [0, 0, 0, 255]);
  t.deepEqual(r.getPixel(28, 20), WHITE);
});

test('text draws the font bitmap: ink pixels of "1" at scale 1 and 2, rotated text', (t) => {
  const g = glyph('1');
  const c = new Canvas(20, 20);
  c.text(3, 4, '1', 'black');
  t.is(countColor(c, [0, 0, 0, 255]), g.length);
  for (const [gc, gr] of g) t.deepEqual(c.getPixel(3 + gc, 4 + gr), [0, 0, 0, 255]);
  const c2 = new Canvas(20, 20);
  c2.text(0, 0, '1', 'black', { scale: 2 });
  t.is(countColor(c2, [0, 0, 0, 255]), 4 * g.length);
  const rot = new Canvas(20, 40);
  rot.text(5, 30, 'AB', 'black', { rotate: 90 });
  t.is(countColor(rot, [0, 0, 0, 255]), glyph('A').length + glyph('B').length);
  t.is(textWidth('AB'), 11);
  t.is(textWidth('AB', 2), 22);
  t.not(glyph('q'), glyph('?'), 'lowercase is in the font');
  t.is(glyph('\u00e9'), glyph('?'), 'unknown characters draw as ?');
});

test('colours: hex parsing, viridis ends, bad colours are rejected', (t) => {
  t.deepEqual(parseColor('#102030'), [16, 32, 48, 255]);
  t.deepEqual(parseColor('#10203080'), [16, 32, 48, 128]);
  t.deepEqual(viridis(0), [0x44, 0x01, 0x54, 255]);
  t.deepEqual(viridis(1), [0xfd, 0xe7, 0x25, 255]);
  t.throws(() => parseColor('red-ish'), { message: /cannot parse colour 'red-ish'/ });
});

test('ticks and number formats', (t) => {
  t.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.deepEqual(niceTicks(-0.5, 2.5), [-0.5, 0, 0.5, 1, 1.5, 2, 2.5]);
  t.deepEqual(logTicks(1e-6, 1e-2), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]);
  t.deepEqual(logTicks(1, 10), [1, 2, 5, 10]);
  t.is(formatNumber(0.25, 0.05), '0.25');
  t.is(formatNumber(1500, 500), '1500');
  t.is(formatNumber(2e-4), '2e-4');
  t.is(formatNumber(1.5e6), '1.5e+6');
  t.is(formatNumber(0), '0');
  // one style per axis: exponents everywhere once a tick needs one
  t.deepEqual(formatTicks([0, 2e-4, 4e-4, 6e-4, 8e-4, 1e-3, 1.2e-3], 2e-4), ['0', '2e-4', '4e-4', '6e-4', '8e-4', '1e-3', '1.2e-3']);
  t.deepEqual(formatTicks([0, 0.5, 1], 0.5), ['0', '0.5', '1.0']);
});

test('lineChart: an increasing series rises left to right in its colour; the legend shows it', (t) => {
  const c = roundTrip(lineChart([{ name: 'loss', y: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], markers: 0 }], { width: 400, height: 300, title: 'T', xLabel: 'epoch', yLabel: 'loss', legend: 'bottom-right' }));
  const blue = seriesColor(0);
  // mean row of the series' pixels in the left and right thirds of the image (legend is bottom-right)
  const meanRow = (x0: number, x1: number) => {
    let s = 0, n = 0;
    for (let y = 0; y < 200; y++) for (let x = x0; x < x1; x++) if (same(c.getPixel(x, y), blue)) { s += y; n++; }
    return n ? s / n : NaN;
  };
  const left = meanRow(60, 160), right = meanRow(250, 380);
  t.true(right < left - 50, `line rises (${left.toFixed(1)} -> ${right.toFixed(1)})`);
  t.true(countColor(c, blue, [200, 200, 400, 300]) > 20, 'legend swatch in the bottom-right');
  t.throws(() => lineChart([{ name: 'a', x: [0, 1], y: [1] }]), { message: /series 'a' has 2 x values and 1 y values/ });
});

test('barChart: bar heights are proportional to the values', (t) => {
  const c = barChart(['a', 'b'], [{ name: 'v', values: [1, 2], color: '#00ff00' }], { width: 300, height: 300 });
  const green: RGBA = [0, 255, 0, 255];
  const height = (x0: number, x1: number) => {
    let best = 0;
    for (let x = x0; x < x1; x++) {
      let n = 0;
      for (let y = 0; y < c.height; y++) if (same(c.getPixel(x, y), green)) n++;
      best = Math.max(best, n);
    }
    return best;
  };
  const mid = Math.floor(c.width / 2) + 20;
  const h1 = height(0, mid), h2 = height(mid, c.width);
  t.true(h1 > 20);
  t.true(Math.abs(h2 / h1 - 2) < 0.05, `ratio ${h2}/${h1}`);
});

test('heatmap: the min and max cells get the ends of viridis', (t) => {
  const c = heatmap([[0, 1], [2, 3]], { cell: 10, colorbar: false });
  // cells start at (8, 8); sample their centres
  t.deepEqual(c.getPixel(8 + 5, 8 + 5), viridis(0));
  t.deepEqual(c.getPixel(8 + 15, 8 + 15), viridis(1));
  t.throws(() => heatmap([[1, 2], [3]]), { message: /ragged rows/ });
});

test('gridOf places panels side by side; writePng is atomic and leaves no temp file', (t) => {
  const a = new Canvas(10, 10, '#ff0000'), b = new Canvas(10, 10, '#0000ff');
  const g = gridOf([a, b], 2, { gap: 2 });
  t.is(g.width, 26);
  t.deepEqual(g.getPixel(5, 5), [255, 0, 0, 255]);
  t.deepEqual(g.getPixel(18, 5), [0, 0, 255, 255]);
  const dir = mkdtempSync(join(tmpdir(), 'plot-'));
  writePng(join(dir, 'sub', 'g.png'), g);
  t.deepEqual(readdirSync(join(dir, 'sub')), ['g.png']);
  t.deepEqual([...decodePng(readFileSync(join(dir, 'sub', 'g.png'))).data], [...g.data]);
});
