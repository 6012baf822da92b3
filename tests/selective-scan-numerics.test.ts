// selectiveScan numerics: gradients against central finite differences of a float64 JS oracle,
// LBMamba's local backward against the definition, L >= 50,000 (no overflow, correct values),
// NaN in -> NaN out, optimizers through the registered gradient.
import test from 'ava';
import { testOnBackends, relErr, setBackend } from './helpers/backends.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { Rng } from '../core/rng.ts';
import { selectiveScan } from '../scans/kernel/selective-scan/index.ts';
import { caseInputs, inputList, inputNames, randomCase, scanF64, withInputs, type F64Case } from './selective-scan-oracle.ts';

const FIELDS: Record<string, keyof F64Case> = { u: 'u', delta: 'delta', A: 'A', B: 'B', C: 'C', D: 'D', deltaBias: 'bias' };

/** d/dx of sum(y * dy) by central differences of the float64 oracle, for every entry of every input. */
function finiteDifferences(k: F64Case, dy: Float64Array, softplus: boolean, window: number): Record<string, Float64Array> {
  const loss = () => scanF64(k, softplus, window).reduce((acc, v, i) => acc + v * dy[i], 0);
  const out: Record<string, Float64Array> = {};
  for (const [name, field] of Object.entries(FIELDS)) {
    const x = k[field] as Float64Array | undefined;
    if (!x) continue;
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      const eps = 1e-6 * Math.max(1, Math.abs(x0));
      x[i] = x0 + eps;
      const up = loss();
      x[i] = x0 - eps;
      const down = loss();
      x[i] = x0;
      g[i] = (up - down) / (2 * eps);
    }
    out[name] = g;
  }
  return out;
}

for (const window of [0, 3]) {
  testOnBackends(`gradients match finite differences of the float64 definition${window ? ` (localBackward ${window})` : ''}`, async (t) => {
    const rng = new Rng(7 + window);
    const k = randomCase(rng, 2, 4, 2, 3, 11, { D: true, bias: true });
    const dy = Float64Array.from({ length: k.batch * k.channels * k.L }, () => Math.fround(rng.normal()));
    const inputs = caseInputs(k);
    const opts = { deltaSoftplus: true, localBackward: window };
    const dyT = tf.tensor3d(Float32Array.from(dy), [k.batch, k.channels, k.L]);
    const y = selectiveScan(inputs, opts);
    const yErr = relErr(await y.data(), scanF64(k, true, window)); // GPU->CPU sync
    t.true(yErr <= 1e-5, `y: ${yErr}`);
    const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(selectiveScan(withInputs(inputs, xs), opts), dyT)))(inputList(inputs));
    const fd = finiteDifferences(k, dy, true, window);
    const figures = [`y ${yErr.toExponential(1)}`];
    const names = inputNames(inputs);
    for (let j = 0; j < names.length; j++) {
      const e = relErr(await grads[j].data(), fd[names[j]]); // GPU->CPU sync
      figures.push(`d${names[j]} ${e.toExponential(1)}`);
      t.true(e <= 1e-4, `d${names[j]}: ${e}`);
    }
    t.log(`vs float64 finite differences: ${figures.join(', ')}`);
    tf.dispose([...inputList(inputs), dyT, y, ...grads]);
  });
}

testOnBackends('localBackward equals the LBMamba double loop for windows 4 and 5 with a partial last window', async (t) => {
  const rng = new Rng(11);
  const k = randomCase(rng, 1, 6, 3, 2, 23, { D: true, bias: true });
  const inputs = caseInputs(k);
  const figures: string[] = [];
  for (const w of [4, 5]) {
    const y = selectiveScan(inputs, { deltaSoftplus: true, localBackward: w });
    const ref = scanF64(k, true, w);
    const e = relErr(await y.data(), ref); // GPU->CPU sync
    // the local backward must matter: the plain scan differs from it
    const plain = relErr(scanF64(k, true, 0), ref);
    t.true(plain > 1e-2, `window ${w} changes y (plain vs local-backward: ${plain})`);
    t.true(e <= 1e-5, `window ${w}: ${e}`);
    figures.push(`w${w} ${e.toExponential(1)}`);
    y.dispose();
  }
  t.log(figures.join(', '));
  tf.dispose(inputList(inputs));
});

