// The layers whose weight gradients the kernels of this folder compute, as differentiable ops
// (tf.customGrad, saving x and the weight as tfjs' own gradients do):
//   linear(x (R, in), W (out, in), bias (out) | null) = x W^T + bias: forward one fused matMul
//     (bias in the epilogue) on the transposed weight; dx = dy W (tfjs matMul), dW = matMulTN(dy, x), dbias = columnSum(dy)
//   conv2d(x (B,H,W,Ci), W (KH,KW,Ci,Co), bias | null): forward tf.fused.conv2d (bias fused),
//     dx = tfjs' Conv2DBackpropInput, dW = conv2dFilterGrad, dbias = columnSum(dy)
import { tf, type Tensor } from '../../tf.ts';
import { customOp, hasKernel } from '../kernel-util.ts';
import { columnSum, conv2dFilterGrad, matMulTN } from './weight-grad.ts';
import type { ConvAttrs } from './shapes.ts';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

export function linearReference(x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  return tf.tidy(() => {
    const y = tf.matMul(x, w, false, true);
    return bias ? tf.add(y, bias) : y;
  });
}

/** x (R, in) with w (out, in), or batched: x (G, R, in) with w (G, out, in) (bias only when 2-D) */
export function linear(x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  const batched = x.rank === 3 && w.rank === 3 && x.shape[0] === w.shape[0] && !bias;
  if (!batched && (x.rank !== 2 || w.rank !== 2)) throw new Error(`linear: x [${x.shape}] and weight [${w.shape}] must be 2-D (or 3-D with the same leading dim and no bias)`);
  if (x.shape[x.rank - 1] !== w.shape[w.rank - 1]) throw new Error(`linear: x [${x.shape}] must be (rows, ${w.shape[w.rank - 1]}) for a weight [${w.shape}]`);
  if (!hasKernel('SsmvMatMulTN')) return linearReference(x, w, bias);
  const inputs = bias ? [x, w, bias] : [x, w];
  return customOp(inputs, ([xi, wi, bi], save) => {
    save([xi, wi]);
    return {
      // x W^T with W transposed first (a small copy): tfjs-webgpu's matMul runs its vec4 program only
      // without transposeB (1.7x faster for VMamba-T's shapes on an H100)
      value: tf.tidy(() => (batched
        ? tf.matMul(xi, tf.transpose(wi, [0, 2, 1]))
        : tf.fused.matMul({ a: xi as tf.Tensor2D, b: tf.transpose(wi) as tf.Tensor2D, bias: bi }))),
      gradFunc: (dy, [sx, sw]) => {
        const grads = [tf.matMul(dy, sw), matMulTN(dy, sx)];
        if (bi) grads.push(columnSum(dy));
        return grads;
      },
    };
  });
}

export function conv2dReference(x: Tensor, w: Tensor, bias: Tensor | null, a: ConvAttrs): Tensor {
  return tf.tidy(() => {
    const pad: Pad4 = [[0, 0], [a.pads[0], a.pads[0]], [a.pads[1], a.pads[1]], [0, 0]];
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, a.strides, pad, 'NHWC', a.dilations);
    return bias ? tf.add(y, bias) : y;
  });
}

export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, a: ConvAttrs): Tensor {
  if (x.rank !== 4 || w.rank !== 4 || x.shape[3] !== w.shape[2]) throw new Error(`conv2d: x [${x.shape}] must be NHWC with ${w.shape[2]} channels for a filter [${w.shape}]`);
  // tfjs' input gradient (conv2dTranspose) has no dilation: dilated convs keep the composite
  if (!hasKernel('SsmvConv2dGradFilter') || a.dilations[0] !== 1 || a.dilations[1] !== 1) return conv2dReference(x, w, bias, a);
  const pad: Pad4 = [[0, 0], [a.pads[0], a.pads[0]], [a.pads[1], a.pads[1]], [0, 0]];
  const inputs = bias ? [x, w, bias] : [x, w];
  return customOp(inputs, ([xi, wi, bi], save) => {
    save([xi, wi]);
    return {
      value: tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: wi as tf.Tensor4D, strides: a.strides, pad, dataFormat: 'NHWC', bias: bi }),
      gradFunc: (dy, [sx, sw]) => {
        const grads = [
          tf.conv2dTranspose(dy as tf.Tensor4D, sw as tf.Tensor4D, sx.shape as [number, number, number, number], a.strides, pad),
          conv2dFilterGrad(sx, dy, sw.shape, a),
        ];
        if (bi) grads.push(columnSum(dy));
        return grads;
      },
    };
  });
}
