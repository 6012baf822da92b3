// window — LocalMamba's windowed scans (models.md 6.1): each direction is one of h, v (row-/column-
// major), wK (the map zero-padded at the bottom/right to multiples of K, windows in row-major window
// order, row-major inside each K x K window) and their _flip reverses. Padded cells are scanned as
// zero tokens and dropped, as `local_scan_bchw` / `local_reverse` do. Default directions: LocalVMamba-T
// block 0. merge=biattn reproduces LocalMamba's MultiScanVSSM.merge: each direction's output passes
// one shared BiAttn (LN -> token mean -> Linear -> GELU -> Linear -> sigmoid -> scale) before the sum;
// official_reverse=true reproduces its 'v'/'v_flip' un-scan, which is the inverse only when H == W.
import { tf, type Tensor } from '../core/tf.ts';
import { Module } from '../core/nn/module.ts';
import { Linear } from '../core/nn/linear.ts';
import { LayerNorm } from '../core/nn/norm.ts';
import { gelu } from '../core/nn/activation.ts';
import { defineStrategy } from './registry.ts';
import { createSSMParams, ParamGroup, projectAndScan, resolveRank, standardCore, toMap, type CoreFactory } from './core.ts';
import { colMajor, makePlan, reversed, rowMajor, windowRoute } from './routes.ts';

const DIRECTION = /^(h|v|w(\d+))(_flip)?$/;

function parse(dir: string): { base: string; win: number; flip: boolean } {
  const m = DIRECTION.exec(dir);
  if (!m) throw new Error(`scan 'window': unknown direction '${dir}'; use h, v, w<K> (K >= 2), each optionally with _flip (e.g. w7_flip)`);
  const win = m[2] ? Number(m[2]) : 0;
  if (m[2] && win < 2) throw new Error(`scan 'window': window size in '${dir}' must be >= 2`);
  return { base: m[1][0], win, flip: !!m[3] };
}

export function windowDirectionRoute(H: number, W: number, dir: string): number[] {
  const { base, win, flip } = parse(dir);
  const r = base === 'h' ? rowMajor(H, W) : base === 'v' ? colMajor(H, W) : windowRoute(H, W, win);
  return flip ? reversed(r) : r;
}

function label(dir: string): string {
  const { base, win, flip } = parse(dir);
  const s = base === 'h' ? 'row-major' : base === 'v' ? 'column-major' : `${win}x${win} windows`;
  return flip ? `reversed ${s}` : s;
}

/** LocalMamba's BiAttn(in_channels, act_ratio=0.125): keys norm, global_reduce, channel_select. */
export class BiAttn extends Module {
  readonly norm: LayerNorm;
  readonly global_reduce: Linear;
  readonly channel_select: Linear;

  constructor(channels: number) {
    super();
    const reduced = Math.floor(channels * 0.125);
    if (reduced < 1) throw new Error(`BiAttn: ${channels} channels reduce to int(${channels} * 0.125) = 0; needs at least 8 channels`);
    this.norm = this.child('norm', new LayerNorm(channels));
    this.global_reduce = this.child('global_reduce', new Linear(channels, reduced));
    this.channel_select = this.child('channel_select', new Linear(reduced, channels));
  }

