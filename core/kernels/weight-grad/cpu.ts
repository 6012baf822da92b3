// CPU twins of the weight-gradient kernels: loops with the output column innermost (contiguous),
// double accumulation per output row block.
import { tf, type TensorInfo } from '../../tf.ts';
import { cpuOutput, cpuValues, requireFloat32 } from '../kernel-util.ts';
import { convOut, type ConvAttrs } from './shapes.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

export function matMulTNCpu({ inputs, backend }: Args): TensorInfo {
  const { a, b } = inputs as Record<string, TensorInfo>;
  requireFloat32('matMulTN(cpu)', { a, b });
  const batched = a.shape.length === 3;
  const [batches, K, M] = batched ? a.shape : [1, ...a.shape];
  const N = b.shape[b.shape.length - 1];
  const A = cpuValues(backend, a), Bv = cpuValues(backend, b);
  const out = new Float64Array(batches * M * N);
  for (let bt = 0; bt < batches; bt++) {
    for (let k = 0; k < K; k++) {
      const ao = (bt * K + k) * M, bo = (bt * K + k) * N;
      for (let m = 0; m < M; m++) {
        const av = A[ao + m];
        if (av === 0) continue;
        const oo = (bt * M + m) * N;
        for (let n = 0; n < N; n++) out[oo + n] += av * Bv[bo + n];
      }
    }
  }
  return cpuOutput(backend, batched ? [batches, M, N] : [M, N], Float32Array.from(out));
}

export function convGradFilterCpu({ inputs, backend, attrs }: Args): TensorInfo {
  const { x, dy } = inputs as Record<string, TensorInfo>;
  requireFloat32('conv2dGradFilter(cpu)', { x, dy });
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const [B, H, W, Ci] = x.shape;
  const [KH, KW, , Co] = a.filterShape;
  const [OH, OW] = convOut(x.shape, a.filterShape, a);
  const X = cpuValues(backend, x), DY = cpuValues(backend, dy);
  const dw = new Float64Array(KH * KW * Ci * Co);
  for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const yo = ((b * OH + oh) * OW + ow) * Co;
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * a.strides[0] + kh * a.dilations[0] - a.pads[0];
      if (ih < 0 || ih >= H) continue;
      for (let kw = 0; kw < KW; kw++) {
        const iw = ow * a.strides[1] + kw * a.dilations[1] - a.pads[1];
        if (iw < 0 || iw >= W) continue;
        const xo = ((b * H + ih) * W + iw) * Ci;
        const wo = (kh * KW + kw) * Ci;
        for (let ci = 0; ci < Ci; ci++) {
          const xv = X[xo + ci];
          if (xv === 0) continue;
          const o = (wo + ci) * Co;
          for (let co = 0; co < Co; co++) dw[o + co] += xv * DY[yo + co];
        }
      }
    }
  }
  return cpuOutput(backend, a.filterShape, Float32Array.from(dw));
}

export function columnSumCpu({ inputs, backend }: Args): TensorInfo {
  const { x } = inputs as Record<string, TensorInfo>;
  requireFloat32('columnSum(cpu)', { x });
  const X = cpuValues(backend, x);
  const N = x.shape[x.shape.length - 1];
  const out = new Float64Array(N);
  for (let i = 0; i < X.length; i += N) for (let n = 0; n < N; n++) out[n] += X[i + n];
  return cpuOutput(backend, [N], Float32Array.from(out));
}
