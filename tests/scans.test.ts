// Scan plans, generated from the registry: validity per strategy, the orders of the official code
// (tests/fixtures/scans/official-orders.json, made by derive-orders.py running the upstream functions),
// Hilbert adjacency, bad input. Host-only (no tensors).
import test from 'ava';
import { readFileSync, existsSync } from 'node:fs';
import { scans } from '../scans/index.ts';
import { routeOf, moveCodes } from '../scans/routes.ts';
import { gilbert2d, hilbertHasDiagonal } from '../scans/hilbert.ts';
import { officialReverse } from '../scans/window.ts';
import { lbmWindow } from '../scans/local-bidirectional.ts';
import type { ScanPlan } from '../scans/plan.ts';

const F = JSON.parse(readFileSync(new URL('./fixtures/scans/official-orders.json', import.meta.url), 'utf8'));
const SIZES: Array<[number, number]> = [[1, 1], [1, 5], [5, 1], [2, 2], [3, 4], [4, 4], [5, 3], [4, 6], [5, 7], [7, 7], [9, 13], [14, 14]];
const rows = (p: ScanPlan) => Array.from({ length: p.K }, (_, k) => routeOf(p, k));

/**
 * How each strategy covers the map, as it defines (a strategy missing here fails the test):
 * 'permutation' every direction visits every position exactly once (zero tokens allowed);
 * 'partition' every position is visited by exactly one direction, once (atrous);
 * 'multiscale' plan 0 a permutation of the map, plan 1 visits each low-res position `routes` times.
 */
const COVERAGE: Record<string, { kind: 'permutation' | 'partition' | 'multiscale'; options?: Record<string, unknown>; minSize?: number }> = {
  cross: { kind: 'permutation' },
  bidirectional: { kind: 'permutation' },
  zigzag: { kind: 'permutation' },
  atrous: { kind: 'partition' },
  hilbert: { kind: 'permutation', options: { directions: 4 } },
  multihead: { kind: 'permutation', minSize: 2 },
  'local-bidirectional': { kind: 'permutation' },
  window: { kind: 'permutation', options: { directions: ['h', 'v_flip', 'w2', 'w3_flip', 'w7'], allow_oversize: true } },
  multiscale: { kind: 'multiscale' },
  grouped: { kind: 'permutation' },
};

function visits(plan: ScanPlan, k?: number): Int32Array {
  const v = new Int32Array(plan.H * plan.W);
  for (let d = 0; d < plan.K; d++) {
    if (k !== undefined && d !== k) continue;
    for (let t = 0; t < plan.L; t++) {
      const p = plan.index[d * plan.L + t];
      if (p >= 0) v[p]++;
    }
  }
  return v;
}

test('every registered strategy has a coverage rule, a paper, an upstream commit and a file of its name', (t) => {
  t.deepEqual(scans.names(), Object.keys(COVERAGE).sort());
  for (const [name, s] of scans.entriesList()) {
    t.is(s.name, name);
    t.true(existsSync(new URL(`../scans/${name}.ts`, import.meta.url)), `scans/${name}.ts`);
    t.regex(s.paper, /arXiv \d{4}\.\d{5}/, `${name} paper names its arXiv id`);
    t.regex(s.upstream, /^[\w-]+\/[\w.-]+@[0-9a-f]{7}/, `${name} upstream names owner/repo@commit`);
    for (const [k, spec] of Object.entries(s.options)) t.not(spec.default, undefined, `${name}.${k} has a default`);
  }
});

for (const [name, cov] of Object.entries(COVERAGE)) {
  test(`${name}: plans are valid on every size, K as declared, cached`, (t) => {
    const s = scans.get(name);
    for (const [H, W] of SIZES) {
      if (H * W < (cov.minSize ?? 1)) continue;
      const plans = s.plans(H, W, cov.options);
      t.is(s.plans(H, W, cov.options), plans, 'cached per (H, W, options)');
      const K = s.directions(cov.options);
      for (const p of plans) {
        t.is(p.strategy, name);
        t.is(p.directions.length, p.K);
        t.is(p.index.length, p.K * p.L);
      }
      if (cov.kind === 'multiscale') {
        const [full, low] = plans;
        t.is(K, 2, 'two parameter groups');
        t.deepEqual([full.H, full.W, full.K, full.L], [H, W, 1, H * W]);
        t.deepEqual([low.H, low.W], [Math.ceil(H / 2), Math.ceil(W / 2)]);
        t.true(visits(full).every((v) => v === 1));
        t.true(visits(low).every((v) => v === 3), `${H}x${W}: each low-res position 3 times`);
        continue;
      }
      t.is(plans.length, 1);
      const p = plans[0];
      t.deepEqual([p.H, p.W, p.K], [H, W, K]);
      if (cov.kind === 'partition') {
        t.true(visits(p).every((v) => v === 1), `${H}x${W}: one visit per position over all directions`);
      } else {
        for (let k = 0; k < p.K; k++) t.true(visits(p, k).every((v) => v === 1), `${H}x${W} direction ${k}: every position once`);
        const pads = p.index.filter((i) => i < 0).length;
        if (name !== 'window') t.is(pads, 0, 'no zero tokens');
      }
    }
  });
}

