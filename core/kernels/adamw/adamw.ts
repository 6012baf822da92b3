// Fused AdamW update (torch.optim.AdamW, amsgrad=False) of one parameter: one kernel reads p, g, m, v
// once and writes p', m', v' (the composite costs ~10 elementwise kernels and their intermediates).
//   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2
//   p' = p (1 - lr wd) - stepSize * m' / (sqrt(v') / bc2Sqrt + eps)
// with stepSize = lr / (1 - b1^t) and bc2Sqrt = sqrt(1 - b2^t) computed on the host per step.
import { tf, type Tensor } from '../../tf.ts';
import { hasKernel, runKernelMulti } from '../kernel-util.ts';
import { adamwReference } from './reference.ts';
import './register.ts';

export const ADAMW_KERNEL = 'SsmvAdamW';

export interface AdamWStepAttrs {
  /** 1 - lr * weightDecay */
  decay: number;
  beta1: number;
  beta2: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: number;
  eps: number;
}

/** Returns [p', m', v'] (same shape as p). g, m, v must have p's shape. */
export function adamwUpdate(p: Tensor, g: Tensor, m: Tensor, v: Tensor, a: AdamWStepAttrs): [Tensor, Tensor, Tensor] {
  for (const [n, t] of [['g', g], ['m', m], ['v', v]] as const) {
    if (!tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`adamwUpdate: '${n}' has shape [${t.shape}], the parameter [${p.shape}]`);
  }
  if (!hasKernel(ADAMW_KERNEL)) return adamwReference(p, g, m, v, a);
  const [p1, m1, v1] = runKernelMulti(ADAMW_KERNEL, { p, g, m, v }, a);
  return [p1, m1, v1];
}
