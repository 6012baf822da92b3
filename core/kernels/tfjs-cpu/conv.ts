// tfjs' Conv2D, FusedConv2D and Conv2DBackpropInput on the cpu backend (NHWC, float32), bit for bit:
// - forward: tfjs adds one product at a time into the float32 output, taps in (kh, kw, ci) order,
//   skipping taps in the padding. Here: im2col rows (zeros at padding taps) times the filter in a
//   4x4-blocked loop that rounds to float32 after every addition (gemmNTRounded). A zero tap adds
//   +-0 to a sum that is never -0, so it changes nothing unless the filter holds Inf/NaN (0 * Inf):
//   such filters, NCHW and fused activations other than none/linear run tfjs' kernel.
// - input gradient: tfjs' float64 dot product per dx element over (dy row, dy col, co), rounded
//   once; here the same loops with 4 input channels at a time (4 independent sums, same order each).
import { tf, type TensorInfo } from '../../tf.ts';
import { customOff, type CpuBackend as Backend, type KernelArgs, type KernelFunc } from './kernel-types.ts';
import { gemmNTRounded, transposeInto } from './gemm.ts';

interface ConvAttrs {
  strides: number | [number, number]; pad: unknown; dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string; inputShape?: [number, number, number, number];
}

/** im2col rows per block: the patch buffer stays near 4 MB whatever the input size */
const PATCH_FLOATS = 1 << 20;

function allFinite(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

function convInfo(xShape: number[], wShape: number[], a: ConvAttrs, dilations: number | [number, number]) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], wShape as [number, number, number, number], a.strides, dilations,
    a.pad as 'same', a.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'),
  );
}

/** tfjs' conv2D result (NHWC float32), or null where tfjs' kernel must run. */
function convForward(x: TensorInfo, filter: TensorInfo, a: ConvAttrs, backend: Backend): { shape: number[]; values: Float32Array } | null {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const info = convInfo(x.shape, filter.shape, a, a.dilations ?? 1);
  if (info.dataFormat !== 'channelsLast') return null;
  const Wv = backend.data.get(filter.dataId).values as Float32Array;
  if (!allFinite(Wv)) return null;
  const X = backend.data.get(x.dataId).values as Float32Array;
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  const K = KH * KW * Ci;
  const rows = B * OH * OW;
  const out = new Float32Array(rows * Co);
  if (rows === 0 || Co === 0) return { shape: info.outShape, values: out };
  const Bt = new Float32Array(Co * K); // filter (K, Co) -> (Co, K)
  transposeInto(Wv, 0, K, Co, Bt, 0);
  const block = Math.max(4, Math.floor(PATCH_FLOATS / Math.max(K, 1)));
  const cols = new Float32Array(Math.min(block, rows) * K);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(r0 + block, rows);
    cols.fill(0);
    for (let row = r0; row < r1; row++) {
      const ow = row % OW, oh = Math.floor(row / OW) % OH, b = Math.floor(row / (OW * OH));
      const c0 = (row - r0) * K;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * SH - top + kh * DH;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * SW - left + kw * DW;
          if (iw < 0 || iw >= W) continue;
          const xo = ((b * H + ih) * W + iw) * Ci, co = c0 + (kh * KW + kw) * Ci;
          for (let ci = 0; ci < Ci; ci++) cols[co + ci] = X[xo + ci];
        }
      }
    }
    gemmNTRounded(cols, 0, Bt, 0, out, r0 * Co, r1 - r0, Co, K);
  }
  return { shape: info.outShape, values: out };
}

export function conv2dCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as Record<string, TensorInfo>;
    const backend = args.backend as Backend;
    const r = customOff() ? null : convForward(x, filter, args.attrs as ConvAttrs, backend);
    return r ? backend.makeTensorInfo(r.shape, 'float32', r.values) : original(args);
  };
}

