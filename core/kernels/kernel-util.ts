// Helpers shared by the custom kernel families of core/kernels/*.
import { tf, type Tensor, type TensorInfo } from '../tf.ts';

/**
 * true when `kernelName` has a kernel on the current backend (cpu and webgpu here; other backends use
 * the composite). SSMV_CUSTOM_KERNELS=0 turns every custom kernel off (the tfjs composites run
 * instead: the before/after comparison of `ssmv bench model kernels=false`).
 */
export function hasKernel(kernelName: string): boolean {
  return process.env.SSMV_CUSTOM_KERNELS !== '0' && tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** Registers each kernel function of `kernels` (kernel name -> function) on the backend `backendName`. */
export function registerKernels(backendName: string, kernels: Record<string, unknown>): void {
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
}

/** Runs a registered kernel with several outputs. */
export function runKernelMulti(kernelName: string, inputs: Record<string, Tensor>, attrs: object = {}): Tensor[] {
  return tf.engine().runKernel(kernelName, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as Tensor[];
}

export function runKernel(kernelName: string, inputs: Record<string, Tensor>, attrs: object = {}): Tensor {
  return tf.engine().runKernel(kernelName, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as Tensor;
}

/** CPU backend access used by the JS twins (tfjs-backend-cpu MathBackendCPU). */
export interface CpuBackendLike {
  data: { get(id: object): { values: Float32Array | Int32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32' | 'int32', values?: Float32Array | Int32Array): TensorInfo;
}

/** The float32 values of a tensor on the cpu backend (no copy). */
export function cpuValues(backend: unknown, t: TensorInfo): Float32Array {
  const v = (backend as CpuBackendLike).data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

export function cpuOutput(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  return (backend as CpuBackendLike).makeTensorInfo(shape, 'float32', values);
}

/** Throws unless every named tensor is float32. */
export function requireFloat32(kernel: string, named: Record<string, TensorInfo>): void {
  for (const [n, t] of Object.entries(named)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: '${n}' must be float32, got ${t.dtype}`);
  }
}

export interface CustomOpBody {
  value: Tensor;
  /** one gradient per input, in order */
  gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor[];
}

/**
 * A differentiable op with a hand-written backward (tf.customGrad): `body` runs the forward kernel,
 * saves what the backward needs (kept only while a tape records) and returns the gradient function.
 */
export function customOp(inputs: Tensor[], body: (ins: Tensor[], save: tf.GradSaveFunc) => CustomOpBody): Tensor {
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return body(args as Tensor[], save);
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(...inputs);
}
