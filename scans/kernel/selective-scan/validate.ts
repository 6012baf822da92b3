// Input validation of selectiveScan: every wrong rank/shape/dtype is an error naming the tensor with
// its expected and actual shape. Returns the resolved geometry the kernels run on.
import { tf, type Tensor } from '../../../core/tf.ts';
import { validatePlan, type ScanPlan } from '../../plan.ts';
import type { ScanGeometry, SelectiveScanInputs, SelectiveScanOptions } from './types.ts';

const dims = (t: Tensor) => t.shape as number[];
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

function fail(msg: string): never {
  throw new Error(`selectiveScan: ${msg}`);
}

function checkTensor(name: string, t: unknown, layout: string, rank: number): Tensor {
  if (!(t instanceof tf.Tensor)) fail(`'${name}' must be a tf.Tensor ${layout}, got ${t === undefined ? 'undefined' : typeof t}`);
  if (t.dtype !== 'float32') fail(`'${name}' must be float32, got ${t.dtype} with shape ${fmt(t.shape)}`);
  if (t.rank !== rank) fail(`'${name}' must have rank ${rank} ${layout}, got rank ${t.rank} with shape ${fmt(t.shape)}`);
  return t;
}

function expectShape(name: string, t: Tensor, layout: string, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    fail(`'${name}' must have shape ${layout} = ${fmt(expected)}, got ${fmt(t.shape)}`);
  }
}

/** True when some direction visits a map position more than once. */
export function planHasMultiVisit(plan: ScanPlan): boolean {
  const HW = plan.H * plan.W;
  const seen = new Int32Array(HW).fill(-1);
  for (let k = 0; k < plan.K; k++) {
    for (let t = 0; t < plan.L; t++) {
      const p = plan.index[k * plan.L + t];
      if (p < 0) continue;
      if (seen[p] === k) return true;
      seen[p] = k;
    }
  }
  return false;
}

/** True when every direction visits every map position exactly once (zero tokens aside). */
export function planCoversAll(plan: ScanPlan): boolean {
  const HW = plan.H * plan.W;
  const count = new Int32Array(HW);
  for (let k = 0; k < plan.K; k++) {
    count.fill(0);
    for (let t = 0; t < plan.L; t++) {
      const p = plan.index[k * plan.L + t];
      if (p >= 0) count[p]++;
    }
    for (let p = 0; p < HW; p++) if (count[p] !== 1) return false;
  }
  return true;
}

const multiVisitCache = new WeakMap<ScanPlan, boolean>();
const coverAllCache = new WeakMap<ScanPlan, boolean>();
const validatedPlans = new WeakSet<ScanPlan>();