  /** x (B', P, C) -> x * sigmoid(channel_select(gelu(global_reduce(mean_P(norm(x)))))) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const g = tf.mean(this.norm.forward(x), 1, true);
      return tf.mul(x, tf.sigmoid(this.channel_select.forward(gelu(this.global_reduce.forward(g)))));
    });
  }
}

/** For each direction, the map position whose scan output LocalMamba's reverse writes at p (identity except 'v' when H != W). */
export function officialReverse(dirs: readonly string[], H: number, W: number): Int32Array {
  const P = H * W;
  const idx = new Int32Array(dirs.length * P);
  dirs.forEach((dir, k) => {
    const { base, flip } = parse(dir);
    const route = windowDirectionRoute(H, W, dir);
    for (let p = 0; p < P; p++) {
      // rearrange('b d (h w) -> b d (w h)', h=H, w=W): output p = w*H + h reads input h*W + w
      const s = (p % H) * W + Math.floor(p / H);
      idx[k * P + p] = k * P + (base === 'v' ? route[flip ? P - 1 - s : s] : p);
    }
  });
  return idx;
}

/**
 * LocalMamba's reverse of K direction scans: y (B, K*D, P), each direction's output in map order ->
 * (B, D, K, P) with position p of direction k read from officialReverse's index (MultiScan.reverse).
 */
export function officialUnscan(y: Tensor, dirs: readonly string[], H: number, W: number): Tensor {
  return tf.tidy(() => {
    const [Bn, KD, P] = y.shape;
    const K = dirs.length, D = KD / K;
    const idx = tf.tensor1d(officialReverse(dirs, H, W), 'int32');
    return tf.gather(y.reshape([Bn, K, D, P]).transpose([0, 2, 1, 3]).reshape([Bn, D, K * P]), idx, 2).reshape([Bn, D, K, P]);
  });
}

const windowCore: CoreFactory = (sink, strategy, o, cfg) => {
  if (o.merge === 'sum' && !o.official_reverse) return standardCore()(sink, strategy, o, cfg);
  const dirs = o.directions as string[];
  const K = dirs.length, D = cfg.dInner;
  const params = createSSMParams(sink, K, D, cfg.dState, resolveRank(cfg.dtRank, D), cfg);
  const attn = o.merge === 'biattn' ? sink.child('multi_scan', new ParamGroup()).sink.child('attn', new BiAttn(D)) : null;
  return {
    K,
    forward(x) {
      const [Bn, H, W] = x.shape;
      const P = H * W;
      return tf.tidy(() => {
        let y = projectAndScan(x, params, strategy.plan(H, W, o)); // (B, K*D, P) in map order
        if (o.official_reverse) y = officialUnscan(y, dirs, H, W).transpose([0, 2, 1, 3]);
        let yk = y.reshape([Bn, K, D, P]).transpose([0, 1, 3, 2]); // (B, K, P, D)
        if (attn) yk = attn.forward(yk.reshape([Bn * K, P, D])).reshape([Bn, K, P, D]);
        return toMap(tf.sum(yk, 1).transpose([0, 2, 1]), H, W);
      });
    },
  };
};

export default defineStrategy({
  name: 'window',
  paper: 'LocalMamba: Visual State Space Model with Windowed Selective Scan (Huang et al., arXiv 2403.09338)',
  upstream: 'hunto/LocalMamba@75e5d1f classification/lib/models/mamba/local_scan.py (local_scan_bchw, local_reverse), multi_mamba.py (MultiScan.scan / reverse), local_vmamba.py (MultiScanVSSM, BiAttn)',
  description: 'scans inside K x K windows (w2, w7, ...) mixed with h/v routes and their reverses',
  options: {
    directions: { type: 'list', default: ['h', 'h_flip', 'w7', 'w7_flip'], help: 'routes: h, v, w<K> (window K), each optionally _flip' },
    merge: { type: 'string', default: 'sum', choices: ['sum', 'biattn'], help: 'sum the directions, or LocalMamba\'s shared BiAttn per direction then sum (adds multi_scan.attn.*)' },
    official_reverse: { type: 'boolean', default: false, help: "LocalMamba's v/v_flip un-scan (a wrong inverse when H != W), for checkpoint parity" },
    allow_oversize: { type: 'boolean', default: false, help: 'allow windows larger than the map (padded with zero tokens, as LocalMamba does)' },
  },
  check(o) {
    const dirs = o.directions as string[];
    if (!dirs.length) throw new Error(`scan 'window': option directions needs at least one route`);
    dirs.forEach(parse);
  },
  directions: (o) => (o.directions as string[]).length,
  build(H, W, o) {
    const dirs = o.directions as string[];
    for (const d of dirs) {
      const { win } = parse(d);
      if (win > Math.min(H, W) && !o.allow_oversize) {
        throw new Error(`scan 'window': window ${win} of '${d}' is larger than the ${H}x${W} map; use windows of at most ${Math.min(H, W)}, a map of at least ${win}x${win}, or allow_oversize=true to pad as LocalMamba does`);
      }
    }
    const merge = o.merge === 'sum' && !o.official_reverse ? 'sum' : 'none';
    return [makePlan('window', H, W, dirs.map((d) => windowDirectionRoute(H, W, d)), dirs.map(label), merge)];
  },
  core: windowCore,
});
