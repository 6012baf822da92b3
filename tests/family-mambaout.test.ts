// MambaOut (no SSM: the Gated CNN baseline) against the official code: golden checkpoint on cpu and
// webgpu, parameter counts of the five released models, the test_ variant's contract, timm-layout
// checkpoints, arguments it must refuse.
import test from 'ava';
import { setBackend } from './helpers/backends.ts';
import { goldenTest, paramCountTest, variantContract, blockGradTest, flopsTest } from './helpers/family-suite.ts';
import { tf } from '../core/tf.ts';
import { createModel } from '../backbones/index.ts';
import { MambaOut } from '../backbones/mambaout.ts';
import type { StateDict } from '../core/io/tensor-record.ts';
import { manualSeed } from '../core/rng.ts';

goldenTest('mambaout');
paramCountTest('mambaout');
flopsTest('mambaout', 'exact here: every map side halves evenly from 32, 64 and 224 (checked against a full 224 count: 1.1562/1.5152/4.4860/8.9603/15.8262 G)');
variantContract('mambaout', { gradInput: [32, 32], typo: { variant: 'mambaout_tyni', expect: 'mambaout_tiny' }, badKwarg: { key: 'kernel', expect: 'kernel_size' } });

// one GatedCNNBlock (norm, fc1, depthwise 7x7, fc2) + the stem, gradients on cpu and webgpu
blockGradTest('mambaout: one-stage model (stem, gated CNN block, MlpHead) gradients reach every parameter, webgpu = cpu', () => {
  const m = createModel({ family: 'mambaout', depths: [1], dims: [16], num_classes: 4 }) as MambaOut;
  return m;
}, [1, 16, 16, 3]);

test.serial('mambaout: timm-layout checkpoints load through checkpointFilter (the inverse of timm checkpoint_filter_fn)', async (t) => {
  await setBackend('cpu');
  manualSeed(3);
  const a = createModel('test_mambaout').eval() as MambaOut;
  const official = await a.stateDict();
  // official -> timm names, as timm's checkpoint_filter_fn writes them
  const timm: StateDict = new Map();
  for (const [k, v] of official) {
    let key = k.replace('downsample_layers.0.', 'stem.')
      .replace(/^stages\.(\d+)\.(\d+)\./, 'stages.$1.blocks.$2.')
      .replace(/^downsample_layers\.(\d+)\./, 'stages.$1.downsample.');
    if (key.startsWith('norm.')) key = `head.${key}`;
    else if (key.startsWith('head.')) key = key.replace('head.fc1.', 'head.pre_logits.fc.').replace('head.norm.', 'head.pre_logits.norm.').replace('head.fc2.', 'head.fc.');
    timm.set(key, v);
  }
  t.true(timm.has('stem.conv1.weight') && timm.has('head.pre_logits.norm.weight') && timm.has('stages.2.blocks.1.fc1.weight'));
  t.deepEqual([...a.checkpointFilter(timm).keys()].sort(), [...official.keys()].sort());
  manualSeed(4);
  const b = createModel('test_mambaout').eval() as MambaOut;
  b.loadStateDict(b.checkpointFilter(timm));
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 1);
  t.deepEqual(Array.from(await b.forward(x).data()), Array.from(await a.forward(x).data()));
  a.dispose();
  b.dispose();
});

test.serial('mambaout: no scan, class-valued kwargs as the official strings, refused arguments', async (t) => {
  await setBackend('cpu');
  t.throws(() => createModel('test_mambaout', { scan: 'cross' }), { message: /no state-space model, so there is no scan/ });
  // norm_layer / output_norm / act_layer written as upstream configs write them
  const m = createModel({ family: 'mambaout', depths: [1, 1], dims: [16, 32], num_classes: 3, norm_layer: 'nn.LayerNorm', output_norm: 'partial(nn.LayerNorm, eps=1e-6)', act_layer: 'nn.SiLU', head_fn: 'nn.Linear' });
  t.deepEqual(m.forward(tf.zeros([1, 32, 32, 3])).shape, [1, 3]);
  t.true(m.namedParameters().some((p) => p.name === 'head.weight'));
  m.dispose();
  t.throws(() => createModel('test_mambaout', { norm_layer: 'nn.BatchNorm2d' }), { message: /norm_layer must be a LayerNorm/ });
  t.throws(() => createModel('test_mambaout', { kernel_size: 4 }), { message: /kernel_size must be an odd positive integer/ });
  t.throws(() => createModel('test_mambaout', { downsample_layers: 'custom' }), { message: /downsample_layers must be the official/ });
});
