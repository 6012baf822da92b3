// EfficientVMamba against the official code: golden checkpoint on cpu and webgpu, parameter counts
// (tiny/base exact, small as released), the test_ variant's contract, the constructor's quirks, scan
// replacement, Backbone_EfficientVSSM outputs.
import test from 'ava';
import { setBackend } from './helpers/backends.ts';
import { goldenTest, paramCountTest, variantContract, blockGradTest, flopsTest } from './helpers/family-suite.ts';
import { tf } from '../core/tf.ts';
import { createModel } from '../backbones/index.ts';
import { withoutInit } from '../core/nn/init.ts';

goldenTest('efficientvmamba');
paramCountTest('efficientvmamba');
flopsTest('efficientvmamba', 'exact here: all maps and atrous sub-grids halve evenly (checked against a full 224 count: 0.8057/1.3415/3.9936 G)');
variantContract('efficientvmamba', { gradInput: [32, 32], typo: { variant: 'efficientvmamba_smal', expect: 'efficientvmamba_small' }, badKwarg: { key: 'ssm_ration', expect: 'ssm_ratio' } });

// three stages: efficient VSS blocks (atrous SS2D + conv branch + BiAttn) and an InvertedResidual stage
blockGradTest('efficientvmamba: VSS and InvertedResidual stages, gradients reach every parameter, webgpu = cpu', () =>
  createModel({ family: 'efficientvmamba', depths: [1, 1, 1], dims: 8, num_classes: 4, mlp_ratio: 0, downsample_version: 'v1' }), [1, 32, 32, 3]);

const shapes = (m: ReturnType<typeof createModel>) => new Map(m.namedParameters().map((p) => [p.name, p.torchShape]));

test.serial('efficientvmamba: small is the released model (stem 64, 11.274M); the yaml config counts 24,757,456 as upstream', async (t) => {
  await setBackend('cpu');
  const count = (kw: Record<string, unknown>) => {
    const m = withoutInit(() => createModel(kw as { family: string }));
    const n = m.numParams();
    m.dispose();
    return n;
  };
  // configs/vssm/vssm_efficient_small.yaml as main.py builds it (EMBED_DIM 96): the official constructor's count
  t.is(count({ family: 'efficientvmamba', dims: 96, depths: [2, 2, 4, 2], d_state: 16, dt_rank: 'auto', ssm_ratio: 2.0, mlp_ratio: 0.0, downsample_version: 'v1', window_size: 2 }), 24_757_456);
  const small = count({ family: 'efficientvmamba', ...createModelConfig('efficientvmamba_small') });
  t.is(small, 11_273_688);
  t.is(Math.round(small / 1e3) / 1e3, 11.274, 'the log prints 11.274 M');
});

function createModelConfig(name: string): Record<string, unknown> {
  const m = withoutInit(() => createModel(name));
  const c = { ...(m as unknown as { config: Record<string, unknown> }).config };
  m.dispose();
  delete c.scan_options;
  delete c.out_indices;
  return c;
}

test.serial('efficientvmamba: d_state/dt_rank are ignored as upstream (N = 16, R = ceil(C/16)); refused arguments', async (t) => {
  await setBackend('cpu');
  const a = shapes(withoutInit(() => createModel('test_efficientvmamba', { d_state: 1, dt_rank: 7 })));
  t.deepEqual(a.get('layers.0.blocks.0.op.A_logs'), [4 * 32, 16]);
  t.deepEqual(a.get('layers.1.blocks.0.op.x_proj_weight'), [4, 2 + 2 * 16, 64]); // R = ceil(32/16) = 2
  t.deepEqual(a.get('layers.2.1.se.conv_reduce.weight'), [32, 256, 1, 1]); // IR: 4C -> 4C/8
  t.deepEqual(a.get('layers.2.4.reduction.weight'), [128, 256]); // downsample at index depth + 2
  t.throws(() => createModel('test_efficientvmamba', { step_size: 3 }), { message: /step_size 3 is not supported/ });
  t.throws(() => createModel('test_efficientvmamba', { downsample_version: 'v3' }), { message: /downsample_version must be 'v1'.*or 'v2'/ });
  t.throws(() => createModel('test_efficientvmamba', { downsample: 'v1' }), { message: /did you mean downsample_version/ });
  // downsample v2 (conv 2x2) and ssm_ratio > 2 (low-rank in_rank/out_rank): the official keys
  const b = shapes(withoutInit(() => createModel('test_efficientvmamba', { downsample_version: 'v2', ssm_ratio: 3 })));
  t.deepEqual(b.get('layers.0.downsample.1.weight'), [32, 16, 2, 2]);
  t.deepEqual(b.get('layers.0.blocks.0.op.in_rank.weight'), [32, 48, 1, 1]);
  t.deepEqual(b.get('layers.0.blocks.0.op.out_rank.weight'), [48, 32]);
  t.deepEqual(b.get('layers.0.blocks.0.op.in_proj.weight'), [96, 16]);
});

test.serial('efficientvmamba: any registered scan replaces the atrous core; Backbone_EfficientVSSM outputs', async (t) => {
  await setBackend('cpu');
  const x = tf.randomNormal([1, 48, 64, 3], 0, 1, 'float32', 7);
  for (const [scan, K] of [['cross', 4], ['bidirectional', 2], ['multiscale', 2]] as const) {
    const m = createModel('test_efficientvmamba', { scan }).eval();
    t.deepEqual(shapes(m).get('layers.0.blocks.0.op.x_proj_weight'), [K, 1 + 32, 32], scan);
    const y = await m.forward(x).data();
    t.true(y.length === 10 && y.every(Number.isFinite), scan);
    m.dispose();
  }
  const bb = createModel('test_efficientvmamba', { out_indices: [1, 2, 3] }).eval();
  t.true(bb.namedParameters().some((p) => p.name === 'outnorm2.weight'));
  t.false(bb.namedParameters().some((p) => p.name.startsWith('classifier.')));
  t.deepEqual(bb.forwardIntermediates(x).map((f) => f.shape), [[1, 6, 8, 32], [1, 3, 4, 64], [1, 2, 2, 128]]);
  t.throws(() => bb.forward(x), { message: /built as a backbone/ });
  bb.dispose();
});
