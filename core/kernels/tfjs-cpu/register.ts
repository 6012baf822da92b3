// Side-effect file: replaces tfjs-backend-cpu's BatchMatMul, _FusedMatMul, Transpose, Tile, Sum, Slice,
// SplitV, Conv2D, FusedConv2D and Conv2DBackpropInput with the faster loops of this folder, which
// give the same values bit for bit (tests/kernels-tfjs-cpu.test.ts).
// tfjs' own kernels stay reachable: each replacement hands shapes/dtypes it does not cover to them,
// and SSMV_CUSTOM_KERNELS=0 runs them throughout (`ssmv bench model kernels=false`).
import { tf } from '../../tf.ts';
import type { KernelFunc } from './kernel-types.ts';
import { batchMatMulCpu, fusedMatMulCpu } from './mat-mul.ts';
import { sumCpu, tileCpu, transposeCpu } from './layout.ts';
import { sliceCpu, splitVCpu } from './slice.ts';
import { conv2dBackpropInputCpu, conv2dCpu, fusedConv2dCpu } from './conv.ts';


const REPLACEMENTS: Record<string, (original: KernelFunc) => KernelFunc> = {
  BatchMatMul: batchMatMulCpu,
  _FusedMatMul: fusedMatMulCpu,
  Transpose: transposeCpu,
  Tile: tileCpu,
  Sum: sumCpu,
  Slice: sliceCpu,
  SplitV: splitVCpu,
  Conv2D: conv2dCpu,
  FusedConv2D: fusedConv2dCpu,
  Conv2DBackpropInput: conv2dBackpropInputCpu,
};

const originals = new Map<string, KernelFunc>();

/** tfjs-backend-cpu's own kernel `name` (the one a replacement delegates to). */
export function tfjsCpuKernel(name: string): KernelFunc {
  const k = originals.get(name);
  if (!k) throw new Error(`tfjsCpuKernel: '${name}' is not replaced (replaced: ${Object.keys(REPLACEMENTS).join(', ')})`);
  return k;
}

for (const [name, make] of Object.entries(REPLACEMENTS)) {
  const config = tf.getKernel(name, 'cpu');
  if (!config) throw new Error(`tfjs-cpu: tfjs-backend-cpu has no '${name}' kernel to replace (tfjs version?)`);
  const original = config.kernelFunc as unknown as KernelFunc;
  originals.set(name, original);
  tf.unregisterKernel(name, 'cpu');
  tf.registerKernel({ ...config, kernelFunc: make(original) as unknown as tf.KernelFunc });
}
