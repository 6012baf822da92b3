// WebGPU kernels of the weight-gradient family: the split-k GEMM (Linear weights, batched
// projection weights, dense conv filters through an implicit im2col) and a column sum (bias grads).
import { tf, type TensorInfo } from '../../tf.ts';
import { checkBindings, dispatch, getPipeline, uniformWords, type WebgpuBackendLike } from '../webgpu-runtime.ts';
import { columnSum } from '../column-sum.ts';
import { requireFloat32 } from '../kernel-util.ts';
import { aKey, weightGradWgsl, type AMode } from './wgsl.ts';
import { convOut, type ConvAttrs } from './shapes.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

/** workgroups one GEMM aims for (fills a large GPU several times over; splits k to get there) */
const TARGET_WORKGROUPS = 1024;
/** fewest k rows per split */
const MIN_K_PER_SPLIT = 256;

interface GemmDims { batches: number; K: number; M: number; N: number; H?: number; W?: number; Ci?: number; OH?: number; OW?: number }

function gemm(be: WebgpuBackendLike, name: string, A: TensorInfo, Bm: TensorInfo, d: GemmDims, mode: AMode, outShape: number[]): TensorInfo {
  const tilesM = Math.ceil(d.M / 64), tilesN = Math.ceil(d.N / 64);
  const tiles = tilesM * tilesN;
  const maxDim = be.device.limits.maxComputeWorkgroupsPerDimension;
  if (tiles > maxDim || d.batches > maxDim) throw new Error(`${name}(webgpu): output (${d.batches}, ${d.M}, ${d.N}) needs more than ${maxDim} workgroups per dimension`);
  let splits = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / (tiles * d.batches)), Math.floor(d.K / MIN_K_PER_SPLIT), maxDim));
  const kPerSplit = Math.ceil(Math.ceil(d.K / splits) / 16) * 16;
  splits = Math.ceil(d.K / kPerSplit);
  const out = be.makeTensorInfo(outShape, 'float32');
  const partials = splits === 1 ? out : be.makeTensorInfo([splits, d.batches * d.M * d.N], 'float32');
  checkBindings(be, name, { A, B: Bm, partials });
  const pipeline = getPipeline(be, `ssmv-wgrad-${aKey(mode)}`, () => weightGradWgsl(mode), name);
  const u = uniformWords([d.M, d.N, d.K, kPerSplit, tilesN, d.batches, d.H ?? 0, d.W ?? 0, d.Ci ?? 0, d.OH ?? 0, d.OW ?? 0, 0]);
  dispatch(be, pipeline, u, [A, Bm, partials], [tiles, splits, d.batches]);
  if (splits > 1) {
    columnSum(be, partials, splits, d.batches * d.M * d.N, out);
    be.disposeData(partials.dataId);
  }
  return out;
}

/** a (batch?, K, M), b (batch?, K, N) -> (batch?, M, N) = a^T b */
export function matMulTNWebgpu({ inputs, backend }: Args): TensorInfo {
  const be = backend as WebgpuBackendLike;
  const { a, b } = inputs as Record<string, TensorInfo>;
  requireFloat32('matMulTN(webgpu)', { a, b });
  const batched = a.shape.length === 3;
  const [batches, K, M] = batched ? a.shape : [1, ...a.shape];
  const N = b.shape[b.shape.length - 1];
  return gemm(be, 'MatMulTN', a, b, { batches, K, M, N }, { kind: 'dense' }, batched ? [batches, M, N] : [M, N]);
}

/** x (B, H, W, Ci), dy (B, OH, OW, Co) -> dW (KH, KW, Ci, Co) */
export function convGradFilterWebgpu({ inputs, backend, attrs }: Args): TensorInfo {
  const be = backend as WebgpuBackendLike;
  const { x, dy } = inputs as Record<string, TensorInfo>;
  requireFloat32('conv2dGradFilter(webgpu)', { x, dy });
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const [B, H, W, Ci] = x.shape;
  const [KH, KW, , Co] = a.filterShape;
  const [OH, OW] = convOut(x.shape, a.filterShape, a);
  const mode: AMode = { kind: 'conv', KH, KW, SH: a.strides[0], SW: a.strides[1], PH: a.pads[0], PW: a.pads[1], DH: a.dilations[0], DW: a.dilations[1] };
  return gemm(be, 'Conv2dGradFilter', x, dy, { batches: 1, K: B * OH * OW, M: KH * KW * Ci, N: Co, H, W, Ci, OH, OW }, mode, a.filterShape);
}

/** x (P, N) -> (N): the sum over rows (bias gradients) */
export function columnSumWebgpu({ inputs, backend }: Args): TensorInfo {
  const be = backend as WebgpuBackendLike;
  const { x } = inputs as Record<string, TensorInfo>;
  requireFloat32('columnSum(webgpu)', { x });
  const N = x.shape[x.shape.length - 1];
  const P = tf.util.sizeFromShape(x.shape) / N;
  const out = be.makeTensorInfo([N], 'float32');
  checkBindings(be, 'columnSum', { x, out });
  columnSum(be, x, P, N, out);
  return out;
}
