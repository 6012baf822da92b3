// The public op: roiAlign(x, rois, options) -> (R, oh, ow, C). Validates shapes and options, then runs
// the registered kernel of the current backend (cpu, webgpu); differentiable in x.
import { tf, type Tensor } from '../../../core/tf.ts';
import { ROI_ALIGN_KERNEL, roiAlignAttrs, type RoIAlignOptions } from './types.ts';

/**
 * x (N, H, W, C) float32 NHWC features; rois (R, 5) float32 rows [batch index, x1, y1, x2, y2] in
 * input-image pixels (multiplied by spatialScale). Rows with a batch index outside [0, N) or a
 * non-finite value give zeros.
 */
export function roiAlign(x: Tensor, rois: Tensor, options: RoIAlignOptions): Tensor {
  const a = roiAlignAttrs(options);
  if (x.rank !== 4) throw new Error(`roiAlign: x must be (N, H, W, C), got shape [${x.shape}]`);
  if (x.dtype !== 'float32') throw new Error(`roiAlign: x must be float32, got ${x.dtype}`);
  if (rois.rank !== 2 || rois.shape[1] !== 5) throw new Error(`roiAlign: rois must be (R, 5) [batch, x1, y1, x2, y2], got shape [${rois.shape}]`);
  if (rois.dtype !== 'float32') throw new Error(`roiAlign: rois must be float32, got ${rois.dtype}`);
  const backend = tf.getBackend();
  if (!tf.getKernel(ROI_ALIGN_KERNEL, backend)) {
    throw new Error(`roiAlign: no RoIAlign kernel is registered for backend '${backend}' (kernels: cpu, webgpu; import 'heads/kernel/roi-align/index.ts')`);
  }
  return tf.engine().runKernel(ROI_ALIGN_KERNEL, { x, rois }, a as unknown as tf.NamedAttrMap) as Tensor;
}
