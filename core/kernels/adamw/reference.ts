// The composite AdamW update in tfjs ops (the formula of train/optim/adamw.ts before fusion): the
// oracle of the kernel tests, and the path on backends without the fused kernel.
import { tf, type Tensor } from '../../tf.ts';
import type { AdamWStepAttrs } from './adamw.ts';

export function adamwReference(p: Tensor, g: Tensor, m: Tensor, v: Tensor, a: AdamWStepAttrs): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), a.bc2Sqrt), a.eps);
    const decayed = a.decay === 1 ? p : tf.mul(p, a.decay);
    return [tf.sub(decayed, tf.mul(tf.div(m1, denom), a.stepSize)), m1, v1] as [Tensor, Tensor, Tensor];
  });
}
