// multiscale — MSVMamba's multi-scale scan (models.md 5.1, `multiscale_4scan_12`, ms_split [1, 3]):
// one direction (row-major) over the full-resolution map, and the other routes on a map downsampled
// by a strided depthwise conv of the *pre-conv* map (conv2d_b1: 7x7, stride 2, pad 3, bias, SiLU) of
// size ceil(H/2) x ceil(W/2). The low-res routes [reversed row-major, column-major, reversed
// column-major] are concatenated into ONE sequence (the state carries from one route into the next),
// each position is visited `routes` times and the visits are summed, upsampled (bilinear,
// align_corners=False; v2 uses nearest) and added to the full-res output.
// Parameter groups follow the code (forward_core_multiscale iterates xs = [x_b1, x]): group 0 scans
// the low-res sequence, group 1 the full-res map. (models.md 5.1 says the opposite; the code is what
// checkpoints were trained with.) Adds `conv2d_b1.{weight, bias}` to the owner.
// perVisitNorm (the block's out_norm) is applied as MSVMamba does: to each branch's tokens, and to
// each low-res visit before the visits are summed (that path gathers the low-res sequence explicitly).
import { tf, type Tensor } from '../core/tf.ts';
import { Conv2d } from '../core/nn/conv2d.ts';
import { silu } from '../core/nn/activation.ts';
import { selectiveScan } from './kernel/selective-scan/index.ts';
import { defineStrategy } from './registry.ts';
import { createSSMParams, projectAndScan, projectInputs, resolveRank, sliceGroups, toMap, type CoreFactory, type SSMParams } from './core.ts';
import { colMajor, makePlan, reversed, routeOf, rowMajor } from './routes.ts';
import type { ScanPlan } from './plan.ts';

/** Low-res routes for ms_split[1] = 3, 2, 1 (SS2D.forward). */
const LOW_RES: Record<number, Array<[string, (h: number, w: number) => number[]]>> = {
  3: [['reversed row-major', (h, w) => reversed(rowMajor(h, w))], ['column-major', colMajor], ['reversed column-major', (h, w) => reversed(colMajor(h, w))]],
  2: [['reversed row-major', (h, w) => reversed(rowMajor(h, w))], ['reversed column-major', (h, w) => reversed(colMajor(h, w))]],
  1: [['reversed column-major', (h, w) => reversed(colMajor(h, w))]],
};

/** conv2d_b1's output size: floor((n + 2*3 - 7) / 2) + 1 = ceil(n / 2) */
export const lowRes = (n: number) => Math.floor((n - 1) / 2) + 1;

/**
 * Row-major separable resize matrix (out, in): PyTorch F.interpolate on one axis, bilinear with
 * align_corners=False (src = (dst + 0.5) * in/out - 0.5, clamped at 0) or legacy nearest (floor(dst * in/out)).
 */
export function resizeMatrix(out: number, inp: number, mode: 'bilinear' | 'nearest'): Float32Array {
  const m = new Float32Array(out * inp);
  const scale = inp / out;
  for (let o = 0; o < out; o++) {
    if (mode === 'nearest') {
      m[o * inp + Math.min(inp - 1, Math.floor(o * scale))] = 1;
      continue;
    }
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const i0 = Math.min(inp - 1, Math.floor(src));
    const i1 = Math.min(i0 + 1, inp - 1);
    const l = src - i0;
    m[o * inp + i0] += 1 - l;
    m[o * inp + i1] += l;
  }
  return m;
}

/** y (B, h, w, D) -> (B, H, W, D) as two matmuls with the resize matrices (differentiable on every backend). */
function upsample(y: Tensor, H: number, W: number, mode: 'bilinear' | 'nearest'): Tensor {
  const [Bn, h, w, D] = y.shape;
  const mw = tf.tensor2d(resizeMatrix(W, w, mode), [W, w]);
  const mh = tf.tensor2d(resizeMatrix(H, h, mode), [H, h]);
  const a = tf.matMul(y.transpose([0, 1, 3, 2]).reshape([Bn * h * D, w]), mw, false, true).reshape([Bn, h, D, W]);
  const b = tf.matMul(a.transpose([0, 2, 3, 1]).reshape([Bn * D * W, h]), mh, false, true).reshape([Bn, D, W, H]);
  return b.transpose([0, 3, 2, 1]);
}

