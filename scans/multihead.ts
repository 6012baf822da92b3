// multihead — MHS-VM's multi-head scan (models.md 6.4): channels projected (x_ssproj) into 3 or 4
// heads of D // heads channels; head C scans row/column snakes, X anti-diagonal zigzags (and their
// left-right mirror), S a clockwise spiral from the top-left (and its up-down mirror), Z row- and
// column-major; each head scans [route0, reversed route0, route1, reversed route1] with its own K = 4
// engine, and fuses its 4 outputs with Scan Route Attention (GFU: sum * relu(cv - t), cv =
// std_k / (mean_k(y - min_k y) + 1e-5)); the heads are concatenated, layer-normed and projected.
// Keys on the owner (MHSM's): x_ssproj.weight, scanhead_{C,X,S,Z}.mambaeng.{x_proj_weight,
// dt_projs_weight, dt_projs_bias, A_logs, Ds}, cat_norm.{weight,bias}, y_proj.weight. (PyTorch's
// state dict of MHS-VM also repeats each engine under scanhead_*.scanning.seq2seq_engine.*, the same
// module registered twice: an importer drops those aliases.) dt_rank 'auto' = ceil((D // heads) / 16).
import { tf, type Tensor } from '../core/tf.ts';
import { Linear } from '../core/nn/linear.ts';
import { LayerNorm } from '../core/nn/norm.ts';
import { defineStrategy } from './registry.ts';
import { createSSMParams, ParamGroup, projectAndScan, resolveRank, type CoreFactory, type SSMParams } from './core.ts';
import { colMajor, makePlan, reversed, rowMajor, snakeCols, snakeRows } from './routes.ts';

/** scanutils.diag_scan(h, w, cw=True): anti-diagonals i + j = k, reversed (i descending) when k is even. */
export function diagonalRoute(H: number, W: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < H + W - 1; k++) {
    const cells: number[] = [];
    for (let i = Math.max(0, k - W + 1); i <= Math.min(H - 1, k); i++) cells.push(i * W + (k - i));
    out.push(...((k + 1) % 2 === 1 ? cells.reverse() : cells));
  }
  return out;
}

/** scanutils.spiral_scan: clockwise rings from the top-left corner, truncated to H*W as the original. */
export function spiralRoute(H: number, W: number): number[] {
  if (H * W < 2) throw new Error(`scan 'multihead': MHS-VM's spiral route needs a map of at least 2 positions, got ${H}x${W}`);
  const out: number[] = [];
  let tlh = 0, tlw = 0, brh = H - 1, brw = W - 1;
  for (;;) {
    for (let j = tlw; j < brw; j++) out.push(tlh * W + j);
    for (let i = tlh; i < brh; i++) out.push(i * W + brw);
    for (let j = brw; j > tlw; j--) out.push(brh * W + j);
    for (let i = brh; i > tlh; i--) out.push(i * W + tlw);
    tlh++, tlw++, brh--, brw--;
    if (tlh > brh || tlw > brw) break;
    if (tlh === brh && tlw === brw) out.push(tlh * W + tlw);
  }
  return out.slice(0, H * W);
}

const mirrorLR = (r: number[], W: number) => r.map((p) => p - (p % W) + (W - 1 - (p % W)));
const mirrorUD = (r: number[], H: number, W: number) => r.map((p) => (H - 1 - Math.floor(p / W)) * W + (p % W));

/** The two routes of each head pattern (routegen.calc_posarrays rows C0, C1, X0, X1, S0, S1, Z0, Z1). */
export const HEAD_ROUTES: Record<string, (H: number, W: number) => [number[], number[], string]> = {
  C: (H, W) => [snakeRows(H, W), snakeCols(H, W), 'row snake / column snake'],
  X: (H, W) => [diagonalRoute(H, W), mirrorLR(diagonalRoute(H, W), W), 'diagonal / mirrored diagonal'],
  S: (H, W) => [spiralRoute(H, W), mirrorUD(spiralRoute(H, W), H, W), 'spiral / mirrored spiral'],
  Z: (H, W) => [rowMajor(H, W), colMajor(H, W), 'row-major / column-major'],
};

const HEADS = 'CXSZ';

/** GFU (scan route attention) over axis 1 (the 4 routes): x (B, 4, ...) -> (B, ...). */
export function gfu(x: Tensor, t: number): Tensor {
  return tf.tidy(() => {
    const k = x.shape[1] as number;
    const sum = tf.sum(x, 1);
    const mean = tf.mean(x, 1, true);
    const std = tf.sqrt(tf.div(tf.sum(tf.square(tf.sub(x, mean)), 1), k - 1)); // torch.std: unbiased
    const m = tf.mean(tf.sub(x, tf.min(x, 1, true)), 1);
    return tf.mul(sum, tf.relu(tf.sub(tf.div(std, tf.add(m, 1e-5)), t)));
  });
}

