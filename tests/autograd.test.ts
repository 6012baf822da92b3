// core/autograd variableGrads: the same loss and gradients as tf.variableGrads, with a lower peak
// (saved tensors and activation gradients freed during the backward pass), on cpu and webgpu.
import { tf, type Tensor } from '../core/tf.ts';
import { variableGrads } from '../core/autograd.ts';
import { createModel } from '../backbones/registry.ts';
import '../backbones/index.ts';
import { crossEntropy } from '../train/loss.ts';
import { globalRng } from '../core/rng.ts';
import { measurePeakMemory } from '../eval/ablate/metrics.ts';
import { testOnBackends, relErr } from './helpers/backends.ts';

testOnBackends('variableGrads equals tf.variableGrads on test_vmamba (train mode, drop path) and peaks lower', async (t) => {
  const model = createModel('test_vmamba') as unknown as { forward(x: Tensor): Tensor; parameters(): tf.Variable[]; train(): void; dispose(): void };
  model.train();
  const vars = model.parameters();
  const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 3);
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  const loss = () => crossEntropy(model.forward(x), y) as tf.Scalar;
  const run = (vg: typeof variableGrads) => {
    globalRng.seed(7); // same drop-path masks in both runs
    const { value, grads } = vg(loss, vars);
    return [value, ...vars.map((v) => grads[v.name])];
  };
  let ref: Tensor[] = [];
  let ours: Tensor[] = [];
  const peakRef = await measurePeakMemory(() => (ref = run(tf.variableGrads as typeof variableGrads)).map((g) => g.clone()));
  const peakOurs = await measurePeakMemory(() => (ours = run(variableGrads)).map((g) => g.clone()));
  t.is(ours.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    const [a, b] = await Promise.all([ours[i].data(), ref[i].data()]);
    t.true(relErr(a, b) === 0, `tensor ${i}: rel err ${relErr(a, b)}`);
  }
  t.log(`peak above the weights: tf.variableGrads ${((peakRef.peak - peakRef.before) / 1e6).toFixed(2)} MB, core/autograd ${((peakOurs.peak - peakOurs.before) / 1e6).toFixed(2)} MB`);
  t.true(peakOurs.peak - peakOurs.before < 0.8 * (peakRef.peak - peakRef.before), 'lower peak');
  tf.dispose([...ref, ...ours, x, y]);
  model.dispose();
});

testOnBackends('variableGrads: errors name the problem (no trainable variable, non-scalar loss)', (t) => {
  const v = tf.variable(tf.ones([3]), false);
  t.throws(() => variableGrads(() => tf.sum(v) as tf.Scalar, [v]), { message: /none of the 1 variables is trainable/ });
  const w = tf.variable(tf.ones([3]));
  t.throws(() => variableGrads(() => tf.mul(w, 2) as unknown as tf.Scalar, [w]), { message: /must return a scalar/ });
  tf.dispose([v, w]);
});
