// Test helpers of the selective-scan tests: a float64 JS double loop written straight from the
// definition (Mamba S6 + LBMamba local backward), random inputs and random plans.
import { tf, type Tensor } from '../core/tf.ts';
import { Rng } from '../core/rng.ts';
import type { ScanPlan, MergeRule } from '../scans/plan.ts';
import type { SelectiveScanInputs } from '../scans/kernel/selective-scan/index.ts';

export interface F64Case {
  batch: number; channels: number; G: number; N: number; L: number;
  u: Float64Array; delta: Float64Array; A: Float64Array; B: Float64Array; C: Float64Array;
  D?: Float64Array; bias?: Float64Array;
}

/**
 * y (batch, channels, L) by the definition, in float64:
 * dt = softplus(delta + bias) (threshold 20); h_t = exp(dt A) h_{t-1} + dt B_t u_t;
 * with window w: h_bwd[t] = exp(dt_t A) (dt_{t+1} B_{t+1} u_{t+1} + h_bwd[t+1]) inside aligned windows;
 * y_t = C_t . (h_t + h_bwd[t]) + D u_t.
 */
export function scanF64(k: F64Case, softplus: boolean, window = 0): Float64Array {
  const { batch, channels, G, N, L } = k;
  const y = new Float64Array(batch * channels * L);
  const perGroup = channels / G;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const g = Math.floor(c / perGroup);
      const row = (b * channels + c) * L;
      const dt = (t: number) => {
        const x = k.delta[row + t] + (k.bias ? k.bias[c] : 0);
        return softplus ? (x <= 20 ? Math.log1p(Math.exp(x)) : x) : x;
      };
      const Bv = (n: number, t: number) => k.B[((b * G + g) * N + n) * L + t];
      const Cv = (n: number, t: number) => k.C[((b * G + g) * N + n) * L + t];
      for (let n = 0; n < N; n++) {
        let h = 0;
        for (let t = 0; t < L; t++) {
          h = Math.exp(dt(t) * k.A[c * N + n]) * h + dt(t) * Bv(n, t) * k.u[row + t];
          y[row + t] += Cv(n, t) * h;
        }
        if (window > 0) {
          for (let t = 0; t < L; t++) {
            const end = Math.min((Math.floor(t / window) + 1) * window, L);
            let hb = 0;
            for (let s = end - 2; s >= t; s--) hb = Math.exp(dt(s) * k.A[c * N + n]) * (dt(s + 1) * Bv(n, s + 1) * k.u[row + s + 1] + hb);
            y[row + t] += Cv(n, t) * hb;
          }
        }
      }
      if (k.D) for (let t = 0; t < L; t++) y[row + t] += k.D[c] * k.u[row + t];
    }
  }
  return y;
}

export function randomCase(rng: Rng, batch: number, channels: number, G: number, N: number, L: number, opts: { D?: boolean; bias?: boolean } = {}): F64Case {
  // values rounded to float32, so the f64 oracle and the f32 kernels see the same inputs
  const normal = (n: number, scale = 1, shift = 0) => Float64Array.from({ length: n }, () => Math.fround(shift + scale * rng.normal()));
  return {
    batch, channels, G, N, L,
    u: normal(batch * channels * L),
    delta: normal(batch * channels * L, 0.5, -1),
    A: Float64Array.from({ length: channels * N }, () => Math.fround(-Math.exp(0.5 * rng.normal()))),
    B: normal(batch * G * N * L),
    C: normal(batch * G * N * L),
    ...(opts.D ? { D: normal(channels) } : {}),
    ...(opts.bias ? { bias: normal(channels, 0.3) } : {}),
  };
}

export function caseInputs(k: F64Case): SelectiveScanInputs {
  const f = (x: Float64Array) => Float32Array.from(x);
  return {
    u: tf.tensor3d(f(k.u), [k.batch, k.channels, k.L]),
    delta: tf.tensor3d(f(k.delta), [k.batch, k.channels, k.L]),
    A: tf.tensor2d(f(k.A), [k.channels, k.N]),
    B: tf.tensor4d(f(k.B), [k.batch, k.G, k.N, k.L]),
    C: tf.tensor4d(f(k.C), [k.batch, k.G, k.N, k.L]),
    ...(k.D ? { D: tf.tensor1d(f(k.D)) } : {}),
    ...(k.bias ? { deltaBias: tf.tensor1d(f(k.bias)) } : {}),
  };
}

/**
 * A random plan over an H x W map: 'none' plans are random permutations of a random subset of
 * positions with -1 zero tokens mixed in; 'sum' plans additionally may repeat positions (multiVisit).
 */
export function randomPlan(rng: Rng, H: number, W: number, K: number, L: number, merge: MergeRule, repeats: boolean): ScanPlan {
  const P = H * W;
  const index = new Int32Array(K * L);
  for (let k = 0; k < K; k++) {
    const perm = Array.from({ length: P }, (_, i) => i);
    for (let i = P - 1; i > 0; i--) {
      const j = Math.floor(rng.random() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    let next = 0;
    for (let t = 0; t < L; t++) {
      const roll = rng.random();
      if (roll < 0.15 || (next >= P && !repeats)) index[k * L + t] = -1;
      else if (repeats && (roll < 0.35 || next >= P)) index[k * L + t] = Math.floor(rng.random() * P);
      else index[k * L + t] = perm[next++];
    }
  }
  return { strategy: 'random-test', H, W, K, L, index, merge, directions: Array.from({ length: K }, (_, k) => `random ${k}`) };
}

/** All input tensors of a call, in a fixed order, for tf.grads. */
export const INPUT_NAMES = ['u', 'delta', 'A', 'B', 'C', 'D', 'deltaBias'] as const;

export function withInputs(inputs: SelectiveScanInputs, xs: Tensor[]): SelectiveScanInputs {
  const names = INPUT_NAMES.filter((n) => inputs[n] !== undefined);
  return Object.fromEntries(names.map((n, i) => [n, xs[i]])) as unknown as SelectiveScanInputs;
}

export function inputList(inputs: SelectiveScanInputs): Tensor[] {
  return INPUT_NAMES.filter((n) => inputs[n] !== undefined).map((n) => inputs[n]!);
}

export function inputNames(inputs: SelectiveScanInputs): string[] {
  return INPUT_NAMES.filter((n) => inputs[n] !== undefined);
}