export function validateScan(inputs: SelectiveScanInputs, options: SelectiveScanOptions = {}): ScanGeometry {
  if (inputs === null || typeof inputs !== 'object') fail('inputs must be an object {u, delta, A, B, C, D?, deltaBias?}');
  const known = new Set(['u', 'delta', 'A', 'B', 'C', 'D', 'deltaBias']);
  for (const k of Object.keys(inputs)) {
    if (!known.has(k)) fail(`unknown input '${k}'; inputs are u, delta, A, B, C, D, deltaBias`);
  }
  const A = checkTensor('A', inputs.A, '(K*D, N)', 2);
  const [channels, N] = dims(A);
  if (channels < 1 || N < 1) fail(`'A' must be (K*D, N) with K*D >= 1 and N >= 1, got ${fmt(A.shape)}`);
  const plan = options.plan;
  const u = checkTensor('u', inputs.u, plan ? '(B, D or K*D, H*W)' : '(B, K*D, L)', 3);
  const delta = checkTensor('delta', inputs.delta, plan ? '(B, K*D, H*W)' : '(B, K*D, L)', 3);
  const Bm = checkTensor('B', inputs.B, plan ? '(B, G, N, H*W)' : '(B, G, N, L)', 4);
  const Cm = checkTensor('C', inputs.C, plan ? '(B, G, N, H*W)' : '(B, G, N, L)', 4);
  const batch = dims(u)[0];
  let K = 1;
  let L: number;
  let P: number;
  let uShared = 0;
  let multiVisit = 0;
  let coverAll = 1;
  let mode: ScanGeometry['mode'] = 'direct';
  if (plan) {
    if (!validatedPlans.has(plan)) {
      validatePlan(plan);
      validatedPlans.add(plan);
    }
    K = plan.K;
    L = plan.L;
    P = plan.H * plan.W;
    if (channels % K !== 0) fail(`rows of 'A' (K*D = ${channels}) are not divisible by the plan's K = ${K} directions`);
    const Dk = channels / K;
    if (dims(u)[1] === Dk && Dk !== channels) uShared = 1;
    else if (dims(u)[1] === channels) uShared = 0;
    else fail(`'u' must have shape (B, D, H*W) = ${fmt([batch, Dk, P])} (shared by the K directions) or (B, K*D, H*W) = ${fmt([batch, channels, P])}, got ${fmt(u.shape)}`);
    expectShape('u', u, uShared ? '(B, D, H*W)' : '(B, K*D, H*W)', [batch, uShared ? Dk : channels, P]);
    expectShape('delta', delta, '(B, K*D, H*W)', [batch, channels, P]);
    mode = plan.merge;
    if (mode !== 'sum' && mode !== 'none') fail(`plan '${plan.strategy}' has unknown merge rule '${String(mode)}' (expected 'sum' or 'none')`);
    let mv = multiVisitCache.get(plan);
    if (mv === undefined) {
      mv = planHasMultiVisit(plan);
      multiVisitCache.set(plan, mv);
    }
    multiVisit = mv ? 1 : 0;
    let ca = coverAllCache.get(plan);
    if (ca === undefined) {
      ca = planCoversAll(plan);
      coverAllCache.set(plan, ca);
    }
    coverAll = ca ? 1 : 0;
  } else {
    L = dims(u)[2];
    P = L;
    expectShape('delta', delta, '(B, K*D, L)', [batch, channels, L]);
    expectShape('u', u, '(B, K*D, L)', [batch, channels, L]);
  }
  if (batch < 1 || L < 1) fail(`empty input: u has shape ${fmt(u.shape)}`);
  const G = dims(Bm)[1];
  if (G < 1) fail(`'B' must have at least one group, got shape ${fmt(Bm.shape)}`);
  const layoutBC = plan ? '(B, G, N, H*W)' : '(B, G, N, L)';
  expectShape('B', Bm, layoutBC, [batch, G, N, P]);
  expectShape('C', Cm, layoutBC, [batch, G, N, P]);
  if (channels % G !== 0) fail(`K*D = ${channels} channels are not divisible by the ${G} groups of B/C (shape ${fmt(Bm.shape)})`);
  if (inputs.D !== undefined) expectShape('D', checkTensor('D', inputs.D, '(K*D)', 1), '(K*D)', [channels]);
  if (inputs.deltaBias !== undefined) expectShape('deltaBias', checkTensor('deltaBias', inputs.deltaBias, '(K*D)', 1), '(K*D)', [channels]);
  const lb = options.localBackward ?? 0;
  if (!Number.isInteger(lb) || lb < 0) fail(`localBackward must be a positive integer window (or 0/undefined for off), got ${lb}`);
  const outRows = mode === 'sum' ? channels / K : channels;
  return {
    batch, channels, N, G, K, L, P, mapH: plan ? plan.H : 1, uShared, outRows, mode, multiVisit, coverAll,
    deltaSoftplus: !!options.deltaSoftplus,
    localBackward: lb,
  };
}

/** Shape of y for a geometry. */
export function outputShape(g: ScanGeometry): [number, number, number] {
  return [g.batch, g.outRows, g.mode === 'direct' ? g.L : g.P];
}
