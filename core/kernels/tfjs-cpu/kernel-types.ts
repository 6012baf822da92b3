// What the replacement kernels of this folder share: the shape of a tfjs kernel function, the slice
// of tfjs' cpu backend they use, and the switch that hands everything back to tfjs' own kernels.
import type { tf, TensorInfo } from '../../tf.ts';

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };
export type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];
export type Values = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs' MathBackendCPU the replacements read and write. */
export interface CpuBackend {
  blockSize: number;
  data: { get(id: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: string, values: Values): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

/** SSMV_CUSTOM_KERNELS=0: tfjs' own kernels throughout (`ssmv bench model kernels=false`). */
export const customOff = () => process.env.SSMV_CUSTOM_KERNELS === '0';
