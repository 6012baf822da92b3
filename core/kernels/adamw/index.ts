// Fused AdamW update: op, reference, kernels (cpu, webgpu).
export { adamwUpdate, ADAMW_KERNEL, type AdamWStepAttrs } from './adamw.ts';
export { adamwReference } from './reference.ts';
