// Weight-gradient kernels as ops (no gradients of their own: they run inside backward passes).
//   matMulTN(a (batch?, K, M), b (batch?, K, N)) = a^T b       (Linear / projection weight gradients)
//   conv2dFilterGrad(x (B,H,W,Ci), dy (B,OH,OW,Co)) -> (KH,KW,Ci,Co)   (dense conv filter gradient)
//   columnSum(x (..., N)) -> (N)                               (bias gradients)
// tfjs-webgpu runs the first as a 32x32-tile GEMM whose few tiles loop over all of K, the second as
// one serial loop per filter element, the third as a transpose plus a row reduction.
import { tf, type Tensor } from '../../tf.ts';
import { hasKernel, runKernel } from '../kernel-util.ts';
import type { ConvAttrs } from './shapes.ts';
import './register.ts';

export function matMulTN(a: Tensor, b: Tensor): Tensor {
  const ok = (a.rank === 2 || a.rank === 3) && a.rank === b.rank && a.shape[a.rank - 2] === b.shape[b.rank - 2] && (a.rank === 2 || a.shape[0] === b.shape[0]);
  if (!ok) throw new Error(`matMulTN: a [${a.shape}] and b [${b.shape}] must be (batch?, K, M) and (batch?, K, N)`);
  if (!hasKernel('SsmvMatMulTN')) return tf.matMul(a, b, true, false);
  return runKernel('SsmvMatMulTN', { a, b });
}

export function conv2dFilterGrad(x: Tensor, dy: Tensor, filterShape: number[], a: ConvAttrs): Tensor {
  if (x.rank !== 4 || dy.rank !== 4 || filterShape.length !== 4) throw new Error(`conv2dFilterGrad: x [${x.shape}] and dy [${dy.shape}] must be NHWC, filter (KH, KW, Ci, Co)`);
  if (!hasKernel('SsmvConv2dGradFilter')) {
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [a.pads[0], a.pads[0]], [a.pads[1], a.pads[1]], [0, 0]];
    return tf.grad((w: Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, a.strides, pad, 'NHWC', a.dilations), dy)))(tf.zeros(filterShape));
  }
  return runKernel('SsmvConv2dGradFilter', { x, dy }, { ...a, filterShape });
}

export function columnSum(x: Tensor): Tensor {
  if (!hasKernel('SsmvColumnSum')) return tf.sum(x.reshape([-1, x.shape[x.rank - 1]]), 0);
  return runKernel('SsmvColumnSum', { x });
}