/**
 * The low-res branch with a token-wise norm on every visit: the sequence gathered explicitly, scanned
 * without a plan, normalised per token, and each route's visits gathered back (the routes of the
 * concatenated sequence are permutations of the low-res map, `routes` of them).
 */
function scanVisits(x1: Tensor, p: SSMParams, plan: ScanPlan, norm: (y: Tensor) => Tensor): Tensor {
  const [Bn, h, w, D] = x1.shape;
  const P1 = h * w;
  const route = routeOf(plan, 0);
  const m = projectInputs(x1, p);
  const idx = tf.tensor1d(route, 'int32');
  const seq = (t: Tensor) => tf.gather(t, idx, t.rank - 1);
  const y = selectiveScan({ ...m, u: seq(m.u), delta: seq(m.delta), B: seq(m.B), C: seq(m.C) }, { deltaSoftplus: true }); // (B, D, L)
  const visits = norm(y.transpose([0, 2, 1])); // (B, L, D)
  let out: Tensor | null = null;
  for (let r = 0; r * P1 < route.length; r++) {
    const inv = new Int32Array(P1);
    for (let t = 0; t < P1; t++) inv[route[r * P1 + t]] = r * P1 + t;
    const part = tf.gather(visits, tf.tensor1d(inv, 'int32'), 1); // (B, P1, D)
    out = out ? tf.add(out, part) : part;
  }
  return out!.reshape([Bn, h, w, D]);
}

const multiscaleCore: CoreFactory = (sink, strategy, o, cfg) => {
  const D = cfg.dInner;
  const all = createSSMParams(sink, 2, D, cfg.dState, resolveRank(cfg.dtRank, D), cfg);
  const conv = sink.child('conv2d_b1', new Conv2d(D, D, 7, { stride: 2, padding: 3, groups: D, bias: true }));
  const mode = o.upsample as 'bilinear' | 'nearest';
  return {
    K: 2,
    perVisitNorm: true,
    forward(x, extras) {
      const [, H, W] = x.shape;
      const [full, low] = strategy.plans(H, W, o);
      const norm = extras.perVisitNorm;
      return tf.tidy(() => {
        const pLow = sliceGroups(all, 0, 1), pFull = sliceGroups(all, 1, 1);
        let y0 = toMap(projectAndScan(x, pFull, full), H, W);
        if (norm) y0 = norm(y0);
        const x1 = silu(conv.forward(extras.preConv!)); // (B, ceil(H/2), ceil(W/2), D)
        const y1 = norm ? scanVisits(x1, pLow, low, norm) : toMap(projectAndScan(x1, pLow, low), low.H, low.W);
        return tf.add(y0, upsample(y1, H, W, mode));
      });
    },
  };
};

export default defineStrategy({
  name: 'multiscale',
  paper: 'Multi-Scale VMamba: Hierarchy in Hierarchy Visual State Space Model (Shi et al., NeurIPS 2024, arXiv 2405.14174)',
  upstream: 'YuHengsss/MSVMamba@c394019 classification/models/vmamba.py (SS2D.__init__ conv2d_b1, SS2D.forward, forward_core_multiscale)',
  description: 'row-major at full resolution + [rev-row, col, rev-col] concatenated on a stride-2 map, upsampled and added',
  needsPreConv: true,
  options: {
    routes: { type: 'int', default: 3, help: 'low-res routes (ms_split[1]): 3 = rev-row, col, rev-col; 2 = rev-row, rev-col; 1 = rev-col' },
    upsample: { type: 'string', default: 'bilinear', choices: ['bilinear', 'nearest'], help: 'low-res upsampling: bilinear (master) or nearest (branch v2)' },
  },
  check(o) {
    if (!LOW_RES[o.routes as number]) throw new Error(`scan 'multiscale': option routes must be 1, 2 or 3, got ${o.routes}`);
  },
  directions: () => 2,
  build(H, W, o) {
    const h = lowRes(H), w = lowRes(W);
    const routes = LOW_RES[o.routes as number];
    const seq = routes.flatMap(([, r]) => r(h, w));
    return [
      makePlan('multiscale', H, W, [rowMajor(H, W)], ['full resolution: row-major'], 'sum'),
      makePlan('multiscale', h, w, [seq], [`${h}x${w}: ${routes.map(([n]) => n).join(' + ')}`], 'sum'),
    ];
  },
  core: multiscaleCore,
});
