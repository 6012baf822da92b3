// Custom kernel families (WGSL + cpu twin each, registered as tfjs kernels on import) as ops.
export { layerNorm, layerNormReference } from './layer-norm/index.ts';
export { geluFused, siluFused, scaledResidual, geluReference, siluReference } from './elementwise/index.ts';
export { depthwiseConv2d, depthwiseConvReference, type DwConvAttrs } from './depthwise-conv/index.ts';
export { matMulTN, conv2dFilterGrad, columnSum, linear, linearReference, conv2d, conv2dReference, type ConvAttrs } from './weight-grad/index.ts';
export { adamwUpdate, adamwReference, type AdamWStepAttrs } from './adamw/index.ts';
export { startGpuProfile, stopGpuProfile, type DispatchTime } from './gpu-profiler.ts';
