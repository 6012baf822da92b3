// PyTorch's initialisers, drawn on the host from the seeded generator (reproducible on every backend).
import { tf, type Tensor } from '../tf.ts';
import { globalRng, type Rng } from '../rng.ts';
import { numel } from '../io/tensor-record.ts';

let skipInit = 0;

/**
 * Builds modules without drawing random initial values: tensors from these initialisers start at zero
 * (a few small hand-initialised ones, such as the SSM dt init, are still drawn). For models whose
 * weights are loaded right after, and for counting parameters of large configurations (timm's
 * meta-device construction plays this role).
 */
export function withoutInit<T>(build: () => T): T {
  skipInit++;
  try {
    return build();
  } finally {
    skipInit--;
  }
}

/** true inside withoutInit */
export function initSkipped(): boolean {
  return skipInit > 0;
}

export function uniform(shape: number[], lo: number, hi: number, rng: Rng = globalRng): Tensor {
  if (skipInit) return tf.zeros(shape);
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
  if (skipInit) return tf.zeros(shape);
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
  if (skipInit) return tf.zeros(shape);
  const n = numel(shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return tf.tensor(out, shape);
}
