// Weight-gradient kernels (split-k GEMM, implicit-im2col conv filter gradient, column sums) and the
// Linear / dense Conv2d ops whose backward uses them.
export { matMulTN, conv2dFilterGrad, columnSum } from './weight-grad.ts';
export { linear, linearReference, conv2d, conv2dReference } from './layers.ts';
export type { ConvAttrs } from './shapes.ts';
