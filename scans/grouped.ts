// grouped — GroupMamba's modulated group mamba (models.md 6.3): the channels split into 4 groups,
// group g scanned along one direction only (g1 row-major, g2 column-major, g3 reversed row-major,
// g4 reversed column-major: CrossScan_1..4) with its own SSM parameters, the outputs concatenated,
// then the layer's modulation: y = concat · skip_scale · x · CAM(x), CAM(x) = sigmoid(fc2(relu(fc1(
// mean over tokens of x)))) (fc1: D -> D // reduction). Here x is the core's input map.
// Keys on the owner: x_proj_weight (4, R+2N, D/4), dt_projs_weight (4, D/4, R), dt_projs_bias
// (4, D/4), A_logs (D, N), Ds (D) and, with modulation, fc1, fc2, skip_scale (1).
// GroupMamba's released checkpoints hold one complete SS2D per group (mamba_g1..4, each with its own
// in_proj/conv/out_norm/out_proj) around this: that family builds four blocks with
// scan='cross', directions=[h] / [v] / [h_flip] / [v_flip] instead.
import { tf } from '../core/tf.ts';
import { Linear } from '../core/nn/linear.ts';
import { defineStrategy } from './registry.ts';
import { createSSMParams, projectAndScan, resolveRank, toMap, type CoreFactory } from './core.ts';
import { CROSS_ROUTES } from './cross.ts';
import { makePlan } from './routes.ts';

const GROUPS = ['h', 'v', 'h_flip', 'v_flip'] as const;

const groupedCore: CoreFactory = (sink, strategy, o, cfg) => {
  const D = cfg.dInner;
  if (D % 4) throw new Error(`scan 'grouped': ${D} channels cannot be split into 4 equal groups`);
  const Dg = D / 4;
  const params = createSSMParams(sink, 4, Dg, cfg.dState, resolveRank(cfg.dtRank, Dg), cfg);
  let mod: { fc1: Linear; fc2: Linear; skip: tf.Variable } | null = null;
  if (o.modulation) {
    const r = Math.floor(D / (o.reduction as number));
    if (r < 1) throw new Error(`scan 'grouped': channel modulation reduces ${D} channels by ${o.reduction} to 0; use reduction <= ${D}`);
    mod = { fc1: sink.child('fc1', new Linear(D, r)), fc2: sink.child('fc2', new Linear(r, D)), skip: sink.param('skip_scale', tf.ones([1])) };
  }
  return {
    K: 4,
    forward(x) {
      const [, H, W] = x.shape;
      return tf.tidy(() => {
        // x (B, H, W, D) read per direction: direction g scans channels [g*D/4, (g+1)*D/4)
        const y = toMap(projectAndScan(x, params, strategy.plan(H, W, o)), H, W); // concat of the groups
        if (!mod) return y;
        const a = tf.sigmoid(mod.fc2.forward(tf.relu(mod.fc1.forward(tf.mean(x, [1, 2]))))); // (B, D)
        return tf.mul(tf.mul(tf.mul(y, mod.skip), x), a.reshape([a.shape[0], 1, 1, D]));
      });
    },
  };
};

export default defineStrategy({
  name: 'grouped',
  paper: 'GroupMamba: Parameter-Efficient and Accurate Group Visual State Space Model (Shaker et al., arXiv 2407.13772)',
  upstream: 'Amshaker/GroupMamba@c1800ed classification/models/groupmamba.py (GroupMambaLayer), csms6s.py (CrossScan_1..4 / CrossMerge_1..4)',
  description: '4 channel groups, one direction each (row, col, rev-row, rev-col), concatenated, with channel modulation',
  options: {
    modulation: { type: 'boolean', default: true, help: 'channel-affinity modulation: y * skip_scale * x * sigmoid(fc2(relu(fc1(mean x))))' },
    reduction: { type: 'int', default: 16, help: 'fc1 reduces D channels to D // reduction' },
  },
  check(o) {
    if ((o.reduction as number) < 1) throw new Error(`scan 'grouped': option reduction must be >= 1, got ${o.reduction}`);
  },
  directions: () => 4,
  build: (H, W) => [makePlan('grouped', H, W, GROUPS.map((g) => CROSS_ROUTES[g].route(H, W)), GROUPS.map((g, i) => `group ${i + 1}: ${CROSS_ROUTES[g].label}`), 'none')],
  core: groupedCore,
});
