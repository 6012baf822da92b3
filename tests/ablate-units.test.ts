// The pieces of `ssmv ablate`: peak-memory sampling on known allocations, the benchmarks (no leaked
// tensors, the training step really updates), config resolution and comparison, which scans a family
// takes (MambaOut: the 'none' baseline row), the per-scan summary and the CSV on hand-made rows.
import test from 'ava';
import { tf } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { testOnBackends } from './helpers/backends.ts';
import { createModel } from '../backbones/index.ts';
import { scans } from '../scans/index.ts';
import { measurePeakMemory, benchInference, benchTraining } from '../eval/ablate/metrics.ts';
import { resolveAblateConfig, comparableConfig, configDiff, trainConfigFor } from '../eval/ablate/config.ts';
import { scansFor, probeScan, checkNames } from '../eval/ablate/probe.ts';
import { summarize, stat, type AblationRow } from '../eval/ablate/results.ts';
import { toCsv, CSV_COLUMNS, si, pm } from '../eval/ablate/report.ts';

test.before(async () => {
  await setBackend('cpu');
});

testOnBackends('peak memory is sampled after every kernel: two live 4000-byte results inside the step, one after', async (t, backend) => {
  const a0 = tf.ones([1000]);
  tf.dispose(tf.add(a0, a0)); // on webgpu: a0 is on the GPU before the measurement
  const m = await measurePeakMemory(() => tf.tidy(() => {
    const a = tf.add(a0, a0); // kernel: +4000 bytes
    return tf.mul(a, a); // kernel: +4000 bytes, a and the result alive; tidy then frees a
  }));
  a0.dispose();
  if (backend === 'cpu') {
    t.is(m.field, 'numBytes');
    t.is(m.peak - m.before, 8000);
    t.is(m.samples, 3, 'two kernels and the final sample');
  } else {
    // numBytesInGPU also counts the programs' uniform buffers (released after submission)
    t.is(m.field, 'numBytesInGPU');
    t.true(m.peak - m.before >= 8000, `${m.peak - m.before}`);
    t.true(m.samples >= 5, 'two kernels, their two programs and the final sample');
    t.false(Object.prototype.hasOwnProperty.call(tf.backend(), 'runWebGPUProgram'));
  }
  // the engine is restored: kernels run after it are not sampled any more
  t.false(Object.prototype.hasOwnProperty.call(tf.engine(), 'runKernelFunc'));
  await setBackend('cpu');
});

test.serial('benchmarks: images/s = batch x steps / seconds, no leaked tensors, the training step updates the weights', async (t) => {
  const model = createModel('test_vmamba', { num_classes: 3 });
  const w0 = await model.namedParameters()[0].variable.data();
  const tensors = tf.memory().numTensors;
  const o = { batch: 2, size: 16, numClasses: 3, warmup: 1, steps: 2 };
  const inf = await benchInference(model, o);
  t.true(model.training, 'train mode restored');
  t.is(tf.memory().numTensors, tensors, 'inference leaves no tensor behind');
  t.true(Math.abs(inf.throughput.imagesPerSecond - 4 / inf.throughput.seconds) < 1e-9);
  t.true(inf.memory.peak > inf.memory.before);
  const trn = await benchTraining(model, { ...o, lr: 0.1, weightDecay: 0.05, clipGrad: 5, smoothing: 0.1 });
  t.is(tf.memory().numTensors, tensors, 'training leaves no tensor behind (optimizer state disposed)');
  t.true(trn.throughput.imagesPerSecond > 0 && trn.throughput.steps === 2);
  // before the memory step: weights + AdamW's two moments per parameter (+ the inputs)
  const weights = model.namedParameters().reduce((a, p) => a + 4 * p.variable.size, 0);
  t.true(trn.memory.before >= 3 * weights, `${trn.memory.before} >= 3 x ${weights}`);
  t.true(trn.memory.peak > trn.memory.before);
  const w1 = await model.namedParameters()[0].variable.data();
  t.notDeepEqual(Array.from(w1), Array.from(w0), '4 AdamW updates changed the weights');
  model.dispose();
});

