// CPU twins of the weight-gradient kernels: matMulTN and the conv filter gradient (on im2col rows) as
// the register-blocked GEMM of tfjs-cpu/gemm.ts on k-contiguous copies; column sums in double.
import { tf, type TensorInfo } from '../../tf.ts';
import { cpuOutput, cpuValues, requireFloat32 } from '../kernel-util.ts';
import { convOut, type ConvAttrs } from './shapes.ts';
import { gemmNT, transposeInto } from '../tfjs-cpu/gemm.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

export function matMulTNCpu({ inputs, backend }: Args): TensorInfo {
  const { a, b } = inputs as Record<string, TensorInfo>;
  requireFloat32('matMulTN(cpu)', { a, b });
  const batched = a.shape.length === 3;
  const [batches, K, M] = batched ? a.shape : [1, ...a.shape];
  const N = b.shape[b.shape.length - 1];
  const A = cpuValues(backend, a), Bv = cpuValues(backend, b);
  // a^T (M, K) and b^T (N, K) rows, then the register-blocked GEMM: each output one float64 sum
  // over all of K in increasing k, rounded once (kBlock = K)
  const At = new Float32Array(M * K), Bt = new Float32Array(N * K);
  const out = new Float32Array(batches * M * N);
  for (let bt = 0; bt < batches; bt++) {
    transposeInto(A, bt * K * M, K, M, At, 0);
    transposeInto(Bv, bt * K * N, K, N, Bt, 0);
    gemmNT(At, 0, Bt, 0, out, bt * M * N, M, N, K, Math.max(K, 1));
  }
  return cpuOutput(backend, batched ? [batches, M, N] : [M, N], out);
}

export function convGradFilterCpu({ inputs, backend, attrs }: Args): TensorInfo {
  const { x, dy } = inputs as Record<string, TensorInfo>;
  requireFloat32('conv2dGradFilter(cpu)', { x, dy });
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const [B, H, W, Ci] = x.shape;
  const [KH, KW, , Co] = a.filterShape;
  const [OH, OW] = convOut(x.shape, a.filterShape, a);
  const X = cpuValues(backend, x), DY = cpuValues(backend, dy);
  // dW (KH*KW*Ci, Co) = cols (KH*KW*Ci, B*OH*OW) dy (B*OH*OW, Co): the im2col rows (zeros where a tap
  // falls in the padding) and dy^T, then the register-blocked GEMM (one float64 sum per output over
  // all output pixels in order, rounded once)
  const M = KH * KW * Ci, K = B * OH * OW;
  const cols = new Float32Array(M * K);
  for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const k = (b * OH + oh) * OW + ow;
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * a.strides[0] + kh * a.dilations[0] - a.pads[0];
      if (ih < 0 || ih >= H) continue;
      for (let kw = 0; kw < KW; kw++) {
        const iw = ow * a.strides[1] + kw * a.dilations[1] - a.pads[1];
        if (iw < 0 || iw >= W) continue;
        const xo = ((b * H + ih) * W + iw) * Ci;
        const m0 = (kh * KW + kw) * Ci;
        for (let ci = 0; ci < Ci; ci++) cols[(m0 + ci) * K + k] = X[xo + ci];
      }
    }
  }
  const dyT = new Float32Array(Co * K);
  transposeInto(DY, 0, K, Co, dyT, 0);
  const dw = new Float32Array(M * Co);
  gemmNT(cols, 0, dyT, 0, dw, 0, M, Co, K, Math.max(K, 1));
  return cpuOutput(backend, a.filterShape, dw);
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
