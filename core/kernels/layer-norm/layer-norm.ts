// Fused LayerNorm over the last dim (nn.LayerNorm; VMamba's LayerNorm2d on NHWC maps):
//   y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var_biased + eps)
// Forward: one kernel -> y and the per-row mean and rstd. Backward (tf.customGrad; saves x, gamma,
// mean, rstd instead of the composite's normalised copies): one kernel for dx and per-workgroup
// column partials of dgamma/dbeta, plus a column-sum pass.
//   dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat)),  g = dy * gamma,  xhat = (x - mean) * rstd
import type { Tensor } from '../../tf.ts';
import { customOp, hasKernel, runKernelMulti } from '../kernel-util.ts';
import { layerNormReference } from './reference.ts';
import './register.ts';

export const LAYER_NORM_KERNEL = 'SsmvLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'SsmvLayerNormGrad';

export interface LayerNormAttrs { eps: number }

/** x (..., C), gamma and beta (C) -> y (..., C). Differentiable w.r.t. all three. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const C = x.shape[x.rank - 1];
  if (gamma.rank !== 1 || gamma.shape[0] !== C || beta.rank !== 1 || beta.shape[0] !== C) {
    throw new Error(`layerNorm: gamma [${gamma.shape}] and beta [${beta.shape}] must be (${C}), the last dim of x [${x.shape}]`);
  }
  if (!(eps > 0)) throw new Error(`layerNorm: eps must be > 0, got ${eps}`);
  if (!hasKernel(LAYER_NORM_KERNEL) || !hasKernel(LAYER_NORM_GRAD_KERNEL)) return layerNormReference(x, gamma, beta, eps);
  return customOp([x, gamma, beta], ([xi, g, b], save) => {
    const [y, mean, rstd] = runKernelMulti(LAYER_NORM_KERNEL, { x: xi, gamma: g, beta: b }, { eps });
    save([xi, g, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy, [sx, sg, sm, sr]) => runKernelMulti(LAYER_NORM_GRAD_KERNEL, { dy, x: sx, gamma: sg, mean: sm, rstd: sr }),
    };
  });
}
