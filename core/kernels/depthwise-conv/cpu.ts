// CPU twins of the depthwise conv kernels: loops ordered so the channel index is innermost
// (contiguous in NHWC), float32 storage.
import { tf, type TensorInfo } from '../../tf.ts';
import { cpuOutput, cpuValues, requireFloat32 } from '../kernel-util.ts';
import { outSize, type DwConvAttrs } from './depthwise-conv.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };
type Attrs = DwConvAttrs & { hasBias: boolean; inShape?: number[]; filterShape?: number[] };

interface Geo { B: number; H: number; W: number; C: number; KH: number; KW: number; OH: number; OW: number; SH: number; SW: number; PH: number; PW: number; DH: number; DW: number }

function geo(xShape: number[], wShape: number[], a: Attrs): Geo {
  const [B, H, W, C] = xShape;
  const [KH, KW] = wShape;
  const [SH, SW] = a.strides, [PH, PW] = a.pads, [DH, DW] = a.dilations;
  return { B, H, W, C, KH, KW, SH, SW, PH, PW, DH, DW, OH: outSize(H, KH, SH, PH, DH), OW: outSize(W, KW, SW, PW, DW) };
}

/** calls f(yOffset, xOffset, wOffset) for every in-bounds (b, oh, ow, kh, kw); the caller loops over C */
function forEachTap(g: Geo, f: (yo: number, xo: number, wo: number) => void): void {
  for (let b = 0; b < g.B; b++) for (let oh = 0; oh < g.OH; oh++) for (let ow = 0; ow < g.OW; ow++) {
    const yo = ((b * g.OH + oh) * g.OW + ow) * g.C;
    for (let kh = 0; kh < g.KH; kh++) {
      const ih = oh * g.SH + kh * g.DH - g.PH;
      if (ih < 0 || ih >= g.H) continue;
      for (let kw = 0; kw < g.KW; kw++) {
        const iw = ow * g.SW + kw * g.DW - g.PW;
        if (iw < 0 || iw >= g.W) continue;
        f(yo, ((b * g.H + ih) * g.W + iw) * g.C, (kh * g.KW + kw) * g.C);
      }
    }
  }
}

export function dwForwardCpu({ inputs, backend, attrs }: Args): TensorInfo {
  const { x, w, bias } = inputs as Record<string, TensorInfo>;
  requireFloat32('depthwiseConv2d(cpu)', { x, w });
  const g = geo(x.shape, w.shape, attrs as Attrs);
  const X = cpuValues(backend, x), Wt = cpuValues(backend, w);
  const y = new Float32Array(g.B * g.OH * g.OW * g.C);
  if (bias) {
    const Bs = cpuValues(backend, bias);
    for (let i = 0; i < y.length; i += g.C) y.set(Bs, i);
  }
  const C = g.C;
  forEachTap(g, (yo, xo, wo) => {
    for (let c = 0; c < C; c++) y[yo + c] += X[xo + c] * Wt[wo + c];
  });
  return cpuOutput(backend, [g.B, g.OH, g.OW, g.C], y);
}

export function dwGradInputCpu({ inputs, backend, attrs }: Args): TensorInfo {
  const { dy, w } = inputs as Record<string, TensorInfo>;
  const a = attrs as Attrs;
  requireFloat32('depthwiseConv2dGradInput(cpu)', { dy, w });
  const g = geo(a.inShape!, w.shape, a);
  const DY = cpuValues(backend, dy), Wt = cpuValues(backend, w);
  const dx = new Float32Array(g.B * g.H * g.W * g.C);
  const C = g.C;
  forEachTap(g, (yo, xo, wo) => {
    for (let c = 0; c < C; c++) dx[xo + c] += DY[yo + c] * Wt[wo + c];
  });
  return cpuOutput(backend, a.inShape!, dx);
}

export function dwGradFilterCpu({ inputs, backend, attrs }: Args): TensorInfo[] {
  const { dy, x } = inputs as Record<string, TensorInfo>;
  const a = attrs as Attrs;
  requireFloat32('depthwiseConv2dGradFilter(cpu)', { dy, x });
  const g = geo(x.shape, a.filterShape!, a);
  const DY = cpuValues(backend, dy), X = cpuValues(backend, x);
  const dw = new Float64Array(g.KH * g.KW * g.C);
  const C = g.C;
  forEachTap(g, (yo, xo, wo) => {
    for (let c = 0; c < C; c++) dw[wo + c] += DY[yo + c] * X[xo + c];
  });
  const out = [cpuOutput(backend, a.filterShape!, Float32Array.from(dw))];
  if (a.hasBias) {
    const db = new Float64Array(C);
    for (let i = 0; i < DY.length; i += C) for (let c = 0; c < C; c++) db[c] += DY[i + c];
    out.push(cpuOutput(backend, [C], Float32Array.from(db)));
  }
  return out;
}
