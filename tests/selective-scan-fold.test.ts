// The fold kernels' variants on webgpu (each chosen with the SSMV_SCAN_* knobs of webgpu-fold.ts)
// against the float64 cpu kernel on the same inputs, forward and every gradient: several tiles per
// sequence (and a partial last tile), forward and backward tiles of different lengths, B/C staged
// one state at a time, dB/dC by partial sums and by atomics, and for plans the two ways of merging
// the K directions (lockstep read-modify-write, per-direction rows + K-sum pass), with plans that
// cover every position and plans with gaps and zero tokens.
import test, { type ExecutionContext } from 'ava';
import { TEST_BACKENDS, relErr, setBackend } from './helpers/backends.ts';
import { releaseGpu } from '../core/backend.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { Rng } from '../core/rng.ts';
import { scans } from '../scans/index.ts';
import type { ScanPlan } from '../scans/plan.ts';
import { selectiveScan, type SelectiveScanInputs } from '../scans/kernel/selective-scan/index.ts';
import { inputList, inputNames, randomPlan, withInputs } from './selective-scan-oracle.ts';
import { defaultFold } from '../scans/kernel/selective-scan/webgpu-fold.ts';
import { chooseFamily } from '../scans/kernel/selective-scan/webgpu-config.ts';

interface Arrays { shapes: Record<string, number[]>; values: Record<string, Float32Array> }

function randomArrays(rng: Rng, shapes: Record<string, number[]>): Arrays {
  const values: Record<string, Float32Array> = {};
  const scale: Record<string, [number, number]> = { delta: [0.5, -1], A: [0.5, 0], deltaBias: [0.3, 0] };
  for (const [name, shape] of Object.entries(shapes)) {
    const [s, m] = scale[name] ?? [1, 0];
    values[name] = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => m + s * rng.normal());
    if (name === 'A') values[name] = values[name].map((x) => -Math.exp(x));
  }
  return { shapes, values };
}

/** y and the gradients of sum(y * dy) w.r.t. every input, on the current backend. */
async function run(a: Arrays, plan: ScanPlan | undefined): Promise<Record<string, Float32Array>> {
  const tsr = (n: string) => tf.tensor(a.values[n], a.shapes[n]);
  const inputs = Object.fromEntries(['u', 'delta', 'A', 'B', 'C', 'D', 'deltaBias'].map((n) => [n, tsr(n)])) as unknown as SelectiveScanInputs;
  const opts = { deltaSoftplus: true, plan };
  const y = selectiveScan(inputs, opts);
  const dy = tsr('dy');
  const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(selectiveScan(withInputs(inputs, xs), opts), dy)))(inputList(inputs));
  const out: Record<string, Float32Array> = { y: (await y.data()) as Float32Array }; // GPU->CPU sync
  const names = inputNames(inputs);
  for (let j = 0; j < names.length; j++) out[`d${names[j]}`] = (await grads[j].data()) as Float32Array; // GPU->CPU sync
  tf.dispose([...inputList(inputs), y, dy, ...grads]);
  return out;
}

interface FoldCase {
  title: string;
  env: Record<string, string>;
  batch: number; K: number; D: number; N: number; G: number;
  /** sequence length without plan; with a plan, its map */
  L?: number;
  plan?: (rng: Rng) => ScanPlan;
  shared?: boolean;
}

const cross = (H: number, W: number) => () => scans.get('cross').plan(H, W);

const CASES: FoldCase[] = [
  { title: 'no plan, 3 forward / 5 backward tiles, partial last tile, 2 groups', env: {}, batch: 2, K: 1, D: 8, N: 3, G: 2, L: 150 },
  { title: 'no plan, backward tiles twice the forward ones, B/C one state per round, dB/dC by atomics', env: { SSMV_SCAN_FOLD: '4,8,4', SSMV_SCAN_NB: '1', SSMV_SCAN_DBC: 'atomic' }, batch: 2, K: 1, D: 8, N: 4, G: 1, L: 130 },
  { title: "cross plan 7x9 (merge 'sum', shared u), lockstep", env: { SSMV_SCAN_LOCKSTEP: '1' }, batch: 2, K: 4, D: 4, N: 2, G: 4, plan: cross(7, 9), shared: true },
  { title: "cross plan 7x9 (merge 'sum', shared u), per-direction rows + K-sum, dB/dC by atomics", env: { SSMV_SCAN_LOCKSTEP: '0', SSMV_SCAN_DBC: 'atomic' }, batch: 2, K: 4, D: 4, N: 2, G: 4, plan: cross(7, 9), shared: true },
  { title: "cross plan 6x6, lockstep forward only, 4 rows per group forward / 2 backward", env: { SSMV_SCAN_LOCKSTEP: 'fwd', SSMV_SCAN_FOLD: '8,4,4,2' }, batch: 1, K: 4, D: 4, N: 1, G: 4, plan: cross(6, 6), shared: true },
  { title: "random plan with gaps and zero tokens (merge 'sum', shared u, 2 groups per direction), lockstep", env: { SSMV_SCAN_LOCKSTEP: '1', SSMV_SCAN_NB: '1' }, batch: 2, K: 3, D: 4, N: 2, G: 6, plan: (rng) => randomPlan(rng, 5, 8, 3, 70, 'sum', false), shared: true },
  { title: "random plan with gaps (merge 'none', shared u), K-sum of du", env: { SSMV_SCAN_LOCKSTEP: '0' }, batch: 2, K: 3, D: 4, N: 1, G: 3, plan: (rng) => randomPlan(rng, 5, 8, 3, 70, 'none', false), shared: true },
  { title: "cross plan 28x5 with the default plan tiling (7 steps per lane forward and backward: a tile is 8 columns)", env: {}, batch: 1, K: 4, D: 2, N: 1, G: 4, plan: cross(28, 5), shared: true },
  { title: "cross plan 64x3 with the default plan tiling (a tall map: the forward tile capped at 28 steps per lane, the backward one doubled where it is shorter than two columns)", env: {}, batch: 1, K: 4, D: 8, N: 2, G: 4, plan: cross(64, 3), shared: true },
  { title: "random plan (merge 'none', per-direction u), lockstep off by default", env: {}, batch: 2, K: 2, D: 4, N: 1, G: 2, plan: (rng) => randomPlan(rng, 6, 7, 2, 45, 'none', false), shared: false },
];