const concatParams = (ps: SSMParams[]): SSMParams => ({
  K: ps.length * 4, D: ps[0].D, N: ps[0].N, R: ps[0].R,
  x_proj_weight: tf.concat(ps.map((p) => p.x_proj_weight), 0),
  dt_projs_weight: tf.concat(ps.map((p) => p.dt_projs_weight), 0),
  dt_projs_bias: tf.concat(ps.map((p) => p.dt_projs_bias), 0),
  A_logs: tf.concat(ps.map((p) => p.A_logs), 0),
  Ds: tf.concat(ps.map((p) => p.Ds), 0),
});

const multiheadCore: CoreFactory = (sink, strategy, o, cfg) => {
  const heads = o.heads as number, D = cfg.dInner;
  const ds = Math.floor(D / heads);
  if (ds < 1) throw new Error(`scan 'multihead': ${D} channels cannot be split into ${heads} heads`);
  if (!o.with_proj && ds * heads !== D) throw new Error(`scan 'multihead': with_proj=false needs the channels (${D}) divisible by heads (${heads})`);
  const R = resolveRank(cfg.dtRank, ds);
  const ssproj = sink.child('x_ssproj', new Linear(D, ds * heads, { bias: false }));
  const engines = [...HEADS.slice(0, heads)].map((c) => {
    const eng = sink.child(`scanhead_${c}`, new ParamGroup()).sink.child('mambaeng', new ParamGroup());
    return createSSMParams(eng.sink, 4, ds, cfg.dState, R, cfg);
  });
  const catNorm = o.with_proj ? sink.child('cat_norm', new LayerNorm(ds * heads)) : null;
  const yProj = o.with_proj ? sink.child('y_proj', new Linear(ds * heads, D, { bias: false })) : null;
  return {
    K: 4 * heads,
    forward(x) {
      const [Bn, H, W] = x.shape;
      const P = H * W;
      return tf.tidy(() => {
        const xh = ssproj.forward(x).reshape([Bn * P, heads, 1, ds]); // (tile's gradient needs rank <= 4)
        const xs = tf.tile(xh, [1, 1, 4, 1]).reshape([Bn, H, W, heads * 4 * ds]); // direction 4h+j reads head h
        const y = projectAndScan(xs, concatParams(engines), strategy.plan(H, W, o)); // (B, K*ds, P)
        const fused = gfu(y.reshape([Bn * heads, 4, ds, P]), o.gfu_t as number); // (B*heads, ds, P)
        let out = fused.reshape([Bn, heads * ds, P]).transpose([0, 2, 1]); // (B, P, heads*ds)
        if (catNorm && yProj) out = yProj.forward(catNorm.forward(out));
        return out.reshape([Bn, H, W, D]);
      });
    },
  };
};

export default defineStrategy({
  name: 'multihead',
  paper: 'MHS-VM: Multi-Head Scanning in Parallel Subspaces for Vision Mamba (Z. Ji, arXiv 2406.05992)',
  upstream: 'PixDeep/MHS-VM@be64b6f scanutils.py (cons_scan_h/v, diag_scan, spiral_scan, zigzag_scan), routegen.py (calc_posarrays), models/vmunet/mhsm.py (MHSM, ScanHead, ScanPattern, GFU)',
  description: 'channels projected into 3-4 heads, each scanning its own route pair (snake, diagonal, spiral, raster), fused by scan route attention',
  options: {
    heads: { type: 'int', default: 4, help: 'number of heads, 3 (C, X, S) or 4 (C, X, S, Z)' },
    gfu_t: { type: 'number', default: 0, help: 'GFU threshold t in relu(cv - t)' },
    with_proj: { type: 'boolean', default: true, help: 'cat_norm + y_proj after concatenating the heads (MHSM with_proj)' },
  },
  check(o) {
    if (o.heads !== 3 && o.heads !== 4) throw new Error(`scan 'multihead': option heads must be 3 or 4 (MHS-VM's C, X, S[, Z]), got ${o.heads}`);
  },
  directions: (o) => 4 * (o.heads as number),
  build(H, W, o) {
    const routes: number[][] = [];
    const labels: string[] = [];
    for (const c of HEADS.slice(0, o.heads as number)) {
      const [r0, r1, name] = HEAD_ROUTES[c](H, W);
      const [n0, n1] = name.split(' / ');
      routes.push(r0, reversed(r0), r1, reversed(r1));
      labels.push(`${c}: ${n0}`, `${c}: reversed ${n0}`, `${c}: ${n1}`, `${c}: reversed ${n1}`);
    }
    return [makePlan('multihead', H, W, routes, labels, 'none')];
  },
  core: multiheadCore,
});