test('orders equal the official code on 3x4, 4x4, 5x3, 4x6, 5x7, 7x7', (t) => {
  for (const [H, W] of F.sizes as Array<[number, number]>) {
    const key = `${H}x${W}`;
    t.deepEqual(rows(scans.get('cross').plan(H, W)), F.cross[key].index, `cross ${key}`);
    t.true(F.cross[key].merge_is_sum_of_inverses, 'official cross_merge sums the inverses');
    t.deepEqual(rows(scans.get('atrous').plan(H, W)), F.atrous[key].index, `atrous ${key}`);
    t.true(F.atrous[key].merge_is_inverse);
    const [full, low] = scans.get('multiscale').plans(H, W);
    t.deepEqual(rows(full), F.multiscale[key].full_res_index, `multiscale full ${key}`);
    t.deepEqual(rows(low), F.multiscale[key].index, `multiscale low-res ${key}`);
    t.deepEqual([low.H, low.W], F.multiscale[key].low_res);
    const zz = scans.get('zigzag').plan(H, W);
    t.deepEqual(rows(zz), F.zigzag[key].index, `zigzag ${key}`);
    t.deepEqual(rows(zz).map((r) => moveCodes(r, W)), F.zigzag[key].codes, `zigzag move codes ${key}`);
    t.deepEqual(rows(scans.get('grouped').plan(H, W)), F.grouped[key].index, `grouped ${key}`);
    const mh = rows(scans.get('multihead').plan(H, W));
    t.deepEqual(mh, ['C', 'X', 'S', 'Z'].flatMap((c) => F.multihead[key][c].index), `multihead ${key}`);
    t.deepEqual(rows(scans.get('multihead').plan(H, W, { heads: 3 })), mh.slice(0, 12));
    t.deepEqual(rows(scans.get('hilbert').plan(H, W, { directions: 1 }))[0], F.hilbert[key], `hilbert ${key}`);
  }
});

test('window routes and LocalMamba un-scan equal local_scan_bchw / MultiScan on 3x4 ... 14x14', (t) => {
  for (const [key, dirs] of Object.entries(F.window as Record<string, Record<string, { index: number[]; reverse: number[]; reverse_is_inverse: boolean }>>)) {
    const [H, W] = key.split('x').map(Number);
    const names = Object.keys(dirs);
    const plan = scans.get('window').plan(H, W, { directions: names, allow_oversize: true });
    const rev = officialReverse(names, H, W);
    names.forEach((d, k) => {
      const r = routeOf(plan, k);
      t.deepEqual(r.slice(0, dirs[d].index.length), dirs[d].index, `${key} ${d}`);
      t.true(r.slice(dirs[d].index.length).every((p) => p === -1), 'shorter routes end in zero tokens');
      t.deepEqual(Array.from(rev.subarray(k * H * W, (k + 1) * H * W), (g) => g - k * H * W), dirs[d].reverse, `${key} ${d} official reverse`);
      // the official reverse is the inverse except for v / v_flip on non-square maps
      t.is(dirs[d].reverse_is_inverse, !(d.startsWith('v') && H !== W), `${key} ${d}`);
    });
  }
});

test('bidirectional and local-bidirectional: Vim row-major token order, LBVim layer flips, LBMamba windows', (t) => {
  // Vim: PatchEmbed flatten(2) is row-major; the backward branch runs on xz.flip(-1)
  t.deepEqual(rows(scans.get('bidirectional').plan(3, 4)), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]);
  const lb = scans.get('local-bidirectional');
  t.deepEqual(rows(lb.plan(2, 3)), [[0, 1, 2, 3, 4, 5]]);
  t.deepEqual(rows(lb.plan(2, 3, { alternate: true, layer: 1 })), [[5, 4, 3, 2, 1, 0]]);
  t.deepEqual(rows(lb.plan(2, 3, { alternate: true, layer: 2 })), [[0, 1, 2, 3, 4, 5]]);
  t.deepEqual(rows(lb.plan(2, 3, { layer: 1 })), [[0, 1, 2, 3, 4, 5]], 'no flip without alternate');
  // kNItems of selective_scan_fwd_cuda: L <= 128 -> 4, <= 256 -> 8, <= 512 -> 16, else 16
  t.deepEqual([1, 128, 129, 196, 256, 257, 512, 3136].map(lbmWindow), [4, 4, 8, 8, 8, 16, 16, 16]);
  t.regex(lb.plan(14, 14).directions[0], /window 8/, 'ViT-T/16 at 224 (L = 196) uses window 8');
});