test('config: derived defaults, the row training config, and which keys are compared on a rerun', (t) => {
  const c = resolveAblateConfig({ epochs: 1, imgsz: 16 });
  t.is(c.warmup_epochs, 0, 'no warmup when there is one epoch');
  t.is(resolveAblateConfig({ epochs: 3 }).warmup_epochs, 1);
  t.is(resolveAblateConfig({ warmup_epochs: 2, epochs: 3 }).warmup_epochs, 2);
  t.is(c.bench_batch, c.batch);
  t.is(c.erf_size, 64);
  const tc = trainConfigFor(c, 'test_vmamba', 3, '/d', 'n', '/runs');
  t.like(tc, { model: 'test_vmamba', seed: 3, data: '/d', epochs: 1, imgsz: 16, lr: 1e-3, mixup: 0, model_ema: false, exist_ok: true, val: true, resume: '', project: '/runs', name: 'n' });
  const cmp = comparableConfig(c);
  for (const k of ['model', 'scans', 'seeds', 'out', 'force', 'workers']) t.false(k in cmp, k);
  for (const k of ['epochs', 'lr', 'imgsz', 'backend', 'erf_size', 'bench_steps', 'data']) t.true(k in cmp, k);
  t.deepEqual(configDiff(cmp, comparableConfig({ ...c, seeds: [5, 6], epochs: 2 })).map((d) => d.key), ['epochs']);
  t.throws(() => resolveAblateConfig({ seeds: [] }), { message: /seeds: give at least one seed/ });
  t.throws(() => resolveAblateConfig({ scans: ['cross', 'cross'] }), { message: /scans: lists 'cross' twice/ });
  t.throws(() => resolveAblateConfig({ classes: 9 }), { message: /classes: must be 2\.\.8/ });
  t.throws(() => resolveAblateConfig({ erf_size: 4 }), { message: /erf_size: must be >= 8/ });
  t.throws(() => checkNames(['test_vmamba'], ['zigzg']), { message: /unknown scan strategy 'zigzg' \(did you mean zigzag\?\)/ });
});

test.serial("the family decides: MambaOut takes no scan (one 'none' row, the paper's baseline), VMamba takes every registered one", async (t) => {
  t.deepEqual(scansFor('test_mambaout', []), ['none']);
  t.deepEqual(scansFor('test_vmamba', []), scans.names());
  t.deepEqual(scansFor('test_mambaout', ['cross']), ['cross']);
  const refused = await probeScan('test_mambaout', 'cross', 2, 32, false);
  t.false(refused.accepted);
  t.regex(refused.reason!, /MambaOut has no state-space model/);
  const none = await probeScan('test_mambaout', 'none', 2, 32, false);
  t.true(none.accepted);
  const m = createModel('test_mambaout', { num_classes: 2 });
  t.is(none.params, m.numParams());
  m.dispose();
  t.is(none.directions, null);
  t.true(none.flops! > 0);
  const lb = await probeScan('test_lbvim', 'cross', 2, 32, false);
  t.regex(lb.reason!, /lbvim: scan 'cross' has 4 directions; a plain Mamba layer scans one/);
});

const row = (scan: string, seed: number | null, status: AblationRow['status'], extra: Partial<AblationRow> = {}): AblationRow =>
  ({ id: `m/${scan}/${seed}`, model: 'm', family: 'f', scan, seed, status, ...extra });

test('summary per scan: mean, sample std, seeds, and the status of incomplete scans', (t) => {
  const rows = [
    row('a', 0, 'done', { top1: 50, train_ips: 10, peak_train_bytes: 2 * 1048576, params: 7 }),
    row('a', 1, 'done', { top1: 60, train_ips: 14, peak_train_bytes: 4 * 1048576, params: 7 }),
    row('a', 2, 'done', { top1: 70, train_ips: 12, peak_train_bytes: 6 * 1048576, params: 7 }),
    row('b', null, 'skipped', { reason: 'no, thanks' }),
    row('c', 0, 'done', { top1: 40 }),
    row('c', 1, 'error', { reason: 'boom' }),
    row('d', 0, 'diverged', { reason: 'loss is NaN' }),
  ];
  const s = summarize(rows, [0, 1, 2]);
  t.deepEqual(s.map((x) => [x.scan, x.status]), [['a', 'done'], ['b', 'skipped'], ['c', 'partial'], ['d', 'diverged']]);
  t.deepEqual(s[0].top1, { mean: 60, std: 10, n: 3 });
  t.deepEqual(s[0].train_ips, { mean: 12, std: 2, n: 3 });
  t.deepEqual(s[0].peak_train_mib, { mean: 4, std: 2, n: 3 });
  t.deepEqual(s[0].seeds, [0, 1, 2]);
  t.is(s[0].params, 7);
  t.is(s[1].reason, 'no, thanks');
  t.deepEqual(s[2].top1, { mean: 40, std: null, n: 1 });
  t.is(s[2].reason, 'seed 1: boom');
  t.is(stat([]), undefined);
  t.is(pm(s[0].top1, 1), '60.0 ± 10.0');
  t.is(pm(s[2].top1, 2), '40.00');
  t.is(si(4858e6), '4.86 G');
  t.is(si(457106), '457 K');
});

test('csv: a header of the documented columns, one line per row, quoted cells where needed', (t) => {
  const csv = toCsv([row('a', 0, 'done', { top1: 50, erf: { size: 8, feature: [1, 1], images: 2, nanImages: 0, grad: 'relu', scale: 'pow', ratios: { r20: 0.1, r30: 0.2, r50: 0.5, r99: null }, file: 'e.json' } }), row('b', null, 'skipped', { reason: 'has "quotes", and commas' })]);
  const lines = csv.trim().split('\n');
  t.is(lines[0], CSV_COLUMNS.join(','));
  t.is(lines.length, 3);
  const cols = lines[0].split(',');
  t.is(lines[1].split(',')[cols.indexOf('erf_r50')], '0.5');
  t.is(lines[1].split(',')[cols.indexOf('erf_r99')], '');
  t.true(lines[2].includes('"has ""quotes"", and commas"'));
});
