// `ssmv bench model` (eval/speed): images/s, memory and the per-kernel breakdown of test_vmamba on
// cpu and webgpu (tiny sizes: a smoke test of the measurement, not a speed check), and bad input.
import test from 'ava';
import { runModelBench } from '../eval/speed/model-bench.ts';
import { run } from '../cli/bench-model.ts';
import { UsageError } from '../cli/args.ts';
import { testOnBackends } from './helpers/backends.ts';

testOnBackends('runModelBench measures inference and training of test_vmamba with a kernel breakdown', async (t, backend) => {
  const r = await runModelBench({
    model: 'test_vmamba', batch: 2, img: 32, numClasses: 10, warmup: 1, iters: 1, infer: true, train: true, profile: true,
    lr: 1e-3, weightDecay: 0.05, clipGrad: 0,
  });
  t.is(r.params, 458_138);
  for (const p of [r.inference!, r.training!]) {
    t.true(p.imagesPerSecond > 0 && Number.isFinite(p.imagesPerSecond));
    t.true(p.memory.peak >= p.memory.before && p.memory.peak > 0);
    const b = p.breakdown!;
    t.is(b.source, backend === 'webgpu' ? 'gpu-timestamps' : 'tf.profile');
    t.true(b.dispatches > 10 && b.byName.length > 3);
    t.true(Math.abs(b.byName.reduce((a, x) => a + x.share, 0) - 1) < 1e-6, 'shares add up to 1');
  }
  // the custom kernels run (their program / kernel names appear in the breakdown)
  const names = r.training!.breakdown!.byName.map((x) => x.name);
  const expected = backend === 'webgpu' ? ['LayerNormForward', 'LayerNormBackward', 'AdamW', 'DwConvGradFilter', 'MatMulTN'] : ['SsmvLayerNorm', 'SsmvLayerNormGrad', 'SsmvAdamW', 'SsmvDwConvGradFilter', 'SsmvMatMulTN'];
  for (const n of expected) t.true(names.includes(n), `${n} in the training breakdown (${names.join(', ')})`);
});

test('ssmv bench model: bad keys and values fail with a usage error before any work', async (t) => {
  await t.throwsAsync(() => run(['batch=0']), { instanceOf: UsageError, message: /batch must be >= 1/ });
  await t.throwsAsync(() => run(['infer=false', 'train=false']), { instanceOf: UsageError, message: /nothing to measure/ });
  await t.throwsAsync(() => run(['btach=4']), { instanceOf: UsageError, message: /did you mean batch/ });
});