testOnBackends('L = 50,000: finite, correct forward; gradients finite (and equal to the float64 cpu kernel on webgpu)', async (t, backend) => {
  const rng = new Rng(5);
  const L = 50_000;
  const k = randomCase(rng, 1, 4, 2, 2, L, { D: true, bias: true });
  // cumulative dt*A over the sequence reaches about -1e4: exp of it (or of its negative) under/overflows
  const inputs = caseInputs(k);
  const y = selectiveScan(inputs, { deltaSoftplus: true });
  const yv = await y.data(); // GPU->CPU sync
  t.true(yv.every(Number.isFinite), 'y finite');
  const e = relErr(yv, scanF64(k, true, 0));
  t.true(e <= 1e-4, `y vs float64: ${e}`);
  const dyT = tf.randomNormal([1, 4, L], 0, 1, 'float32', 3);
  const dyHost = await dyT.data(); // GPU->CPU sync
  const gradsOf = (x: typeof inputs, dyx: Tensor) =>
    tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(selectiveScan(withInputs(x, xs), { deltaSoftplus: true }), dyx)))(inputList(x));
  const grads = gradsOf(inputs, dyT);
  const values = await Promise.all(grads.map((g) => g.data())); // GPU->CPU sync
  const names = inputNames(inputs);
  values.forEach((v, j) => t.true(v.every(Number.isFinite), `d${names[j]} finite`));
  const figures = [`y ${e.toExponential(1)}`];
  if (backend !== 'cpu') {
    await setBackend('cpu');
    // fresh cpu tensors: the cpu kernel cannot read webgpu-resident data synchronously in Node
    const cpuInputs = caseInputs(k);
    const cpuDy = tf.tensor3d(dyHost, [1, 4, L]);
    const cpuGrads = gradsOf(cpuInputs, cpuDy);
    for (let j = 0; j < names.length; j++) {
      const ge = relErr(values[j], await cpuGrads[j].data());
      figures.push(`d${names[j]} ${ge.toExponential(1)}`);
      t.true(ge <= 1e-4, `d${names[j]} vs cpu kernel: ${ge}`);
    }
    tf.dispose([...cpuGrads, ...inputList(cpuInputs), cpuDy]);
    await setBackend(backend);
  }
  t.log(figures.join(', '));
  tf.dispose([...inputList(inputs), y, dyT, ...grads]);
});

testOnBackends('NaN in gives NaN out (from the NaN step on, in that channel only), without hanging', async (t) => {
  const rng = new Rng(3);
  const k = randomCase(rng, 1, 4, 2, 2, 40, { D: true, bias: true });
  k.u[1 * 40 + 17] = NaN; // channel 1, step 17
  const inputs = caseInputs(k);
  const y = await selectiveScan(inputs, { deltaSoftplus: true }).data(); // GPU->CPU sync
  for (let c = 0; c < 4; c++) {
    for (let s = 0; s < 40; s++) {
      const nan = Number.isNaN(y[c * 40 + s]);
      if (nan !== (c === 1 && s >= 17)) t.fail(`channel ${c} step ${s}: ${y[c * 40 + s]}`);
    }
  }
  // dC = dy * h sees the NaN state (du does not: it involves no state and no u)
  const g = tf.grad((C: Tensor) => tf.sum(selectiveScan({ ...inputs, C }, { deltaSoftplus: true })))(inputs.C);
  t.true((await g.data()).some(Number.isNaN), 'dC sees the NaN state'); // GPU->CPU sync
  tf.dispose([...inputList(inputs), g]);
});

testOnBackends('optimizers train through selectiveScan (variableGrads + Adam lower the loss)', async (t) => {
  const rng = new Rng(9);
  const k = randomCase(rng, 2, 4, 2, 2, 16, { D: true, bias: true });
  const inputs = caseInputs(k);
  const target = tf.randomNormal([2, 4, 16], 0, 1, 'float32', 1);
  const Alog = tf.variable(tf.log(tf.neg(inputs.A)));
  const D = tf.variable(tf.zeros([4]));
  const W = tf.variable(tf.ones([2, 2, 2, 16]));
  const loss = () => tf.mean(tf.square(tf.sub(selectiveScan({ ...inputs, A: tf.neg(tf.exp(Alog)), D, B: tf.mul(inputs.B, W) }, { deltaSoftplus: true }), target))) as tf.Scalar;
  const { value, grads } = tf.variableGrads(loss);
  t.deepEqual(Object.keys(grads).length, 3);
  const first = (await value.data())[0]; // GPU->CPU sync
  const opt = tf.train.adam(0.05);
  for (let i = 0; i < 15; i++) opt.minimize(loss);
  const last = (await loss().data())[0]; // GPU->CPU sync
  t.log(`loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
  t.true(last < first * 0.95, `loss ${first} -> ${last}`);
  tf.dispose([...inputList(inputs), target, Alog, D, W, value, ...Object.values(grads)]);
  opt.dispose();
});

test.serial('a backend without a kernel refuses, unless the reference is chosen explicitly (logged once)', async (t) => {
  const { useReferenceScanOn } = await import('../scans/kernel/selective-scan/index.ts');
  await setBackend('cpu');
  const cpu = tf.findBackend('cpu')!;
  const name = 'ssm-no-kernel';
  tf.registerBackend(name, () => new (cpu.constructor as new () => tf.KernelBackend)());
  tf.copyRegisteredKernels('cpu', name);
  tf.unregisterKernel('SelectiveScan', name);
  tf.unregisterKernel('SelectiveScanGrad', name);
  const k = randomCase(new Rng(1), 1, 2, 1, 2, 6, { D: true });
  const expected = await selectiveScan(caseInputs(k), { deltaSoftplus: true }).data();
  await tf.setBackend(name);
  const inputs = caseInputs(k);
  const err = t.throws(() => selectiveScan(inputs, { deltaSoftplus: true }));
  t.regex(err!.message, new RegExp(`no selective-scan kernel is registered for backend '${name}'.*useReferenceScanOn`));
  useReferenceScanOn(name);
  const y = await selectiveScan(inputs, { deltaSoftplus: true }).data();
  t.true(relErr(y, expected) <= 1e-5);
  tf.removeBackend(name);
  await setBackend('cpu');
});
