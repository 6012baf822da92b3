// Fused scan plans: selectiveScan(..., {plan}) must equal the unfused path with an explicit
// gather before and scatter after (forward and every gradient), on random plans with zero tokens
// (-1), both merge rules, shared and per-direction u, repeated visits, grouped B/C, localBackward.
import { testOnBackends, relErr } from './helpers/backends.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { Rng } from '../core/rng.ts';
import type { ScanPlan, MergeRule } from '../scans/plan.ts';
import { selectiveScan, gatherPlan, scatterPlan, type SelectiveScanInputs } from '../scans/kernel/selective-scan/index.ts';
import { inputList, inputNames, randomPlan, withInputs } from './selective-scan-oracle.ts';

interface PlanCase {
  title: string; merge: MergeRule; shared: boolean; repeats: boolean; G: (K: number) => number; localBackward?: number;
}

const CASES: PlanCase[] = [
  { title: "merge 'sum', shared u, permutations with zero tokens", merge: 'sum', shared: true, repeats: false, G: (K) => K },
  { title: "merge 'sum', per-direction u, repeated visits", merge: 'sum', shared: false, repeats: true, G: (K) => K },
  { title: "merge 'sum', shared u, repeated visits, 2 groups per direction", merge: 'sum', shared: true, repeats: true, G: (K) => 2 * K },
  { title: "merge 'none', shared u", merge: 'none', shared: true, repeats: false, G: (K) => K },
  { title: "merge 'none', per-direction u, 2 groups per direction", merge: 'none', shared: false, repeats: false, G: (K) => 2 * K },
  { title: "merge 'sum', shared u, localBackward 4", merge: 'sum', shared: true, repeats: false, G: (K) => K, localBackward: 4 },
];

/** The unfused path: cross-scanned copies (gather), the plain kernel, then the merge (scatter). */
function unfused(inputs: SelectiveScanInputs, plan: ScanPlan, shared: boolean, opts: { deltaSoftplus: boolean; localBackward?: number }): Tensor {
  const [batch, G, N, P] = inputs.B.shape as number[];
  const groups = (x: Tensor) => tf.reshape(gatherPlan(tf.reshape(x, [batch, G * N, P]), plan, true), [batch, G, N, plan.L]);
  const y = selectiveScan({
    ...inputs,
    u: gatherPlan(inputs.u, plan, !shared),
    delta: gatherPlan(inputs.delta, plan, true),
    B: groups(inputs.B),
    C: groups(inputs.C),
  }, opts);
  return scatterPlan(y, plan);
}

CASES.forEach((pc, ci) => {
  testOnBackends(`plan path equals gather + unfused scan + scatter: ${pc.title}`, async (t) => {
    const rng = new Rng(100 + ci);
    const [H, W, K, D, N, batch] = [3, 5, 4, 4, 2, 2];
    const L = pc.repeats ? 24 : 18;
    const plan = randomPlan(rng, H, W, K, L, pc.merge, pc.repeats);
    const P = H * W;
    const G = pc.G(K);
    const tsr = (shape: number[], scale = 1, shift = 0) =>
      tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => shift + scale * rng.normal()), shape);
    const inputs: SelectiveScanInputs = {
      u: tsr([batch, pc.shared ? D : K * D, P]),
      delta: tsr([batch, K * D, P], 0.5, -0.5),
      A: tf.neg(tf.exp(tsr([K * D, N], 0.5))),
      B: tsr([batch, G, N, P]),
      C: tsr([batch, G, N, P]),
      D: tsr([K * D]),
      deltaBias: tsr([K * D], 0.3),
    };
    const opts = { deltaSoftplus: true, localBackward: pc.localBackward };
    const fused = selectiveScan(inputs, { ...opts, plan });
    const ref = unfused(inputs, plan, pc.shared, opts);
    t.deepEqual(fused.shape, pc.merge === 'sum' ? [batch, D, P] : [batch, K * D, P]);
    const dy = tsr(fused.shape as number[]);
    const loss = (f: (x: SelectiveScanInputs) => Tensor) => (...xs: Tensor[]) => tf.sum(tf.mul(f(withInputs(inputs, xs)), dy));
    const gFused = tf.grads(loss((x) => selectiveScan(x, { ...opts, plan })))(inputList(inputs));
    const gRef = tf.grads(loss((x) => unfused(x, plan, pc.shared, opts)))(inputList(inputs));
    const figures: string[] = [];
    const compare = async (name: string, a: Tensor, b: Tensor) => {
      const ref = await b.data(); // GPU->CPU sync
      t.true(ref.some((x) => x !== 0), `${name}: the reference is all zeros`);
      const e = relErr(await a.data(), ref);
      figures.push(`${name} ${e.toExponential(1)}`);
      t.true(e <= 1e-4, `${name}: ${e}`);
    };
    await compare('y', fused, ref);
    const names = inputNames(inputs);
    for (let j = 0; j < names.length; j++) await compare(`d${names[j]}`, gFused[j], gRef[j]);
    t.log(figures.join(', '));
    tf.dispose([...inputList(inputs), fused, ref, dy, ...gFused, ...gRef]);
  });
});
