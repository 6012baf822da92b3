// The reference selective scan, built from plain tfjs ops: the oracle of the tests (differentiable
// through tfjs' own autograd). Slow on purpose: a step-by-step loop over L, no cleverness, and the
// plan handled by an explicit gather before and scatter after (exactly the unfused path).
// Port of `selective_scan_ref` (state-spaces/mamba, mamba_ssm/ops/selective_scan_interface.py) with
// VMamba's grouped B/C and LBMamba's local backward scan (models.md 1.1, 6.5).
import { tf, type Tensor } from '../../../core/tf.ts';
import type { ScanPlan } from '../../plan.ts';
import type { SelectiveScanInputs, SelectiveScanOptions } from './types.ts';
import { validateScan } from './validate.ts';

/**
 * softplus with the CUDA kernel's threshold: x > 20 -> x, else log1p(exp(x)). Written as
 * log1p(exp(min(x, 20))) + relu(x - 20) (within 2e-9 of x above 20) so that every op on the path has
 * a tfjs gradient (a `where` on `greater` does not: Greater has no gradient).
 */
export function softplus20(x: Tensor): Tensor {
  return tf.tidy(() => tf.add(tf.log1p(tf.exp(tf.minimum(x, 20))), tf.relu(tf.sub(x, 20))));
}

/** Index table of direction k with -1 (zero token) mapped to P, the zero column appended by padLast. */
function directionIndex(plan: ScanPlan, k: number): Tensor {
  const P = plan.H * plan.W;
  const row = new Int32Array(plan.L);
  for (let t = 0; t < plan.L; t++) {
    const p = plan.index[k * plan.L + t];
    row[t] = p < 0 ? P : p;
  }
  return tf.tensor1d(row, 'int32');
}

/** x (..., P) -> (..., P+1) with a zero column at the end (the target of zero tokens). */
function padLast(x: Tensor): Tensor {
  const pad: Array<[number, number]> = x.shape.map((_, i) => (i === x.rank - 1 ? [0, 1] : [0, 0]));
  return tf.pad(x, pad);
}

/**
 * The cross-scanned copy of a map-order tensor: x (B, D, P) shared by the K directions, or
 * (B, K*D, P) per direction -> (B, K*D, L) with x[:, d, index[k, t]] at channel k*D + d (0 at -1).
 */
export function gatherPlan(x: Tensor, plan: ScanPlan, perDirection: boolean): Tensor {
  return tf.tidy(() => {
    const xp = padLast(x);
    const rows0 = (x.shape as number[])[1];
    const D = perDirection ? rows0 / plan.K : rows0;
    const parts: Tensor[] = [];
    for (let k = 0; k < plan.K; k++) {
      const rows = perDirection ? tf.slice(xp, [0, k * D, 0], [-1, D, -1]) : xp;
      parts.push(tf.gather(rows, directionIndex(plan, k), 2));
    }
    return tf.concat(parts, 1);
  });
}

/**
 * B or C in map order (B, G, N, P) -> per channel in scan order (B, channels, N, L): channel c of
 * direction k = floor(c / (channels/K)) reads group floor(c / (channels/G)) at index[k, t].
 */
export function gatherPlanPerChannel(x: Tensor, plan: ScanPlan, channels: number): Tensor {
  return tf.tidy(() => {
    const [, G] = x.shape;
    const Dk = channels / plan.K;
    const perGroup = channels / G;
    const xp = padLast(x);
    const parts: Tensor[] = [];
    for (let k = 0; k < plan.K; k++) {
      const scanned = tf.gather(xp, directionIndex(plan, k), 3); // (B, G, N, L)
      const groups = new Int32Array(Dk);
      for (let d = 0; d < Dk; d++) groups[d] = Math.floor((k * Dk + d) / perGroup);
      parts.push(tf.gather(scanned, tf.tensor1d(groups, 'int32'), 1)); // (B, Dk, N, L)
    }
    return tf.concat(parts, 1);
  });
}

/**
 * Writes scan-order outputs y (B, K*D, L) back in map order: merge 'sum' -> (B, D, P) summed over
 * every visit; 'none' -> (B, K*D, P) per direction. Zero-token outputs (-1) are dropped.
 */
