// RoIAlign (mmcv semantics, NHWC): the op with a registered gradient, its reference oracle, and the
// host function used for mask targets.
import './register.ts';

export { roiAlign } from './roi-align.ts';
export { roiAlignReference, roiAlignMatrix } from './reference.ts';
export { roiAlignArrays, roiAlignGradArrays } from './cpu.ts';
export { roiAlignAttrs, type RoIAlignOptions, type RoIAlignAttrs } from './types.ts';
