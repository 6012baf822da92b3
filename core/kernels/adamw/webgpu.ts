// WebGPU kernel of the fused AdamW update: one dispatch, three outputs (a raw pipeline: a
// WebGPUProgram has one output).
import { tf, type TensorInfo } from '../../tf.ts';
import { checkBindings, dispatch, getPipeline, grid, uniformWords, type WebgpuBackendLike } from '../webgpu-runtime.ts';
import { requireFloat32 } from '../kernel-util.ts';
import type { AdamWStepAttrs } from './adamw.ts';
import { ADAMW_WGSL } from './wgsl.ts';

export function adamwWebgpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo[] {
  const be = backend as WebgpuBackendLike;
  const { p, g, m, v } = inputs as Record<string, TensorInfo>;
  requireFloat32('adamw(webgpu)', { p, g, m, v });
  const a = attrs as unknown as AdamWStepAttrs;
  const n = tf.util.sizeFromShape(p.shape);
  const outs = [0, 1, 2].map(() => be.makeTensorInfo(p.shape, 'float32'));
  checkBindings(be, 'adamw', { p, g, m, v, pOut: outs[0], mOut: outs[1], vOut: outs[2] });
  const pipeline = getPipeline(be, 'ssmv-adamw', () => ADAMW_WGSL, 'AdamW');
  const [gx, gy] = grid(be, Math.ceil(n / 256));
  const u = uniformWords([n, gx, { f32: a.decay }, { f32: a.beta1 }, { f32: a.beta2 }, { f32: a.stepSize }, { f32: a.bc2Sqrt }, { f32: a.eps }]);
  dispatch(be, pipeline, u, [p, g, m, v, ...outs], [gx, gy]);
  return outs;
}
