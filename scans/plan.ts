// ScanPlan: what a 2D scan strategy compiles to, and what the selective-scan kernel consumes.
//
// A plan lists, for each of its K directions, the map positions (p = h*W + w) visited in scan order.
// The kernel reads u/delta/B/C at `index[k*L + t]` directly and writes y back to the same position,
// so no cross-scanned copy of any tensor is ever materialised (forward or backward).
//
// Index value -1 is a *zero token*: u = 0, delta = 0 (before bias/softplus), B = C = 0, and its
// output is dropped. This is exactly what zero-padding the map does in the official code (LocalMamba
// windows padded to a multiple of the window, EfficientVMamba's odd sizes), including the decay
// exp(softplus(delta_bias) * A) the padded token applies to the carried state.

export type MergeRule =
  /** y (B, D, H*W): every visit's output summed at its position, over all directions and steps
   *  (VMamba cross-merge; MSVMamba's low-res branch visits each position 3 times in one sequence). */
  | 'sum'
  /** y (B, K*D, H*W): each direction's output at the positions it visited, in map order
   *  (positions a direction does not visit are 0). A direction visits a position at most once. */
  | 'none';

export interface ScanPlan {
  /** registered name of the strategy that built it */
  readonly strategy: string;
  /** map size the plan was built for */
  readonly H: number;
  readonly W: number;
  /** number of directions */
  readonly K: number;
  /** steps per direction (H*W for permutations; larger when padded, smaller for sub-grids) */
  readonly L: number;
  /** (K, L) row-major: map position visited at step t of direction k, or -1 for a zero token */
  readonly index: Int32Array;
  readonly merge: MergeRule;
  /** human-readable description of each direction, e.g. 'row-major', 'reversed column-major' */
  readonly directions: readonly string[];
}

/** Checks the invariants every plan must hold; throws naming the first violation. */
export function validatePlan(plan: ScanPlan): void {
  const { K, L, H, W, index } = plan;
  if (!(K >= 1 && L >= 1 && H >= 1 && W >= 1)) throw new Error(`plan '${plan.strategy}': bad sizes K=${K} L=${L} H=${H} W=${W}`);
  if (index.length !== K * L) throw new Error(`plan '${plan.strategy}': index has ${index.length} entries, expected K*L = ${K * L}`);
  if (plan.directions.length !== K) throw new Error(`plan '${plan.strategy}': ${plan.directions.length} direction names for K=${K}`);
  const HW = H * W;
  for (let i = 0; i < index.length; i++) {
    const p = index[i];
    if (p < -1 || p >= HW || !Number.isInteger(p)) {
      throw new Error(`plan '${plan.strategy}': index[${Math.floor(i / L)}][${i % L}] = ${p} is outside [-1, ${HW})`);
    }
  }
  if (plan.merge !== 'none') return;
  for (let k = 0; k < K; k++) {
    const seen = new Uint8Array(HW);
    for (let t = 0; t < L; t++) {
      const p = index[k * L + t];
      if (p < 0) continue;
      if (seen[p]) throw new Error(`plan '${plan.strategy}': direction ${k} visits position ${p} twice`);
      seen[p] = 1;
    }
  }
}
