// torch.nn.utils.clip_grad_norm_ (norm_type 2): total = ||concat(grads)||_2;
// coef = min(1, maxNorm / (total + 1e-6)); every gradient is scaled by coef. Stays on the device:
// returns the new gradients and the total norm as a scalar tensor (read it when you log, not here).
import { tf, type Tensor } from '../../core/tf.ts';

export function clipGradNorm(grads: ReadonlyMap<string, Tensor>, maxNorm: number): { grads: Map<string, Tensor>; norm: Tensor } {
  const names = [...grads.keys()];
  const [norm, ...clipped] = tf.tidy(() => {
    const gs = names.map((k) => grads.get(k)!);
    // stack + sum, not addN: tfjs' webgpu AddN binds every input at once and a model has more tensors
    // than a shader has storage bindings (an invalid pipeline that silently yields 0)
    const norm = gs.length ? tf.sqrt(tf.sum(tf.stack(gs.map((g) => tf.sum(tf.square(g)))))) : tf.scalar(0);
    if (!(maxNorm > 0)) return [norm, ...gs.map((g) => g.clone())];
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return [norm, ...gs.map((g) => tf.mul(g, coef))];
  });
  return { grads: new Map(names.map((k, i) => [k, clipped[i]])), norm };
}
