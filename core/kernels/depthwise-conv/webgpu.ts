// WebGPU kernels of the depthwise conv: forward, input gradient (one thread per output element,
// vec4 over channels) and filter(+bias) gradient (per-chunk partials + a column-sum pass).
import { tf, type TensorInfo } from '../../tf.ts';
import { checkBindings, dispatch, getPipeline, grid, sliceFlat, uniformWords, type WebgpuBackendLike } from '../webgpu-runtime.ts';
import { columnSum } from '../column-sum.ts';
import { requireFloat32 } from '../kernel-util.ts';
import { outSize, type DwConvAttrs } from './depthwise-conv.ts';
import { dwForwardWgsl, dwGradFilterWgsl, dwGradInputWgsl, dwKey, type DwGeom } from './wgsl.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };
type Attrs = DwConvAttrs & { hasBias: boolean; inShape?: number[]; filterShape?: number[] };

/** pixel chunks of the filter gradient: enough workgroups for a large GPU, small partials */
const FILTER_CHUNKS = 512;

function geom(C: number, wShape: number[], a: Attrs): DwGeom {
  return {
    KH: wShape[0], KW: wShape[1], SH: a.strides[0], SW: a.strides[1], DH: a.dilations[0], DW: a.dilations[1],
    PH: a.pads[0], PW: a.pads[1], V: C % 4 === 0 ? 4 : 1, bias: a.hasBias,
  };
}

function sizes(xShape: number[], g: DwGeom): { B: number; H: number; W: number; OH: number; OW: number; CV: number } {
  const [B, H, W, C] = xShape;
  return { B, H, W, OH: outSize(H, g.KH, g.SH, g.PH, g.DH), OW: outSize(W, g.KW, g.SW, g.PW, g.DW), CV: C / g.V };
}

export function dwForwardWebgpu({ inputs, backend, attrs }: Args): TensorInfo {
  const be = backend as WebgpuBackendLike;
  const { x, w, bias } = inputs as Record<string, TensorInfo>;
  requireFloat32('depthwiseConv2d(webgpu)', { x, w });
  const g = geom(x.shape[3], w.shape, attrs as Attrs);
  const s = sizes(x.shape, g);
  const y = be.makeTensorInfo([s.B, s.OH, s.OW, x.shape[3]], 'float32');
  checkBindings(be, 'depthwiseConv2d', { x, w, y });
  const n = s.B * s.OH * s.OW * s.CV;
  const [gx, gy] = grid(be, Math.ceil(n / 256));
  const pipeline = getPipeline(be, `ssmv-dw-fwd-${dwKey(g)}`, () => dwForwardWgsl(g), 'DwConvForward');
  dispatch(be, pipeline, uniformWords([s.B, s.H, s.W, s.OH, s.OW, s.CV, n, gx]), g.bias ? [x, w, bias, y] : [x, w, y], [gx, gy]);
  return y;
}

export function dwGradInputWebgpu({ inputs, backend, attrs }: Args): TensorInfo {
  const be = backend as WebgpuBackendLike;
  const { dy, w } = inputs as Record<string, TensorInfo>;
  const a = attrs as Attrs;
  requireFloat32('depthwiseConv2dGradInput(webgpu)', { dy, w });
  const g = { ...geom(a.inShape![3], w.shape, a), bias: false };
  const s = sizes(a.inShape!, g);
  const dx = be.makeTensorInfo(a.inShape!, 'float32');
  checkBindings(be, 'depthwiseConv2dGradInput', { dy, w, dx });
  const n = s.B * s.H * s.W * s.CV;
  const [gx, gy] = grid(be, Math.ceil(n / 256));
  const pipeline = getPipeline(be, `ssmv-dw-dx-${dwKey(g)}`, () => dwGradInputWgsl(g), 'DwConvGradInput');
  dispatch(be, pipeline, uniformWords([s.B, s.H, s.W, s.OH, s.OW, s.CV, n, gx]), [dy, w, dx], [gx, gy]);
  return dx;
}

export function dwGradFilterWebgpu({ inputs, backend, attrs }: Args): TensorInfo[] {
  const be = backend as WebgpuBackendLike;
  const { dy, x } = inputs as Record<string, TensorInfo>;
  const a = attrs as Attrs;
  requireFloat32('depthwiseConv2dGradFilter(webgpu)', { dy, x });
  const C = x.shape[3];
  const g = geom(C, a.filterShape!, a);
  const s = sizes(x.shape, g);
  const KK = g.KH * g.KW;
  const NA = KK + (g.bias ? 1 : 0);
  const npix = s.B * s.OH * s.OW;
  const chunks = Math.max(1, Math.min(FILTER_CHUNKS, Math.ceil(npix / 64)));
  const perChunk = Math.ceil(npix / chunks);
  const used = Math.ceil(npix / perChunk);
  const partials = be.makeTensorInfo([used, NA * C], 'float32');
  checkBindings(be, 'depthwiseConv2dGradFilter', { dy, x, partials });
  const blocks = Math.ceil(s.CV / 64);
  if (blocks > be.device.limits.maxComputeWorkgroupsPerDimension) throw new Error(`depthwiseConv2dGradFilter(webgpu): ${C} channels need more than ${be.device.limits.maxComputeWorkgroupsPerDimension} workgroups`);
  const pipeline = getPipeline(be, `ssmv-dw-dw-${dwKey(g)}`, () => dwGradFilterWgsl(g), 'DwConvGradFilter');
  // uniforms: n = pixels per chunk, gridX = chunks
  dispatch(be, pipeline, uniformWords([s.B, s.H, s.W, s.OH, s.OW, s.CV, perChunk, used]), [dy, x, partials], [used, blocks]);
  const sums = be.makeTensorInfo([NA * C], 'float32');
  columnSum(be, partials, used, NA * C, sums);
  be.disposeData(partials.dataId);
  const slice = (begin: number, size: number, shape: number[]) => sliceFlat(be, sums, begin, size, shape);
  const out = [slice(0, KK * C, a.filterShape!)];
  if (g.bias) out.push(slice(KK * C, C, [C]));
  be.disposeData(sums.dataId);
  return out;
}
