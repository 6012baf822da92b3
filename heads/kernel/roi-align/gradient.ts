// The registered gradient of RoIAlign: dx from the backward kernel of the current backend (the adjoint
// scatter); the boxes get no gradient (mmcv returns None for rois; proposals are detached in mmdet).
import { tf, type Tensor } from '../../../core/tf.ts';
import { ROI_ALIGN_GRAD_KERNEL, ROI_ALIGN_KERNEL, type RoIAlignAttrs, type RoIAlignGradAttrs } from './types.ts';

export function registerRoIAlignGradient(): void {
  tf.registerGradient({
    kernelName: ROI_ALIGN_KERNEL,
    inputsToSave: ['x', 'rois'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, rois] = saved;
      const g = Array.isArray(dy) ? dy[0] : dy;
      const a = attrs as unknown as RoIAlignAttrs;
      const gradAttrs: RoIAlignGradAttrs = { ...a, xShape: x.shape as [number, number, number, number] };
      return {
        x: () => tf.engine().runKernel(ROI_ALIGN_GRAD_KERNEL, { dy: g, rois }, gradAttrs as unknown as tf.NamedAttrMap) as Tensor,
        rois: () => tf.zerosLike(rois),
      };
    },
  });
}
