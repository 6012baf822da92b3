// zigzag — PlainMamba's continuous 2-D scanning (models.md 6.2): four boustrophedon orders (row snake,
// its reverse, column snake, its reverse) so consecutive tokens are always 4-neighbours, with the
// direction-aware update: a learned `direction_Bs` (5, N) row, chosen by the move into each token
// (0 start, 1 right, 2 left, 3 up, 4 down), is added to B. Here B is read at the scanned token and
// the embedding is the one of the move *into that token*, i.e. the intended semantics; PlainMamba's
// code adds it to the raster-order B and also leaves dt and C in raster order (models.md 10.9):
// PlainMamba checkpoints need the family's own block for parity, not this core.
import { tf } from '../core/tf.ts';
import { truncNormal } from '../core/nn/init.ts';
import { defineStrategy } from './registry.ts';
import { createSSMParams, projectAndScan, resolveRank, toMap, type CoreFactory } from './core.ts';
import { makePlan, moveCodes, reversed, routeOf, snakeCols, snakeRows } from './routes.ts';
import type { ScanPlan } from './plan.ts';

/** PlainMamba's o1..o4 (get_permute_order). */
export function zigzagRoutes(H: number, W: number): number[][] {
  const o1 = snakeRows(H, W), o3 = snakeCols(H, W);
  return [o1, reversed(o1), o3, reversed(o3)];
}

/** (K * H*W) move code of the step that reaches each position, direction by direction (map order). */
export function moveCodeMap(plan: ScanPlan): Int32Array {
  const P = plan.H * plan.W;
  const out = new Int32Array(plan.K * P);
  for (let k = 0; k < plan.K; k++) {
    const route = routeOf(plan, k);
    moveCodes(route, plan.W).forEach((c, t) => (out[k * P + route[t]] = c));
  }
  return out;
}

const zigzagCore: CoreFactory = (sink, strategy, o, cfg) => {
  const K = 4, D = cfg.dInner, N = cfg.dState;
  const params = createSSMParams(sink, K, D, N, resolveRank(cfg.dtRank, D), cfg);
  // (5, N): codes 0 start, 1 right, 2 left, 3 up, 4 down; trunc_normal_(std=0.02) as PlainMamba
  const directionBs = o.direction_aware ? sink.param('direction_Bs', truncNormal([5, N], 0.02, -2, 2, 0, cfg.rng)) : null;
  return {
    K,
    forward(x) {
      const [, H, W] = x.shape;
      const plan = strategy.plan(H, W, o);
      return tf.tidy(() => {
        const extraB = directionBs
          ? tf.gather(directionBs, tf.tensor1d(moveCodeMap(plan), 'int32')).reshape([K, H * W, N]).transpose([0, 2, 1]) // (K, N, P)
          : undefined;
        return toMap(projectAndScan(x, params, plan, { extraB }), H, W);
      });
    },
  };
};

export default defineStrategy({
  name: 'zigzag',
  paper: 'PlainMamba: Improving Non-Hierarchical Mamba in Visual Recognition (Yang et al., BMVC 2024, arXiv 2403.17695)',
  upstream: 'ChenhongyiYang/PlainMamba@0975a1d mmcls/plain_mamba_dev/models/plain_mamba/plain_mamba_layer.py (PlainMamba2D.get_permute_order, direction_Bs)',
  description: 'four snake orders (rows, reversed, columns, reversed) with direction-aware B',
  options: {
    direction_aware: { type: 'boolean', default: true, help: 'add the learned direction_Bs (5, N) row of each move to B' },
  },
  directions: () => 4,
  build(H, W) {
    const labels = ['row snake', 'reversed row snake', 'column snake', 'reversed column snake'];
    return [makePlan('zigzag', H, W, zigzagRoutes(H, W), labels, 'sum')];
  },
  core: zigzagCore,
});
