// Bad input to selectiveScan: every wrong rank / shape / dtype names the tensor with expected and
// actual shapes; channels not divisible by the B/C groups or by the plan's directions are errors.
import { testOnBackends } from './helpers/backends.ts';
import { backendInfo } from '../core/backend.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { selectiveScan, type SelectiveScanInputs, type SelectiveScanOptions } from '../scans/kernel/selective-scan/index.ts';
import type { ScanPlan } from '../scans/plan.ts';

const good = (): SelectiveScanInputs => ({
  u: tf.zeros([2, 6, 5]),
  delta: tf.zeros([2, 6, 5]),
  A: tf.fill([6, 3], -1),
  B: tf.zeros([2, 2, 3, 5]),
  C: tf.zeros([2, 2, 3, 5]),
  D: tf.zeros([6]),
  deltaBias: tf.zeros([6]),
});

// a 2 x 3 map, 3 directions of 6 steps (plan channels 6 = 3 directions x 2)
const plan: ScanPlan = {
  strategy: 'test', H: 2, W: 3, K: 3, L: 6, merge: 'sum',
  index: Int32Array.from([0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0, 0, 3, 1, 4, 2, 5]),
  directions: ['row-major', 'reversed', 'column-major'],
};

const CASES: Array<[string, (x: SelectiveScanInputs) => SelectiveScanInputs, SelectiveScanOptions, RegExp]> = [
  ['u of rank 2', (x) => ({ ...x, u: tf.zeros([2, 6]) }), {}, /'u' must have rank 3 \(B, K\*D, L\), got rank 2 with shape \[2, 6\]/],
  ['delta of another length', (x) => ({ ...x, delta: tf.zeros([2, 6, 4]) }), {}, /'delta' must have shape \(B, K\*D, L\) = \[2, 6, 5\], got \[2, 6, 4\]/],
  ['int32 u', (x) => ({ ...x, u: tf.zeros([2, 6, 5], 'int32') }), {}, /'u' must be float32, got int32 with shape \[2, 6, 5\]/],
  ['A with the wrong channel count', (x) => ({ ...x, A: tf.zeros([5, 3]) }), {}, /'delta' must have shape \(B, K\*D, L\) = \[2, 5, 5\], got \[2, 6, 5\]/],
  ['C of another state size', (x) => ({ ...x, C: tf.zeros([2, 2, 4, 5]) }), {}, /'C' must have shape \(B, G, N, L\) = \[2, 2, 3, 5\], got \[2, 2, 4, 5\]/],
  ['groups not dividing the channels', (x) => ({ ...x, B: tf.zeros([2, 4, 3, 5]), C: tf.zeros([2, 4, 3, 5]) }), {}, /K\*D = 6 channels are not divisible by the 4 groups of B\/C/],
  ['D of the wrong length', (x) => ({ ...x, D: tf.zeros([5]) }), {}, /'D' must have shape \(K\*D\) = \[6\], got \[5\]/],
  ['deltaBias of rank 2', (x) => ({ ...x, deltaBias: tf.zeros([6, 1]) }), {}, /'deltaBias' must have rank 1 \(K\*D\), got rank 2/],
  ['a missing C', (x) => ({ ...x, C: undefined as unknown as Tensor }), {}, /'C' must be a tf.Tensor \(B, G, N, L\), got undefined/],
  ['an unknown input', (x) => ({ ...x, z: tf.zeros([1]) }) as SelectiveScanInputs, {}, /unknown input 'z'/],
  ['a negative localBackward', (x) => x, { localBackward: -2 }, /localBackward must be a positive integer/],
  ['plan: u of neither D nor K*D channels', (x) => ({ ...x, u: tf.zeros([2, 4, 6]), delta: tf.zeros([2, 6, 6]) }), { plan }, /'u' must have shape \(B, D, H\*W\) = \[2, 2, 6\] \(shared by the K directions\) or \(B, K\*D, H\*W\) = \[2, 6, 6\], got \[2, 4, 6\]/],
  ['plan: channels not divisible by K', (x) => ({ ...x, A: tf.zeros([4, 3]), u: tf.zeros([2, 4, 6]) }), { plan }, /rows of 'A' \(K\*D = 4\) are not divisible by the plan's K = 3 directions/],
  ['plan: B in scan length instead of map size', (x) => ({ ...x, u: tf.zeros([2, 2, 6]), delta: tf.zeros([2, 6, 6]), B: tf.zeros([2, 3, 3, 5]) }), { plan }, /'B' must have shape \(B, G, N, H\*W\) = \[2, 3, 3, 6\], got \[2, 3, 3, 5\]/],
  ['plan: index outside the map', (x) => ({ ...x, u: tf.zeros([2, 2, 6]), delta: tf.zeros([2, 6, 6]) }), { plan: { ...plan, index: Int32Array.from({ length: 18 }, (_, i) => (i === 7 ? 6 : 0)) } }, /index\[1\]\[1\] = 6 is outside \[-1, 6\)/],
];

testOnBackends('bad inputs are errors naming the tensor with expected and actual shapes', (t) => {
  for (const [what, edit, options, pattern] of CASES) {
    const inputs = edit(good());
    const err = t.throws(() => selectiveScan(inputs, options), undefined, what);
    t.regex(err?.message ?? '', pattern, what);
    tf.dispose(Object.values(inputs).filter((v): v is Tensor => v instanceof tf.Tensor));
  }
  // and the good inputs run, with and without the plan
  const y = selectiveScan(good(), {});
  t.deepEqual(y.shape, [2, 6, 5]);
  const g = good();
  const yp = selectiveScan({ ...g, u: tf.zeros([2, 2, 6]), delta: tf.zeros([2, 6, 6]), B: tf.zeros([2, 3, 3, 6]), C: tf.zeros([2, 3, 3, 6]) }, { plan });
  t.deepEqual(yp.shape, [2, 2, 6]);
});

testOnBackends('a tensor above the device binding limit is a clear error on webgpu, not silent zeros', async (t, backend) => {
  if (backend !== 'webgpu') {
    t.pass('the limit concerns webgpu bindings');
    return;
  }
  const limit = backendInfo().limits!.maxStorageBufferBindingSize;
  if (limit > 256 * 1024 * 1024) {
    t.log(`skipped: this device binds up to ${limit} bytes (the test allocates just above the limit on the host)`);
    t.pass();
    return;
  }
  const C = 64;
  const L = Math.floor(limit / 4 / C) + 1; // u, delta (1, 64, L): one float above the limit
  const u = tf.zeros([1, C, L]);
  const delta = tf.zeros([1, C, L]);
  const rest = { A: tf.fill([C, 1], -1), B: tf.zeros([1, 1, 1, L]), C: tf.zeros([1, 1, 1, L]) };
  const err = t.throws(() => selectiveScan({ u, delta, ...rest }, {}));
  t.regex(err!.message, new RegExp(`'u' \\[1, 64, ${L}\\] needs a ${C * L * 4}-byte storage binding, above this device's maxStorageBufferBindingSize of ${limit} bytes`));
  tf.dispose([u, delta, ...Object.values(rest)]);
});
