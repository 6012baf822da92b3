// Parameter-free layers: activations (PyTorch formulas), dropout, DropPath, Identity.
import { tf, type Tensor } from '../tf.ts';
import { globalRng } from '../rng.ts';
import { Module } from './module.ts';
import { geluFused, siluFused, scaledResidual } from '../kernels/elementwise/index.ts';

/** exact GELU: 0.5 x (1 + erf(x / sqrt 2)) (nn.GELU default, approximate='none'); one fused kernel each way (core/kernels/elementwise) */
export function gelu(x: Tensor): Tensor {
  return geluFused(x);
}

/** x * sigmoid(x); one fused kernel each way (core/kernels/elementwise) */
export function silu(x: Tensor): Tensor {
  return siluFused(x);
}

export class GELU extends Module {
  forward(x: Tensor): Tensor { return gelu(x); }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor { return silu(x); }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return tf.relu(x); }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

/** nn.Dropout: in training, zero with probability p and scale the rest by 1/(1-p). */
export class Dropout extends Module {
  constructor(readonly p = 0) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return tf.tidy(() => {
      const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', globalRng.seedForTf()), this.p), 'float32');
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.p)));
    });
  }
}

/**
 * timm DropPath (stochastic depth), per sample: in training each sample's branch is kept with
 * probability 1 - p and scaled by 1/(1-p) (scale_by_keep). The mask is drawn on the host.
 */
export class DropPath extends Module {
  constructor(readonly p = 0) {
    super();
    if (p < 0 || p >= 1) throw new Error(`DropPath: drop_prob must be in [0, 1), got ${p}`);
  }

  /** (B) per-sample factors: 1/keep or 0, drawn on the host */
  private mask(B: number): Float32Array {
    const keep = 1 - this.p;
    const mask = new Float32Array(B);
    for (let i = 0; i < B; i++) mask[i] = globalRng.random() < keep ? 1 / keep : 0;
    return mask;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const B = x.shape[0];
    const mask = this.mask(B);
    return tf.tidy(() => tf.mul(x, tf.tensor(mask, [B, ...new Array(x.rank - 1).fill(1)])));
  }

  /** x + forward(branch) as one fused kernel (core/kernels/elementwise scaledResidual); same random draws as forward */
  residual(x: Tensor, branch: Tensor): Tensor {
    if (!this.training || this.p === 0) return tf.add(x, branch);
    const mask = this.mask(x.shape[0]);
    return tf.tidy(() => scaledResidual(x, branch, tf.tensor1d(mask)));
  }
}
