// Depthwise 2-D convolution on NHWC maps (nn.Conv2d with groups = channels, channel multiplier 1),
// with the bias fused: forward, input gradient and filter(+bias) gradient are one kernel each
// (tfjs-webgpu runs the filter gradient as one serial loop per filter element; its cpu kernels are
// generic loops). tf.customGrad saves x and the filter only.
//   x (B, H, W, C), w (KH, KW, C, 1) (tfjs layout), bias (C) or null -> y (B, OH, OW, C)
import { tf, type Tensor } from '../../tf.ts';
import { customOp, hasKernel, runKernel, runKernelMulti } from '../kernel-util.ts';
import { depthwiseConvReference } from './reference.ts';
import './register.ts';

export interface DwConvAttrs {
  strides: [number, number];
  pads: [number, number];
  dilations: [number, number];
}

export const DW_KERNELS = { forward: 'SsmvDwConv', gradInput: 'SsmvDwConvGradInput', gradFilter: 'SsmvDwConvGradFilter' };

export function outSize(inSize: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((inSize + 2 * p - d * (k - 1) - 1) / s) + 1;
}

export function depthwiseConv2d(x: Tensor, w: Tensor, bias: Tensor | null, a: DwConvAttrs): Tensor {
  if (x.rank !== 4) throw new Error(`depthwiseConv2d: x must be NHWC (B, H, W, C), got [${x.shape}]`);
  const C = x.shape[3];
  if (w.rank !== 4 || w.shape[2] !== C || w.shape[3] !== 1) throw new Error(`depthwiseConv2d: filter must be (KH, KW, ${C}, 1), got [${w.shape}]`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== C)) throw new Error(`depthwiseConv2d: bias must be (${C}), got [${bias.shape}]`);
  const [, H, W] = x.shape as number[];
  const [KH, KW] = w.shape as number[];
  const [OH, OW] = [outSize(H, KH, a.strides[0], a.pads[0], a.dilations[0]), outSize(W, KW, a.strides[1], a.pads[1], a.dilations[1])];
  if (!(OH > 0 && OW > 0)) throw new Error(`depthwiseConv2d: the output of [${x.shape}] with a ${w.shape[0]}x${w.shape[1]} filter is empty`);
  if (!hasKernel(DW_KERNELS.forward)) return depthwiseConvReference(x, w, bias, a);
  const attrs = { ...a, hasBias: bias !== null };
  const inputs = bias ? [x, w, bias] : [x, w];
  return customOp(inputs, ([xi, wi, bi], save) => {
    save([xi, wi]);
    return {
      value: runKernel(DW_KERNELS.forward, bi ? { x: xi, w: wi, bias: bi } : { x: xi, w: wi }, attrs),
      gradFunc: (dy, [sx, sw]) => {
        const dx = runKernel(DW_KERNELS.gradInput, { dy, w: sw }, { ...attrs, inShape: sx.shape });
        const dwb = runKernelMulti(DW_KERNELS.gradFilter, { dy, x: sx }, { ...attrs, filterShape: sw.shape });
        return [dx, ...dwb];
      },
    };
  });
}
