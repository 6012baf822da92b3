// LayerNorm in tfjs ops (tf.moments, the formula of core/nn LayerNorm before fusion): the oracle of
// the kernel tests and the path on backends without the fused kernels.
import { tf, type Tensor } from '../../tf.ts';

export function layerNormReference(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number): Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, x.rank - 1, true);
    let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    if (gamma) y = tf.mul(y, gamma);
    if (beta) y = tf.add(y, beta);
    return y;
  });
}
