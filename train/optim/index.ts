export { paramGroups, isNoDecay, type ParamGroup } from './param-groups.ts';
export { AdamW, type AdamWOptions } from './adamw.ts';
export { SGD, type SGDOptions } from './sgd.ts';
export type { Optimizer } from './optimizer.ts';
export { clipGradNorm } from './clip.ts';
