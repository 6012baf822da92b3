// WebGPU kernels of the fused LayerNorm (raw pipelines: three outputs each).
import { tf, type TensorInfo } from '../../tf.ts';
import { checkBindings, dispatch, getPipeline, grid, sliceFlat, uniformWords, type WebgpuBackendLike } from '../webgpu-runtime.ts';
import { columnSum } from '../column-sum.ts';
import { requireFloat32 } from '../kernel-util.ts';
import type { LayerNormAttrs } from './layer-norm.ts';
import { layerNormBackwardWgsl, layerNormForwardWgsl, lnKey, lnTiling } from './wgsl.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

/** workgroups of the backward pass: enough to fill a large GPU, few enough that the partials stay small */
const BACKWARD_WORKGROUPS = 1024;

export function layerNormWebgpu({ inputs, backend, attrs }: Args): TensorInfo[] {
  const be = backend as WebgpuBackendLike;
  const { x, gamma, beta } = inputs as Record<string, TensorInfo>;
  requireFloat32('layerNorm(webgpu)', { x, gamma, beta });
  const { eps } = attrs as unknown as LayerNormAttrs;
  const C = x.shape[x.shape.length - 1];
  const rowsShape = x.shape.slice(0, -1);
  const R = tf.util.sizeFromShape(rowsShape);
  const k = lnTiling(C);
  const y = be.makeTensorInfo(x.shape, 'float32');
  const mean = be.makeTensorInfo(rowsShape, 'float32');
  const rstd = be.makeTensorInfo(rowsShape, 'float32');
  checkBindings(be, 'layerNorm', { x, gamma, beta, y, mean, rstd });
  const pipeline = getPipeline(be, `ssmv-ln-fwd-${lnKey(k)}`, () => layerNormForwardWgsl(k), 'LayerNormForward');
  const [gx, gy] = grid(be, Math.ceil(R / k.RPW));
  dispatch(be, pipeline, uniformWords([R, gx, { f32: eps }, 0]), [x, gamma, beta, y, mean, rstd], [gx, gy]);
  return [y, mean, rstd];
}

export function layerNormGradWebgpu({ inputs, backend }: Args): TensorInfo[] {
  const be = backend as WebgpuBackendLike;
  const { dy, x, gamma, mean, rstd } = inputs as Record<string, TensorInfo>;
  requireFloat32('layerNormGrad(webgpu)', { dy, x, gamma, mean, rstd });
  const C = x.shape[x.shape.length - 1];
  const R = tf.util.sizeFromShape(x.shape) / C;
  const k = lnTiling(C);
  const numWG = Math.max(1, Math.min(BACKWARD_WORKGROUPS, Math.ceil(R / k.RPW)));
  const P = numWG * k.RPW;
  const dx = be.makeTensorInfo(x.shape, 'float32');
  const partials = be.makeTensorInfo([P, 2 * C], 'float32');
  const sums = be.makeTensorInfo([2 * C], 'float32');
  checkBindings(be, 'layerNormGrad', { dy, x, gamma, mean, rstd, dx, partials });
  const pipeline = getPipeline(be, `ssmv-ln-bwd-${lnKey(k)}`, () => layerNormBackwardWgsl(k), 'LayerNormBackward');
  dispatch(be, pipeline, uniformWords([R, numWG, 0, 0]), [dy, x, gamma, mean, rstd, dx, partials], [numWG, 1]);
  columnSum(be, partials, P, 2 * C, sums);
  be.disposeData(partials.dataId);
  // sums = [dgamma | dbeta]
  const dgamma = sliceFlat(be, sums, 0, C, [C]);
  const dbeta = sliceFlat(be, sums, C, C, [C]);
  be.disposeData(sums.dataId);
  return [dx, dgamma, dbeta];
}