/** tfjs' FusedConv2D: the conv, then the bias as tfjs' Add (in place for NHWC bias (Co)). */
export function fusedConv2dCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const a = args.attrs as ConvAttrs;
    const backend = args.backend as Backend;
    const plain = !a.activation || a.activation === 'linear';
    if (customOff() || !plain || preluActivationWeights || (bias && bias.dtype !== 'float32')) return original(args);
    const r = convForward(x!, filter!, a, backend);
    if (!r) return original(args);
    const Co = r.shape[3];
    if (bias && bias.shape.length === 1 && bias.shape[0] === Co) {
      const bv = backend.data.get(bias.dataId).values as Float32Array;
      const y = r.values;
      for (let o = 0; o < y.length; o += Co) for (let c = 0; c < Co; c++) y[o + c] += bv[c];
      return backend.makeTensorInfo(r.shape, 'float32', y);
    }
    const conv = backend.makeTensorInfo(r.shape, 'float32', r.values);
    if (!bias) return conv;
    const add = tf.getKernel('Add', 'cpu')!.kernelFunc as unknown as KernelFunc;
    const y = add({ inputs: { a: conv, b: bias }, backend }) as TensorInfo;
    backend.disposeIntermediateTensorInfo(conv);
    return y;
  };
}

export function conv2dBackpropInputCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as ConvAttrs;
    const backend = args.backend as Backend;
    if (customOff() || dy.dtype !== 'float32' || filter.dtype !== 'float32') return original(args);
    const info = convInfo(a.inputShape!, filter.shape, a, 1);
    if (info.dataFormat !== 'channelsLast') return original(args);
    const DY = backend.data.get(dy.dataId).values as Float32Array;
    const Wv = backend.data.get(filter.dataId).values as Float32Array;
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co } = info;
    const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW } = info;
    const topPad = KH - 1 - info.padInfo.top, leftPad = KW - 1 - info.padInfo.left;
    const s0 = KW * Ci * Co, s1 = Ci * Co; // filter strides of kh, kw (ci: Co)
    const dx = new Float32Array(B * H * W * Ci);
    for (let b = 0; b < B; b++) {
      for (let xR = 0; xR < H; xR++) {
        const xRCorner = xR - topPad;
        const yRMin = Math.max(0, Math.ceil(xRCorner / SH));
        const yRMax = Math.min(OH, (KH + xRCorner) / SH); // tfjs' bounds, fractional upper bound included
        for (let xC = 0; xC < W; xC++) {
          const xCCorner = xC - leftPad;
          const yCMin = Math.max(0, Math.ceil(xCCorner / SW));
          const yCMax = Math.min(OW, (KW + xCCorner) / SW);
          const dxo = ((b * H + xR) * W + xC) * Ci;
          let d1 = 0;
          for (; d1 + 4 <= Ci; d1 += 4) {
            let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            for (let yR = yRMin; yR < yRMax; yR++) {
              const wR = yR * SH - xRCorner;
              for (let yC = yCMin; yC < yCMax; yC++) {
                const wC = yC * SW - xCCorner;
                const dyo = ((b * OH + yR) * OW + yC) * Co;
                const f0 = s0 * (KH - 1 - wR) + s1 * (KW - 1 - wC) + Co * d1, f1 = f0 + Co, f2 = f1 + Co, f3 = f2 + Co;
                for (let d2 = 0; d2 < Co; d2++) {
                  const p = DY[dyo + d2];
                  t0 += p * Wv[f0 + d2]; t1 += p * Wv[f1 + d2]; t2 += p * Wv[f2 + d2]; t3 += p * Wv[f3 + d2];
                }
              }
            }
            dx[dxo + d1] = t0; dx[dxo + d1 + 1] = t1; dx[dxo + d1 + 2] = t2; dx[dxo + d1 + 3] = t3;
          }
          for (; d1 < Ci; d1++) {
            let t0 = 0;
            for (let yR = yRMin; yR < yRMax; yR++) {
              const wR = yR * SH - xRCorner;
              for (let yC = yCMin; yC < yCMax; yC++) {
                const wC = yC * SW - xCCorner;
                const dyo = ((b * OH + yR) * OW + yC) * Co;
                const f0 = s0 * (KH - 1 - wR) + s1 * (KW - 1 - wC) + Co * d1;
                for (let d2 = 0; d2 < Co; d2++) t0 += DY[dyo + d2] * Wv[f0 + d2];
              }
            }
            dx[dxo + d1] = t0;
          }
        }
      }
    }
    return backend.makeTensorInfo(info.inShape, 'float32', dx);
  };
}
