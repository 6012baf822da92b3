// FLOPs of a forward pass in fvcore's convention (what the VMamba-family papers report):
// one multiply-add counts as one flop for matmul / linear / conv (bias not counted); LayerNorm 5 per
// element (4 without affine), BatchNorm 2 per element in eval; the selective scan by
// selective_scan_flop_jit (MzeroMiko/VMamba classification/models/csms6s.py): 9*B*L*D*N + B*D*L
// (D term; no z); bilinear / nearest upsampling 4 / 1 per output element; element-wise ops,
// activations, pooling, softmax: 0 (fvcore ignores them).
// Counted by profiling the actual forward pass (tf.profile reports each kernel's shapes) plus the
// records of core/nn/flop-trace.ts for norms that tfjs runs as several small kernels.
import { tf, type Tensor } from '../core/tf.ts';
import { withFlopRecording } from '../core/nn/flop-trace.ts';
import { SCAN_KERNEL } from '../scans/kernel/selective-scan/types.ts';

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface FlopCount {
  total: number;
  /** flops per counted operation kind */
  byOp: Record<string, number>;
}

type KernelRecord = { name: string; inputShapes: number[][]; outputShapes: number[][] };

/** fvcore's count for one tfjs kernel, or 0 for kernels fvcore ignores. */
export function kernelFlops(k: KernelRecord): [string, number] {
  const out = k.outputShapes[0] ?? [];
  switch (k.name) {
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // (..., m, k) x (..., k, n) in either transposition: k = |a| / (batch_a * m)
      const a = k.inputShapes[0];
      const m = out[out.length - 2];
      const batchA = prod(a.slice(0, -2));
      return ['matmul', prod(out) * (prod(a) / (batchA * m))];
    }
    case 'Conv2D':
    case 'FusedConv2D': {
      const [kh, kw, ci] = k.inputShapes[1];
      return ['conv', prod(out) * kh * kw * ci];
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D':
    case 'SsmvDwConv': { // core/kernels/depthwise-conv (filter (kh, kw, C, 1) as input 1)
      const [kh, kw] = k.inputShapes[1];
      return ['conv', prod(out) * kh * kw];
    }
    case SCAN_KERNEL: {
      // inputs u, delta (B, KD, P), A (KD, N), B, C, D, deltaBias, index (K, L) or [1]
      const [Bn, KD, P] = k.inputShapes[1];
      const N = k.inputShapes[2][1];
      const idx = k.inputShapes[7];
      const L = idx && idx.length === 2 ? idx[1] : P;
      return ['selective_scan', 9 * Bn * L * KD * N + Bn * KD * L];
    }
    case 'ResizeBilinear':
      return ['upsample', 4 * prod(out)];
    case 'ResizeNearestNeighbor':
      return ['upsample', prod(out)];
    default:
      return ['', 0];
  }
}

/** FLOPs of `forward(x)` (run once, eval mode is the caller's business). */
export async function countFlops(forward: () => Tensor | Tensor[]): Promise<FlopCount> {
  const byOp: Record<string, number> = {};
  const add = (op: string, n: number) => { if (op && n) byOp[op] = (byOp[op] ?? 0) + n; };
  const info = await tf.profile(() => withFlopRecording(add, () => {
    const y = forward();
    return y;
  }));
  for (const k of info.kernels as unknown as KernelRecord[]) add(...kernelFlops(k));
  if (info.result) tf.dispose(info.result as Tensor | Tensor[]);
  return { total: Object.values(byOp).reduce((a, b) => a + b, 0), byOp };
}
