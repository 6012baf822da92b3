// Fused elementwise ops (GELU, SiLU, DropPath residual): ops, references, kernels (cpu, webgpu).
export { geluFused, siluFused, scaledResidual, geluReference, siluReference } from './elementwise.ts';