export function scatterPlan(y: Tensor, plan: ScanPlan): Tensor {
  return tf.tidy(() => {
    const [batch, channels, L] = y.shape as number[];
    const { K } = plan;
    const P = plan.H * plan.W;
    const D = channels / K;
    const seq = tf.transpose(tf.reshape(y, [batch, K, D, L]), [1, 3, 0, 2]); // (K, L, B, D)
    const segments = (k0: number, k1: number) => {
      const ids = new Int32Array((k1 - k0) * L);
      for (let i = 0; i < ids.length; i++) {
        const p = plan.index[k0 * L + i];
        ids[i] = p < 0 ? P : p;
      }
      return tf.tensor1d(ids, 'int32');
    };
    const toMap = (x: Tensor, k0: number, k1: number) => {
      const summed = tf.unsortedSegmentSum(tf.reshape(x, [(k1 - k0) * L, batch, D]), segments(k0, k1), P + 1);
      return tf.transpose(tf.slice(summed, [0, 0, 0], [P, -1, -1]), [1, 2, 0]); // (B, D, P)
    };
    if (plan.merge === 'sum') return toMap(seq, 0, K);
    const parts: Tensor[] = [];
    for (let k = 0; k < K; k++) parts.push(toMap(tf.slice(seq, [k, 0, 0, 0], [1, -1, -1, -1]), k, k + 1));
    return tf.concat(parts, 1);
  });
}

/** The recurrence on per-channel tensors: u, dt (B, C, L), A (C, N), Bc, Cc (B, C, N, L) -> y (B, C, L). */
function recurrence(u: Tensor, dt: Tensor, A: Tensor, Bc: Tensor, Cc: Tensor, D: Tensor | undefined, localBackward: number): Tensor {
  const L = (u.shape as number[])[2];
  const dA = tf.unstack(tf.exp(tf.mul(tf.expandDims(dt, 2), tf.expandDims(tf.expandDims(A, 0), 3))), 3); // L x (B, C, N)
  const dBu = tf.unstack(tf.mul(tf.expandDims(tf.mul(dt, u), 2), Bc), 3);
  const Cs = tf.unstack(Cc, 3);
  const hs: Tensor[] = [];
  let h = tf.zerosLike(dBu[0]);
  for (let t = 0; t < L; t++) {
    h = tf.add(tf.mul(dA[t], h), dBu[t]);
    hs.push(h);
  }
  if (localBackward > 0) {
    // LBMamba: h_bwd[t] = Abar_t * (Bbar u_{t+1} + h_bwd[t+1]) inside aligned windows, 0 at each window's last step.
    for (let s = 0; s < L; s += localBackward) {
      const e = Math.min(s + localBackward, L);
      let hb = tf.zerosLike(h);
      for (let t = e - 2; t >= s; t--) {
        hb = tf.mul(dA[t], tf.add(dBu[t + 1], hb));
        hs[t] = tf.add(hs[t], hb);
      }
    }
  }
  const ys = hs.map((ht, t) => tf.sum(tf.mul(Cs[t], ht), 2)); // L x (B, C)
  let y = tf.stack(ys, 2);
  if (D) y = tf.add(y, tf.mul(u, tf.reshape(D, [1, -1, 1])));
  return y;
}

/** selectiveScan by plain tfjs ops (same contract as selectiveScan). */
export function selectiveScanReference(inputs: SelectiveScanInputs, options: SelectiveScanOptions = {}): Tensor {
  const g = validateScan(inputs, options);
  return tf.tidy(() => {
    const plan = options.plan;
    let u = inputs.u;
    let delta = inputs.delta;
    let Bc: Tensor;
    let Cc: Tensor;
    if (plan) {
      u = gatherPlan(u, plan, !g.uShared);
      delta = gatherPlan(delta, plan, true); // zero tokens get raw delta 0 (bias added below)
      Bc = gatherPlanPerChannel(inputs.B, plan, g.channels);
      Cc = gatherPlanPerChannel(inputs.C, plan, g.channels);
    } else {
      const perGroup = g.channels / g.G;
      const groups = tf.tensor1d(Int32Array.from({ length: g.channels }, (_, c) => Math.floor(c / perGroup)), 'int32');
      const expand = (x: Tensor) => tf.gather(x, groups, 1); // (B, G, N, L) -> (B, K*D, N, L)
      Bc = expand(inputs.B);
      Cc = expand(inputs.C);
    }
    let x = delta;
    if (inputs.deltaBias) x = tf.add(x, tf.reshape(inputs.deltaBias, [1, -1, 1]));
    const dt = g.deltaSoftplus ? softplus20(x) : x;
    const y = recurrence(u, dt, inputs.A, Bc, Cc, inputs.D, g.localBackward);
    return plan ? scatterPlan(y, plan) : y;
  });
}
