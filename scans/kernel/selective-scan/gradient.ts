// The registered gradient of the SelectiveScan kernel: one SelectiveScanGrad kernel call gives
// du, ddelta, dB, dC and per-batch partials of dA, dD, dDeltaBias (summed here), so tf.grad,
// tf.variableGrads and the optimizers work through selectiveScan w.r.t. every input.
import { tf, type Tensor } from '../../../core/tf.ts';
import { SCAN_GRAD_KERNEL, SCAN_KERNEL, type ScanAttrs } from './types.ts';

export function registerScanGradient(): void {
  tf.registerGradient({
    kernelName: SCAN_KERNEL,
    inputsToSave: ['u', 'delta', 'A', 'B', 'C', 'D', 'deltaBias', 'index'],
    outputsToSave: [false, true],
    gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: tf.NamedAttrMap) => {
      const g = attrs as unknown as ScanAttrs;
      const [u, delta, A, B, C, D, deltaBias, index, states] = saved;
      const dy = Array.isArray(dys) ? dys[0] : dys; // dys[1] (states) is never on a gradient path
      // Run eagerly: the per-input closures below are each called inside their own tidy.
      const [du, ddelta, dB, dC, dParams] = tf.engine().runKernel(
        SCAN_GRAD_KERNEL, { u, delta, A, B, C, D, deltaBias, index, states, dy }, attrs,
      ) as Tensor[];
      const summed = tf.sum(dParams, 0); // (K*D, N + 2)
      const dA = tf.slice(summed, [0, 0], [g.channels, g.N]);
      const dD = tf.reshape(tf.slice(summed, [0, g.N], [g.channels, 1]), [g.channels]);
      const dBias = tf.reshape(tf.slice(summed, [0, g.N + 1], [g.channels, 1]), [g.channels]);
      return {
        u: () => du, delta: () => ddelta, A: () => dA, B: () => dB, C: () => dC, D: () => dD, deltaBias: () => dBias,
        index: () => tf.zeros(index.shape), // integer table: no gradient (float32 zeros as tfjs requires)
      };
    },
  });
}
