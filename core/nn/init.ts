// PyTorch's initialisers, drawn on the host from the seeded generator (reproducible on every backend).
import { tf, type Tensor } from '../tf.ts';
import { globalRng, type Rng } from '../rng.ts';
import { numel } from '../io/tensor-record.ts';

export function uniform(shape: number[], lo: number, hi: number, rng: Rng = globalRng): Tensor {
  const n = numel(shape);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
  return tf.tensor(a, shape);
}

/** nn.init.kaiming_uniform_(w, a=sqrt(5)): bound = 1/sqrt(fan_in) (Linear/Conv default weight init). */
export function kaimingUniformA5(shape: number[], fanIn: number, rng: Rng = globalRng): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform(shape, -bound, bound, rng);
}

/** timm/PyTorch trunc_normal_(std, a, b): normal(mean, std) resampled until inside [a, b] (absolute bounds). */
export function truncNormal(shape: number[], std = 0.02, a = -2, b = 2, mean = 0, rng: Rng = globalRng): Tensor {
  const n = numel(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = mean + std * rng.normal(); while (v < a || v > b);
    out[i] = v;
  }
  return tf.tensor(out, shape);
}

export function normal(shape: number[], std: number, mean = 0, rng: Rng = globalRng): Tensor {
  const n = numel(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return tf.tensor(out, shape);
}
