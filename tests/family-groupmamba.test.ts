// GroupMamba against the official code: golden checkpoint on cpu and webgpu, parameter counts of the
// released configs, the test_ variant's contract, the distillation heads, norm_layer as the factories
// write it, scan replacement.
import test from 'ava';
import { setBackend } from './helpers/backends.ts';
import { goldenTest, paramCountTest, blockGradTest } from './helpers/family-suite.ts';
import { variantContract } from './helpers/family-suite.ts';
import { tf } from '../core/tf.ts';
import { createModel } from '../backbones/index.ts';
import { GroupMamba, layerNormEps } from '../backbones/groupmamba.ts';
import { Module, type Layer } from '../core/nn/index.ts';
import type { Tensor } from '../core/tf.ts';
import { withoutInit } from '../core/nn/init.ts';
import { manualSeed } from '../core/rng.ts';

/**
 * The channel-affinity fc1 of GroupMambaLayer has width // 16 ReLU units (1 to 4 at these toy widths);
 * with its zero-bias init each unit is off for about half the inputs, which zeroes the gradients of
 * fc1 and fc2.weight for that input. Bias 1 switches them on so the gradient checks see the path.
 */
function wakeAffinity<M extends Module>(m: M): M {
  for (const p of m.namedParameters()) if (/attn\.fc1\.bias$/.test(p.name)) p.variable.assign(tf.onesLike(p.variable));
  return m;
}

goldenTest('groupmamba');
paramCountTest('groupmamba');
variantContract('groupmamba', {
  typo: { variant: 'groupmamba_bas', expect: 'groupmamba_base' },
  badKwarg: { key: 'embed_dim', expect: 'embed_dims' },
  // 48x48 keeps the last stage 2x2 (at 32x32 it is 1x1 and its A_logs could not matter either)
  gradInput: [48, 48],
  prepareGrad: wakeAffinity,
  zeroGrad: {
    pattern: /^post_network\.0\.attn\.mamba_g\d\.A_logs$/,
    reason: 'the ClassBlock scans the class token alone (L = 1): A only scales the carried state, zero at the first step, in the official model too',
  },
});

// Stem (BatchNorm) and a Block_mamba on every backend
/** Stem + one Block_mamba of a one-stage GroupMamba (no ClassBlock: see the A_logs note above). */
class OneStage extends Module implements Layer {
  private readonly model: GroupMamba;

  constructor() {
    super();
    this.model = createModel({ family: 'groupmamba', embed_dims: [16], depths: [1], mlp_ratios: [2], num_stages: 1, stem_hidden_dim: 8, num_classes: 4 }) as GroupMamba;
    this.child('patch_embed1', this.model.stages[0].embed);
    this.child('block1', this.model.stages[0].blocks);
  }

  forward(x: Tensor): Tensor {
    let h = this.model.stages[0].embed.forward(x);
    for (const b of this.model.stages[0].blocks.items) h = b.forward(h);
    return h;
  }
}

// (the ClassBlock's A_logs get no gradient (see above), so this model has no ClassBlock SSM to check:
// its blocks' maps are 4x4, and the ClassBlock is checked on cpu by the contract test)
blockGradTest('groupmamba: stem and one group mamba block (4 one-direction SS2Ds, CAM, PVT2FFN), gradients on cpu and webgpu agree', () =>
  wakeAffinity(new OneStage()), [1, 16, 16, 3]);

const shapes = (m: ReturnType<typeof createModel>) => new Map(m.namedParameters().map((p) => [p.name, p.torchShape]));

