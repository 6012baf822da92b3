// tfjs' BatchMatMul and _FusedMatMul on the cpu backend, bit for bit (same float64 sums in the same
// order, same rounding once per block of backend.blockSize = 48 steps of k), with the operands
// packed so that k is contiguous and a 4x4 register-blocked loop (gemm.ts). tfjs' own loop computes
// one dot product at a time with generic strides (~1.1 GFLOP/s here; a strided B without
// transposeB). Anything but float32, and fused activations other than none/linear, run tfjs' kernel.
import { tf, type TensorInfo } from '../../tf.ts';
import { customOff, type CpuBackend as Backend, type KernelArgs, type KernelFunc } from './kernel-types.ts';
import { gemmNT, transposeInto } from './gemm.ts';

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The product as tfjs' batchMatMul defines it, or null when tfjs' kernel must run (dtype, shape errors). */
function matMulFast(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, backend: Backend): { shape: number[]; values: Float32Array } | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length, rb = b.shape.length;
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  if (K !== (transposeB ? b.shape[rb - 1] : b.shape[rb - 2])) return null; // tfjs throws its error
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null;
  }
  const batchA = prod(a.shape.slice(0, -2)), batchB = prod(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const av = backend.data.get(a.dataId).values as Float32Array;
  const bv = backend.data.get(b.dataId).values as Float32Array;
  const out = new Float32Array(batch * M * N);
  // A as (M, K) rows and B as (N, K) rows: transposed copies where the layout has k strided
  const packA = transposeA ? new Float32Array(M * K) : null;
  const packB = transposeB ? null : new Float32Array(N * K);
  let packedA = -1, packedB = -1;
  for (let bi = 0; bi < batch; bi++) {
    const ia = bi % batchA, ib = bi % batchB; // tfjs' broadcast of the batch dims
    let A = av, aOff = ia * M * K;
    if (packA) {
      if (packedA !== ia) transposeInto(av, ia * K * M, K, M, packA, 0);
      packedA = ia;
      A = packA;
      aOff = 0;
    }
    let Bt = bv, bOff = ib * N * K;
    if (packB) {
      if (packedB !== ib) transposeInto(bv, ib * K * N, K, N, packB, 0);
      packedB = ib;
      Bt = packB;
      bOff = 0;
    }
    gemmNT(A, aOff, Bt, bOff, out, bi * M * N, M, N, K, backend.blockSize);
  }
  return { shape: [...outer, M, N], values: out };
}

export function batchMatMulCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as Backend;
    const r = customOff() ? null : matMulFast(a, b, transposeA, transposeB, backend);
    return r ? backend.makeTensorInfo(r.shape, 'float32', r.values) : original(args);
  };
}

/**
 * tfjs' _FusedMatMul: the product, then the bias added as tfjs' Add does (float32 sum of the two
 * float32 values), here in place for a bias of shape (N); other bias shapes run tfjs' Add kernel.
 */
export function fusedMatMulCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
    const backend = args.backend as Backend & { disposeIntermediateTensorInfo(t: TensorInfo): void };
    const plain = !attrs.activation || attrs.activation === 'linear';
    if (customOff() || !plain || preluActivationWeights || (bias && bias.dtype !== 'float32')) return original(args);
    const r = matMulFast(a!, b!, attrs.transposeA, attrs.transposeB, backend);
    if (!r) return original(args);
    const N = r.shape[r.shape.length - 1];
    if (bias && bias.shape.length === 1 && bias.shape[0] === N) {
      const bv = backend.data.get(bias.dataId).values as Float32Array;
      const y = r.values;
      for (let o = 0; o < y.length; o += N) for (let j = 0; j < N; j++) y[o + j] += bv[j];
      return backend.makeTensorInfo(r.shape, 'float32', y);
    }
    const mm = backend.makeTensorInfo(r.shape, 'float32', r.values);
    if (!bias) return mm;
    const add = tf.getKernel('Add', 'cpu')!.kernelFunc as unknown as KernelFunc;
    const y = add({ inputs: { a: mm, b: bias }, backend }) as TensorInfo;
    backend.disposeIntermediateTensorInfo(mm);
    return y;
  };
}
