// Fused LayerNorm over the last dim: op (differentiable), reference, kernels (cpu, webgpu).
export { layerNorm, LAYER_NORM_KERNEL, LAYER_NORM_GRAD_KERNEL } from './layer-norm.ts';
export { layerNormReference } from './reference.ts';