test.serial('groupmamba: state-dict shapes of GroupMamba-T stage 1 as the official keys; eps from norm_layer', async (t) => {
  await setBackend('cpu');
  const m = withoutInit(() => createModel('groupmamba_tiny')) as GroupMamba;
  const s = shapes(m);
  // models.md 6.3 (printed from the official constructor)
  const expect: Record<string, number[]> = {
    'block1.0.attn.skip_scale': [1], 'block1.0.attn.fc1.weight': [4, 64], 'block1.0.attn.fc2.weight': [64, 4],
    'block1.0.attn.mamba_g1.x_proj_weight': [1, 3, 16], 'block1.0.attn.mamba_g1.dt_projs_weight': [1, 16, 1],
    'block1.0.attn.mamba_g2.dt_projs_bias': [1, 16], 'block1.0.attn.mamba_g3.A_logs': [16, 1], 'block1.0.attn.mamba_g4.Ds': [16],
    'block1.0.attn.mamba_g1.out_norm.weight': [16], 'block1.0.attn.mamba_g1.in_proj.weight': [32, 16],
    'block1.0.attn.mamba_g1.conv2d.weight': [16, 1, 3, 3], 'block1.0.attn.mamba_g1.out_proj.weight': [16, 16],
    'block1.0.attn.proj.weight': [64, 64], 'block1.0.mlp.fc1.weight': [512, 64], 'block1.0.mlp.dwconv.dwconv.weight': [512, 1, 3, 3],
    'patch_embed1.conv.0.weight': [32, 3, 7, 7], 'patch_embed1.conv.7.weight': [32], 'patch_embed1.proj.weight': [64, 32, 3, 3],
    'patch_embed3.proj.weight': [348, 128, 3, 3], 'post_network.0.attn.mamba_g1.x_proj_weight': [1, 9, 112],
    'post_network.0.mlp.fc1.weight': [1792, 448], 'head.weight': [1000, 448], 'dist_head.weight': [1000, 448],
  };
  for (const [k, v] of Object.entries(expect)) t.deepEqual(s.get(k), v, k);
  t.false(s.has('block1.0.attn.mamba_g1.out_proj.bias'), 'SS2D projections have no bias');
  t.true(m.namedBuffers().some((b) => b.name === 'patch_embed1.conv.4.running_var'));
  m.dispose();
  t.is(layerNormEps('partial(nn.LayerNorm, eps=1e-6)'), 1e-6);
  t.is(layerNormEps('nn.LayerNorm'), 1e-5);
  t.throws(() => createModel('test_groupmamba', { norm_layer: 'nn.BatchNorm2d' }), { message: /norm_layer 'nn.BatchNorm2d' is not supported/ });
  t.throws(() => createModel('test_groupmamba', { embed_dims: [16, 32, 50, 64] }), { message: /width 50 cannot be split into 4 channel groups/ });
});

test.serial('groupmamba: forward is the average of head and dist_head (the eval output); forwardHeads gives both', async (t) => {
  await setBackend('cpu');
  manualSeed(5);
  const m = createModel('test_groupmamba').eval() as GroupMamba;
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 6);
  const [a, b] = m.forwardHeads(x);
  const y = await m.forward(x).data();
  const avg = await tf.div(tf.add(a, b), 2).data();
  t.true(Array.from(y).every((v, i) => Math.abs(v - avg[i]) < 1e-6));
  t.true((await tf.max(tf.abs(tf.sub(a, b))).data())[0] > 1e-3, 'the two heads differ');
  m.dispose();
  const single = createModel('test_groupmamba', { distillation: false }) as GroupMamba;
  t.false(shapes(single).has('dist_head.weight'));
  t.is(single.forwardHeads(x).length, 1);
  single.dispose();
});

test.serial('groupmamba: any registered scan replaces the per-group directions', async (t) => {
  await setBackend('cpu');
  manualSeed(6);
  const m = createModel('test_groupmamba', { scan: 'hilbert' }).eval();
  // hilbert's default 4 routes per SS2D (K = 4) in every group
  t.deepEqual(shapes(m).get('block2.0.attn.mamba_g3.x_proj_weight'), [4, 3, 8]);
  const y = m.forward(tf.randomNormal([1, 32, 48, 3], 0, 1, 'float32', 7));
  t.deepEqual(y.shape, [1, 10]);
  t.true((await tf.all(tf.isFinite(y)).data())[0] === 1);
  m.dispose();
});
