// The public op: selectiveScan(inputs, options) -> y. Validates, then runs the registered kernel of
// the current backend (cpu, webgpu). Any other backend runs the tfjs-op reference only when the user
// chose it explicitly with useReferenceScanOn(backend) (logged once): never a silent fallback.
import { tf, type Tensor } from '../../../core/tf.ts';
import type { SelectiveScanInputs, SelectiveScanOptions } from './types.ts';
import { SCAN_KERNEL } from './types.ts';
import { validateScan } from './validate.ts';
import { selectiveScanReference } from './reference.ts';

const referenceBackends = new Set<string>();
const announced = new Set<string>();

/** Opts a backend without a selective-scan kernel (e.g. 'tensorflow') into the slow tfjs-op reference. */
export function useReferenceScanOn(backend: string): void {
  referenceBackends.add(backend);
}

/**
 * y = selective scan (Mamba S6) in the layout of the official kernels.
 * Without a plan: u, delta (B, K*D, L), A (K*D, N), B, C (B, G, N, L), D, deltaBias (K*D) -> y (B, K*D, L).
 * With a plan (map-order inputs, P = H*W): u (B, D, P) shared or (B, K*D, P) per direction, delta
 * (B, K*D, P), B, C (B, G, N, P) -> y (B, D, P) for merge 'sum', (B, K*D, P) for 'none'.
 */
export function selectiveScan(inputs: SelectiveScanInputs, options: SelectiveScanOptions = {}): Tensor {
  const g = validateScan(inputs, options);
  const backend = tf.getBackend();
  if (!tf.getKernel(SCAN_KERNEL, backend)) {
    if (!referenceBackends.has(backend)) {
      throw new Error(
        `selectiveScan: no selective-scan kernel is registered for backend '${backend}' (kernels: cpu, webgpu; ` +
          `import 'scans/kernel/selective-scan/register.ts'). To run the slow tfjs-op reference there, call useReferenceScanOn('${backend}').`,
      );
    }
    if (!announced.has(backend)) {
      announced.add(backend);
      process.stderr.write(`ssmv: selectiveScan runs the tfjs-op reference on backend '${backend}' (chosen with useReferenceScanOn)\n`);
    }
    return selectiveScanReference(inputs, options);
  }
  return tf.tidy(() => {
    const plan = options.plan;
    const named = {
      u: inputs.u,
      delta: inputs.delta,
      A: inputs.A,
      B: inputs.B,
      C: inputs.C,
      // Absent D / deltaBias run as zeros: the kernel signature stays fixed (their gradients are unused).
      D: inputs.D ?? tf.zeros([g.channels]),
      deltaBias: inputs.deltaBias ?? tf.zeros([g.channels]),
      // (K, L) int32 index table of the plan; a dummy [0] without plan.
      index: plan ? tf.tensor2d(plan.index, [plan.K, plan.L], 'int32') : tf.zeros([1], 'int32'),
    };
    // Outputs: y, and the chunk-boundary states the webgpu backward starts from (saved for the gradient).
    const [y] = tf.engine().runKernel(SCAN_KERNEL, named, { ...g }) as Tensor[];
    return y;
  });
}
