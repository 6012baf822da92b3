// nn.Conv2d for the YOLO models (same parameters, names and layouts as core/nn Conv2d) with forward
// and backward paths that avoid tfjs' slow spots:
//  - 1x1 stride-1 convolutions run as one matMul on (B*H*W, Cin) on every backend (tfjs' conv
//    filter gradient is a per-element loop on cpu and a serial loop per weight on webgpu);
//    `forwardSplit` returns the output channel groups from slices of the weight, so no split of a
//    large activation is needed (tfjs-cpu slices non-contiguous data element by element);
//  - on the cpu backend, k x k dense and depthwise convolutions take their filter gradients from a
//    direct loop over the typed arrays (tfjs-cpu reads every element through TensorBuffer.get,
//    ~2 us per multiply-add) and their input gradients from tfjs' transposed/depthwise convolution.
// Other backends keep tfjs' own convolution kernels and gradients.
import { tf, type Tensor } from '../../core/tf.ts';
import { Conv2d, type Conv2dOptions } from '../../core/nn/conv2d.ts';
import type { CustomGradientFunc } from './boxes.ts';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** dW of a dense conv (B, H, W, Cin) * (k, k, Cin, Cout), stride s, symmetric padding p: host loop */
function denseFilterGrad(x: Tensor, dy: Tensor, k: [number, number], s: [number, number], p: [number, number]): Tensor {
  const [B, H, W, Ci] = x.shape as number[];
  const [, Ho, Wo, Co] = dy.shape as number[];
  const xv = x.dataSync() as Float32Array; // cpu backend only: no device round trip
  const dv = dy.dataSync() as Float32Array;
  const dw = new Float32Array(k[0] * k[1] * Ci * Co);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const dbase = ((b * Ho + oy) * Wo + ox) * Co;
        for (let ky = 0; ky < k[0]; ky++) {
          const iy = oy * s[0] + ky - p[0];
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < k[1]; kx++) {
            const ix = ox * s[1] + kx - p[1];
            if (ix < 0 || ix >= W) continue;
            const xbase = ((b * H + iy) * W + ix) * Ci;
            const wbase = (ky * k[1] + kx) * Ci;
            for (let ci = 0; ci < Ci; ci++) {
              const a = xv[xbase + ci];
              if (a === 0) continue;
              const row = (wbase + ci) * Co;
              for (let co = 0; co < Co; co++) dw[row + co] += a * dv[dbase + co];
            }
          }
        }
      }
    }
  }
  return tf.tensor4d(dw, [k[0], k[1], Ci, Co]);
}

/** dW of a stride-1 depthwise conv with channel multiplier 1: (k, k, C, 1) */
function depthwiseFilterGrad(x: Tensor, dy: Tensor, k: [number, number], p: [number, number]): Tensor {
  const [B, H, W, C] = x.shape as number[];
  const [, Ho, Wo] = dy.shape as number[];
  const xv = x.dataSync() as Float32Array; // cpu backend only
  const dv = dy.dataSync() as Float32Array;
  const dw = new Float32Array(k[0] * k[1] * C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const dbase = ((b * Ho + oy) * Wo + ox) * C;
        for (let ky = 0; ky < k[0]; ky++) {
          const iy = oy + ky - p[0];
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < k[1]; kx++) {
            const ix = ox + kx - p[1];
            if (ix < 0 || ix >= W) continue;
            const xbase = ((b * H + iy) * W + ix) * C;
            const wbase = (ky * k[1] + kx) * C;
            for (let c = 0; c < C; c++) dw[wbase + c] += xv[xbase + c] * dv[dbase + c];
          }
        }
      }
    }
  }
  return tf.tensor4d(dw, [k[0], k[1], C, 1]);
}

export class YConv2d extends Conv2d {
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: Conv2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, opts);
    if (this.groups !== 1 && !this.depthwise) throw new Error('YConv2d: grouped convolutions other than depthwise are not supported');
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) throw new Error('YConv2d: dilation is not supported');
  }

  get pointwise(): boolean {
    return this.kernel[0] === 1 && this.kernel[1] === 1 && this.stride[0] === 1 && this.stride[1] === 1 && this.groups === 1 && this.padding[0] === 0 && this.padding[1] === 0;
  }

  /** 1x1 conv output split into channel groups of `sizes` (a matMul per group on a weight slice) */
  forwardSplit(x: Tensor, sizes: number[]): Tensor[] {
    if (!this.pointwise) throw new Error('YConv2d.forwardSplit: only for 1x1 stride-1 convolutions');
    if (sizes.reduce((a, b) => a + b, 0) !== this.outChannels) throw new Error(`YConv2d.forwardSplit: sizes ${sizes} do not add up to ${this.outChannels}`);
    return tf.tidy(() => {
      const [B, H, W] = x.shape;
      const x2 = x.reshape([-1, this.inChannels]);
      const w2 = this.weight.reshape([this.inChannels, this.outChannels]);
      let off = 0;
      return sizes.map((n) => {
        let y = tf.matMul(x2, tf.slice(w2, [0, off], [-1, n]));
        if (this.bias) y = tf.add(y, tf.slice(this.bias, [off], [n]));
        off += n;
        return y.reshape([B, H, W, n]);
      });
    });
  }

  override forward(x: Tensor): Tensor {
    if (this.pointwise) return this.forwardSplit(x, [this.outChannels])[0];
    if (tf.getBackend() !== 'cpu') return super.forward(x);
    return tf.tidy(() => {
      const [ph, pw] = this.padding;
      const pad: Pad4 = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
      const k = this.kernel, s = this.stride, p = this.padding;
      let y: Tensor;
      if (this.depthwise) {
        if (this.outChannels !== this.inChannels || s[0] !== 1 || s[1] !== 1) return super.forward(x);
        const f = tf.customGrad(((xi: Tensor, w: Tensor, save: (t: Tensor[]) => void) => {
          save([xi, w]);
          return {
            value: tf.depthwiseConv2d(xi as tf.Tensor4D, w as tf.Tensor4D, 1, pad),
            gradFunc: (dy: Tensor, [xs, ws]: Tensor[]) => [
              // stride 1: dx = depthwise conv of dy with the flipped filter, padding k - 1 - p
              tf.depthwiseConv2d(dy as tf.Tensor4D, tf.reverse(ws, [0, 1]) as tf.Tensor4D, 1, [[0, 0], [k[0] - 1 - p[0], k[0] - 1 - p[0]], [k[1] - 1 - p[1], k[1] - 1 - p[1]], [0, 0]]),
              depthwiseFilterGrad(xs, dy, k, p),
            ],
          };
        }) as unknown as CustomGradientFunc) as (a: Tensor, b: Tensor) => Tensor;
        y = f(x, this.weight);
      } else {
        const f = tf.customGrad(((xi: Tensor, w: Tensor, save: (t: Tensor[]) => void) => {
          save([xi, w]);
          return {
            value: tf.conv2d(xi as tf.Tensor4D, w as tf.Tensor4D, s, pad),
            gradFunc: (dy: Tensor, [xs, ws]: Tensor[]) => [
              tf.conv2dTranspose(dy as tf.Tensor4D, ws as tf.Tensor4D, xs.shape as [number, number, number, number], s, pad),
              denseFilterGrad(xs, dy, k, s, p),
            ],
          };
        }) as unknown as CustomGradientFunc) as (a: Tensor, b: Tensor) => Tensor;
        y = f(x, this.weight);
      }
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