test('hilbert: 4-neighbour steps everywhere except the one diagonal of odd-long / even-short (>= 4) sides', (t) => {
  const s = scans.get('hilbert');
  const sizes: Array<[number, number]> = [[1, 1], [1, 5], [5, 1], [2, 2], [2, 7], [3, 3], [3, 4], [4, 4], [5, 3], [4, 5], [6, 7], [7, 7], [8, 8], [14, 14], [28, 17], [17, 28], [56, 56]];
  for (const [H, W] of sizes) {
    const plan = s.plan(H, W);
    for (let k = 0; k < plan.K; k++) {
      const r = routeOf(plan, k);
      let diag = 0;
      for (let t2 = 1; t2 < r.length; t2++) {
        const dh = Math.abs(Math.floor(r[t2] / W) - Math.floor(r[t2 - 1] / W)), dw = Math.abs((r[t2] % W) - (r[t2 - 1] % W));
        if (dh + dw === 1) continue;
        t.true(dh === 1 && dw === 1, `${H}x${W} dir ${k} step ${t2} jumps (${dh}, ${dw})`);
        diag++;
      }
      t.is(diag, hilbertHasDiagonal(H, W) ? 1 : 0, `${H}x${W} direction ${k}`);
    }
    if (F.hilbert[`${H}x${W}`]) t.deepEqual(routeOf(plan, 0), F.hilbert[`${H}x${W}`], `${H}x${W} equals gilbert2d.py`);
  }
  // the exception rule over every size up to 40 x 40
  for (let H = 1; H <= 40; H++) for (let W = 1; W <= 40; W++) {
    const c = gilbert2d(W, H);
    const d = c.filter((p, i) => i > 0 && Math.abs(p[0] - c[i - 1][0]) + Math.abs(p[1] - c[i - 1][1]) !== 1).length;
    if (d !== (hilbertHasDiagonal(H, W) ? 1 : 0)) t.fail(`${H}x${W}: ${d} diagonal steps`);
  }
  // the four orders are distinct on every map at least 2 wide both ways
  for (let H = 2; H <= 24; H++) for (let W = 2; W <= 24; W++) {
    const rs = new Set(Array.from({ length: 4 }, (_, k) => routeOf(s.plan(H, W), k).join(',')));
    if (rs.size !== 4) t.fail(`${H}x${W}: only ${rs.size} distinct hilbert directions`);
  }
  // the curve starts at (0, 0) and, for W >= H, ends at (W-1, 0)
  t.deepEqual(routeOf(s.plan(14, 14), 0).slice(-1), [13]);
});

test('bad input: unknown names and options, oversize windows, unusable sizes fail saying what works', (t) => {
  t.throws(() => scans.get('hilbret'), { message: /unknown scan 'hilbret' \(did you mean hilbert\?\)/ });
  t.throws(() => scans.get('zig-zag'), { message: /did you mean zigzag/ });
  t.throws(() => scans.get('windows'), { message: /did you mean window/ });
  t.throws(() => scans.get('hilbert').plan(4, 4, { direction: 2 }), { message: /unknown option 'direction' \(did you mean directions\?\)/ });
  t.throws(() => scans.get('hilbert').plan(4, 4, { directions: 5 }), { message: /directions must be in 1\.\.4/ });
  t.throws(() => scans.get('hilbert').plan(4, 4, { directions: 'four' }), { message: /expected an integer/ });
  t.throws(() => scans.get('cross').plan(4, 4, { directions: ['h', 'diag'] }), { message: /unknown direction 'diag'.*h, v, h_flip, v_flip/ });
  t.throws(() => scans.get('window').plan(3, 4, { directions: ['w7'] }), { message: /window 7 of 'w7' is larger than the 3x4 map; use windows of at most 3, a map of at least 7x7, or allow_oversize=true/ });
  t.notThrows(() => scans.get('window').plan(3, 4, { directions: ['w7'], allow_oversize: true }));
  t.throws(() => scans.get('window').plan(8, 8, { directions: ['w1'] }), { message: /window size in 'w1' must be >= 2/ });
  t.throws(() => scans.get('window').plan(8, 8, { directions: ['z3'] }), { message: /unknown direction 'z3'; use h, v, w<K>/ });
  t.throws(() => scans.get('window').plan(8, 8, { merge: 'mean' }), { message: /one of sum, biattn/ });
  t.throws(() => scans.get('multihead').plan(1, 1), { message: /at least 2 positions, got 1x1/ });
  t.throws(() => scans.get('multihead').plan(4, 4, { heads: 2 }), { message: /heads must be 3 or 4/ });
  t.throws(() => scans.get('multiscale').plan(4, 4, { routes: 4 }), { message: /routes must be 1, 2 or 3/ });
  t.throws(() => scans.get('cross').plan(0, 4), { message: /map H must be an integer in \[1, 4096\], got 0/ });
  t.throws(() => scans.get('cross').plan(4, 2.5), { message: /map W must be an integer/ });
  t.throws(() => scans.get('local-bidirectional').plan(4, 4, { window: -1 }), { message: /window must be >= 0/ });
  // strings from the CLI are coerced by the option's type
  t.is(scans.get('hilbert').plan(4, 4, { directions: '2' }).K, 2);
  t.is(scans.get('window').plan(8, 8, { directions: 'h,w4' }).K, 2);
});
