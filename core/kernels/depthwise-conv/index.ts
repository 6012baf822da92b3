// Depthwise conv (NHWC, bias fused): op (differentiable), reference, kernels (cpu, webgpu).
export { depthwiseConv2d, DW_KERNELS, type DwConvAttrs } from './depthwise-conv.ts';
export { depthwiseConvReference } from './reference.ts';
