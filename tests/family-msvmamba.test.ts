// MSVMamba against the official code: golden checkpoint on cpu and webgpu, parameter counts of the
// released nano/micro/tiny, the test_ variant's contract, ms_stage/ms_split, scan replacement,
// Backbone_VSSM outputs and the arguments it must refuse.
import test from 'ava';
import { setBackend } from './helpers/backends.ts';
import { goldenTest, paramCountTest, variantContract, blockGradTest, flopsTest } from './helpers/family-suite.ts';
import { tf } from '../core/tf.ts';
import { createModel } from '../backbones/index.ts';
import { withoutInit } from '../core/nn/init.ts';

goldenTest('msvmamba');
paramCountTest('msvmamba');
flopsTest('msvmamba', '1-2.5% below the full 224 count (0.8904/1.5380/4.5969 G): at 224 the low-res branch rounds 7 up to 4, and the dense-matrix upsampling of scans/multiscale.ts grows faster than H*W');
variantContract('msvmamba', { gradInput: [32, 32], typo: { variant: 'msvmamba_nanno', expect: 'msvmamba_nano' }, badKwarg: { key: 'ms_splits', expect: 'ms_split' } });

// two stages of multi-scale SS2D (+ SE) and ConvFFN blocks
blockGradTest('msvmamba: a stage of multi-scale SS2D (+ SE) and ConvFFN, gradients reach every parameter, webgpu = cpu', () =>
  createModel('test_msvmamba', { depths: [1], dims: 8, num_classes: 4 }), [1, 24, 32, 3]);

const shapes = (kw: Record<string, unknown>) => {
  const m = withoutInit(() => createModel('test_msvmamba', kw));
  const out = new Map(m.namedParameters().map((p) => [p.name, p.torchShape]));
  m.dispose();
  return out;
};

test.serial('msvmamba: multi-scale parameters as upstream; ms_stage keeps the cross core elsewhere; sscore_type None', async (t) => {
  await setBackend('cpu');
  const ms = shapes({});
  t.deepEqual(ms.get('layers.0.blocks.0.op.x_proj_weight'), [2, 1 + 2, 32]); // K = 1 + ms_split[0], N = 1
  t.deepEqual(ms.get('layers.0.blocks.0.op.conv2d_b1.weight'), [32, 1, 7, 7]);
  t.deepEqual(ms.get('layers.0.blocks.0.op.se.fc.0.weight'), [4, 32]);
  t.deepEqual(ms.get('layers.0.blocks.0.convFFN.dwc.weight'), [32, 1, 3, 3]);
  const part = shapes({ ms_stage: [2, 3] });
  t.deepEqual(part.get('layers.0.blocks.0.op.x_proj_weight'), [4, 3, 32]); // cross (v2 core) outside ms_stage
  t.false(part.has('layers.0.blocks.0.op.conv2d_b1.weight'));
  t.deepEqual(part.get('layers.2.blocks.0.op.x_proj_weight'), [2, 4 + 2, 128]);
  const none = shapes({ sscore_type: 'None' });
  t.false([...none.keys()].some((k) => k.includes('conv2d_b1')));
  // the forward runs with a mixed configuration on an odd-sized input (ceil(H/2) low-res maps)
  const m = createModel('test_msvmamba', { ms_stage: [1, 3] }).eval();
  const feats = m.forwardIntermediates(tf.randomNormal([1, 36, 52, 3], 0, 1, 'float32', 3));
  t.deepEqual(feats.map((f) => f.shape), [[1, 9, 13, 16], [1, 5, 7, 32], [1, 3, 4, 64], [1, 2, 2, 128]]);
  t.true((await feats[3].data()).every(Number.isFinite));
  m.dispose();
});

test.serial('msvmamba: any registered scan replaces the multi-scale core; Backbone_VSSM outputs', async (t) => {
  await setBackend('cpu');
  const x = tf.randomNormal([1, 32, 48, 3], 0, 1, 'float32', 7);
  for (const [scan, K] of [['atrous', 4], ['hilbert', 4], ['bidirectional', 2]] as const) {
    const m = createModel('test_msvmamba', { scan }).eval();
    t.deepEqual(m.namedParameters().find((p) => p.name === 'layers.0.blocks.0.op.x_proj_weight')!.torchShape, [K, 3, 32], scan);
    const y = await m.forward(x).data();
    t.true(y.length === 10 && y.every(Number.isFinite), scan);
    m.dispose();
  }
  const bb = createModel('test_msvmamba', { out_indices: [0, 2] }).eval();
  t.deepEqual(bb.forwardIntermediates(x).map((f) => f.shape), [[1, 8, 12, 16], [1, 2, 3, 64]]);
  t.true(bb.namedParameters().some((p) => p.name === 'outnorm0.weight'));
  t.throws(() => bb.forward(x), { message: /built as a backbone/ });
  bb.dispose();
});

test.serial('msvmamba: settings the official code cannot run or no release uses are refused by name', async (t) => {
  await setBackend('cpu');
  t.throws(() => createModel('test_msvmamba', { ms_split: [1, 2] }), { message: /ms_split must be \[1, 3\]/ });
  t.throws(() => createModel('test_msvmamba', { sep_norm: true }), { message: /sep_norm=True/ });
  t.throws(() => createModel('test_msvmamba', { add_conv: false }), { message: /add_conv=False/ });
  t.throws(() => createModel('test_msvmamba', { sscore_type: 'multiscale_2scan' }), { message: /sscore_type must be/ });
  t.throws(() => createModel('test_msvmamba', { ssm_act_layer: 'gelu' }), { message: /activates conv2d_b1 with SiLU/ });
  t.throws(() => createModel('test_msvmamba', { ssm_ratio: 2, ssm_rank_ratio: 1 }), { message: /low-rank/ });
  // accepted with no effect, as upstream (SS2D reads 'upsample', never passed)
  t.is(withoutInit(() => createModel('test_msvmamba', { up_sample: 'conv', lpu: true, b1_ratio: 0.3 })).numParams(), 395_594);
});
