// The cpu selective-scan kernels' saved steps (N = 1): while a gradient tape records, the forward's
// second output carries dt, the softplus' sigmoid and exp(dt A) of every step (float64 bits in an
// int32 tensor) and the backward reads them instead of recomputing; outside a tape it stays empty.
// Both backward paths must give the same bits, the forward the same y either way; plans with zero
// tokens and repeated visits, no plan, softplus on (with steps past its threshold 20) and off.
import test from 'ava';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { Rng } from '../core/rng.ts';
import { SCAN_GRAD_KERNEL, SCAN_KERNEL } from '../scans/kernel/selective-scan/types.ts';
import { validateScan } from '../scans/kernel/selective-scan/validate.ts';
import type { SelectiveScanInputs } from '../scans/kernel/selective-scan/index.ts';
import '../scans/kernel/selective-scan/register.ts';
import type { ScanPlan } from '../scans/plan.ts';
import { randomPlan } from './selective-scan-oracle.ts';

test.before(async () => {
  await setBackend('cpu');
});

const bits = (t: Tensor) => {
  const v = t.dataSync(); // cpu backend: no GPU sync
  return Array.from(v instanceof Float32Array ? new Uint32Array(v.buffer, v.byteOffset, v.length) : v);
};

interface Case { title: string; plan: ScanPlan | null; softplus: boolean }

const rng = new Rng(2024);
const CASES: Case[] = [
  { title: "cross-like random plan, merge 'sum', zero tokens and repeats", plan: randomPlan(rng, 3, 4, 4, 16, 'sum', true), softplus: true },
  { title: "random plan, merge 'none', zero tokens", plan: randomPlan(rng, 3, 4, 4, 14, 'none', false), softplus: true },
  { title: 'no plan', plan: null, softplus: true },
  { title: 'no plan, no softplus', plan: null, softplus: false },
];

for (const c of CASES) {
  test.serial(`N = 1 backward from the forward's saved steps equals the recomputing backward, bit for bit: ${c.title}`, (t) => {
    const r = new Rng(7);
    const [batch, K, D] = [2, c.plan ? c.plan.K : 1, 3];
    const L = c.plan ? c.plan.L : 11;
    const P = c.plan ? c.plan.H * c.plan.W : L;
    const tsr = (shape: number[], scale = 1, shift = 0) =>
      tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => shift + scale * r.normal()), shape);
    // a few steps past the softplus threshold (x > 20: dt = x, derivative 1)
    const delta = tf.add(tsr([batch, K * D, P], 0.5, -0.5), tf.mul(tf.cast(tf.greater(tsr([batch, K * D, P]), 1.6), 'float32'), 25));
    const inputs: SelectiveScanInputs = {
      u: tsr([batch, c.plan ? D : K * D, P]), delta, A: tf.neg(tf.exp(tsr([K * D, 1], 0.5))),
      B: tsr([batch, K, 1, P]), C: tsr([batch, K, 1, P]), D: tsr([K * D]), deltaBias: tsr([K * D], 0.3),
    };
    const opts = { deltaSoftplus: c.softplus, plan: c.plan ?? undefined };
    const g = validateScan(inputs, opts);
    t.is(g.N, 1);
    const named = {
      u: inputs.u, delta: inputs.delta, A: inputs.A, B: inputs.B, C: inputs.C, D: inputs.D!, deltaBias: inputs.deltaBias!,
      index: c.plan ? tf.tensor2d(c.plan.index, [c.plan.K, c.plan.L], 'int32') : tf.zeros([1], 'int32'),
    };
    const attrs = { ...g } as unknown as tf.NamedAttrMap;
    const run = () => tf.engine().runKernel(SCAN_KERNEL, named as unknown as tf.NamedTensorMap, attrs) as Tensor[];

    const [yPlain, statesPlain] = run();
    t.is(statesPlain.size, 0, 'no tape: nothing saved');
    let yTaped: Tensor | null = null;
    let saved: Tensor | null = null;
    tf.grad((u: Tensor) => {
      const [y, states] = tf.engine().runKernel(SCAN_KERNEL, { ...named, u } as unknown as tf.NamedTensorMap, attrs) as Tensor[];
      yTaped = tf.keep(y);
      saved = tf.keep(states);
      return tf.sum(y);
    })(inputs.u);
    t.is(saved!.dtype, 'int32');
    t.is(saved!.size, batch * K * D * L * 3 * 2, 'dt, sigmoid and decay (float64) per step');
    t.deepEqual(bits(yTaped!), bits(yPlain), 'y does not depend on saving');

    const dy = tsr(yPlain.shape as number[]);
    const grad = (states: Tensor) =>
      tf.engine().runKernel(SCAN_GRAD_KERNEL, { ...named, states, dy } as unknown as tf.NamedTensorMap, attrs) as Tensor[];
    const fromSaved = grad(saved!);
    const recomputed = grad(statesPlain);
    const names = ['du', 'ddelta', 'dB', 'dC', 'dParams'];
    for (let i = 0; i < names.length; i++) {
      t.true(fromSaved[i].dataSync().some((x) => x !== 0), `${names[i]} is not all zeros`);
      t.deepEqual(bits(fromSaved[i]), bits(recomputed[i]), names[i]);
    }
    tf.dispose([...Object.values(named), yPlain, statesPlain, yTaped!, saved!, dy, ...fromSaved, ...recomputed]);
  });
}