test('default fold tiling with a plan: whole 8-column tiles up to the cap, backward tile a multiple of the forward one', (t) => {
  const geometry = (H: number, mode: 'sum' | 'direct') => ({ mapH: H, mode }) as Parameters<typeof defaultFold>[0];
  for (const S of [16, 32, 64]) {
    for (let H = 1; H <= 300; H++) {
      const [If, Ib] = defaultFold(geometry(H, 'sum'), S);
      t.true((S * Ib) % If === 0, `S ${S} H ${H}: backward tile ${S * Ib} is not a multiple of the forward's ${If}`);
      if (If < 28) t.true(S * If >= 8 * H, `S ${S} H ${H}: forward tile ${S * If} shorter than 8 columns`);
      t.true(If >= 4 && If <= 28);
    }
  }
  t.deepEqual(defaultFold(geometry(56, 'direct'), 32), [8, 4, 8, 8], 'no plan: the unfused defaults');
});

test('kernel family: fold by default, portable for many states without a plan or with a local backward window, env overrides', (t) => {
  const g = (o: Record<string, unknown>) => ({ N: 1, mode: 'direct', multiVisit: 0, localBackward: 0, ...o }) as unknown as Parameters<typeof chooseFamily>[0];
  const saved = process.env.SSMV_SCAN_KERNEL;
  delete process.env.SSMV_SCAN_KERNEL;
  try {
    t.is(chooseFamily(g({}), 32), 'fold');
    t.is(chooseFamily(g({ N: 4 }), 32), 'fold');
    t.is(chooseFamily(g({ N: 16 }), 32), 'portable', 'N = 16 without a plan: the portable kernels (faster on the H200)');
    t.is(chooseFamily(g({ N: 16, mode: 'sum' }), 32), 'fold', 'N = 16 with a plan: fold');
    t.is(chooseFamily(g({ localBackward: 2 }), 32), 'portable');
    t.is(chooseFamily(g({ mode: 'sum', multiVisit: 1 }), 32), 'subgroup');
    t.is(chooseFamily(g({}), 0), 'portable', 'no subgroups on the adapter');
    process.env.SSMV_SCAN_KERNEL = 'fold';
    t.is(chooseFamily(g({ N: 16 }), 32), 'fold', 'SSMV_SCAN_KERNEL=fold forces it where it fits');
    t.is(chooseFamily(g({ localBackward: 2 }), 32), 'portable', 'but not where it cannot run');
  } finally {
    if (saved === undefined) delete process.env.SSMV_SCAN_KERNEL;
    else process.env.SSMV_SCAN_KERNEL = saved;
  }
});

const onWebgpu = TEST_BACKENDS.includes('webgpu');
if (onWebgpu) test.after.always(() => releaseGpu());

CASES.forEach((fc, ci) => {
  (onWebgpu ? test.serial : test.serial.skip)(`fold kernels (webgpu) equal the float64 cpu kernel: ${fc.title}`, async (t: ExecutionContext) => {
    const rng = new Rng(300 + ci);
    const plan = fc.plan?.(rng);
    const KD = fc.K * fc.D;
    const P = plan ? plan.H * plan.W : fc.L!;
    const outRows = plan?.merge === 'sum' ? fc.D : KD;
    const a = randomArrays(rng, {
      u: [fc.batch, fc.shared ? fc.D : KD, P], delta: [fc.batch, KD, P], A: [KD, fc.N],
      B: [fc.batch, fc.G, fc.N, P], C: [fc.batch, fc.G, fc.N, P], D: [KD], deltaBias: [KD], dy: [fc.batch, outRows, P],
    });
    await setBackend('cpu');
    const ref = await run(a, plan);
    await setBackend('webgpu');
    const saved = Object.fromEntries(Object.keys(fc.env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, { SSMV_SCAN_KERNEL: 'fold', ...fc.env });
    let got: Record<string, Float32Array>;
    try {
      got = await run(a, plan);
    } finally {
      delete process.env.SSMV_SCAN_KERNEL;
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const figures: string[] = [];
    for (const name of Object.keys(ref)) {
      t.true(ref[name].some((x) => x !== 0), `${name}: the reference is all zeros`);
      const e = relErr(got[name], ref[name]);
      figures.push(`${name} ${e.toExponential(1)}`);
      t.true(e <= 1e-4, `${name}: max|diff|/max|ref| = ${e}`);
    }
    t.log(figures.join(', '));
  });
});
