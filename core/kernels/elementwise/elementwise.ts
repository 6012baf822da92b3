// Fused elementwise ops with hand-written backward passes (tf.customGrad): each saves only its input
// (the composites save two or three full-size intermediates) and runs one kernel forward and one
// backward instead of 4-6.
//   gelu(x)  = x Phi(x)                  (exact GELU, erf form; d = Phi(x) + x phi(x))
//   silu(x)  = x sigmoid(x)              (d = s (1 + x (1 - s)))
//   scaledResidual(x, branch, scale) = x + branch * scale[b]   (DropPath: scale = keep mask / keep prob)
import { tf, type Tensor } from '../../tf.ts';
import { customOp, hasKernel, runKernel } from '../kernel-util.ts';
import './register.ts';

function unary(kernel: string, grad: string, reference: (x: Tensor) => Tensor) {
  return (x: Tensor): Tensor => {
    if (x.dtype !== 'float32') throw new Error(`${kernel}: x must be float32, got ${x.dtype}`);
    if (!hasKernel(kernel)) return reference(x);
    return customOp([x], ([xi], save) => {
      save([xi]);
      return { value: runKernel(kernel, { x: xi }), gradFunc: (dy, [sx]) => [runKernel(grad, { dy, x: sx })] };
    });
  };
}

/** composite references (the formulas of core/nn before fusion): test oracles and other backends' path */
export const geluReference = (x: Tensor): Tensor => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
export const siluReference = (x: Tensor): Tensor => tf.tidy(() => tf.mul(x, tf.sigmoid(x)));

export const geluFused = unary('SsmvGelu', 'SsmvGeluGrad', geluReference);
export const siluFused = unary('SsmvSilu', 'SsmvSiluGrad', siluReference);

/** x + branch * scale[b]; x and branch (B, ...), scale (B) a constant (no gradient flows into it) */
export function scaledResidual(x: Tensor, branch: Tensor, scale: Tensor): Tensor {
  if (!tf.util.arraysEqual(x.shape, branch.shape)) throw new Error(`scaledResidual: x [${x.shape}] and branch [${branch.shape}] differ`);
  if (scale.rank !== 1 || scale.shape[0] !== x.shape[0]) throw new Error(`scaledResidual: scale must be (${x.shape[0]}), got [${scale.shape}]`);
  if (!hasKernel('SsmvScaledResidual')) return tf.tidy(() => tf.add(x, tf.mul(branch, scale.reshape([x.shape[0], ...new Array(x.rank - 1).fill(1)]))));
  return customOp([x, branch], ([xi, bi], save) => {
    save([scale]);
    return {
      value: runKernel('SsmvScaledResidual', { x: xi, branch: bi, scale }),
      gradFunc: (dy, [s]) => [dy.clone(), runKernel('SsmvRowScale', { a: dy, scale: s })],
    };
  });
}
