// Fixtures for the training tests: a tiny core/nn classifier and an in-memory synthetic set whose
// class decides which quadrant of the image is bright (learnable in a few epochs on cpu).
import { tf, type Tensor } from '../../core/tf.ts';
import { Module, Conv2d, LayerNorm, Linear, DropPath, gelu } from '../../core/nn/index.ts';
import { Rng } from '../../core/rng.ts';

export class TinyNet extends Module {
  readonly conv: Conv2d;
  readonly norm: LayerNorm;
  readonly drop: DropPath;
  readonly head: Linear;
  constructor(readonly numClasses = 4, width = 8, dropPath = 0) {
    super();
    this.conv = this.child('conv', new Conv2d(3, width, 3, { stride: 2, padding: 1 }));
    this.norm = this.child('norm', new LayerNorm(width));
    this.drop = this.child('drop', new DropPath(dropPath));
    this.head = this.child('head', new Linear(width * 4, numClasses));
  }
  /** x (B, H, W, 3) -> logits (B, C): conv, LN, GELU, 2x2 average pool of quadrants, linear */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const h = gelu(this.norm.forward(this.conv.forward(x)));
      const r = tf.add(h, this.drop.forward(h)) as tf.Tensor4D;
      const [B, H, W] = r.shape;
      const pooled = tf.avgPool(r, [H / 2, W / 2], [H / 2, W / 2], 'valid'); // (B, 2, 2, width)
      return this.head.forward(pooled.reshape([B, -1]));
    });
  }
}

/** n images (size x size x 3) of `classes` classes: the class's quadrant is brighter, plus noise. */
export function quadrantSet(n: number, size = 8, classes = 4, seed = 1): { images: Float32Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const images = new Float32Array(n * size * size * 3);
  const labels = new Int32Array(n);
  const half = size / 2;
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const q = (y >= half ? 2 : 0) + (x >= half ? 1 : 0);
      for (let k = 0; k < 3; k++) images[((i * size + y) * size + x) * 3 + k] = (q === c ? 0.8 : -0.2) + 0.5 * rng.normal();
    }
  }
  return { images, labels };
}
