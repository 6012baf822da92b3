// tfjs' Slice and SplitV on the cpu backend with the same results: a slice that is one contiguous
// run of the input stays tfjs' (a subarray view); any other is copied a row (last dim) at a time
// here, where tfjs reads and writes each element through TensorBuffer get/set with spread arrays
// (~0.2 us an element). SplitV is a Slice per piece, as in tfjs.
import { tf, type TensorInfo } from '../../tf.ts';
import { customOff, type CpuBackend as Backend, type KernelArgs, type KernelFunc, type Values } from './kernel-types.ts';

/** Copies the block (begin, size) of a row-major tensor of `shape`. */
function sliceCopy(xv: Values, shape: number[], begin: number[], size: number[]): Values {
  const rank = shape.length;
  const n = size.reduce((a, b) => a * b, 1);
  const out = xv instanceof Float32Array ? new Float32Array(n) : xv instanceof Int32Array ? new Int32Array(n) : new Uint8Array(n);
  if (n === 0) return out;
  const strides = new Array<number>(rank);
  for (let d = rank - 1, acc = 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= shape[d];
  }
  const last = size[rank - 1];
  const rows = n / last;
  const coord = new Array<number>(rank - 1).fill(0);
  let off = 0;
  for (let d = 0; d < rank; d++) off += begin[d] * strides[d];
  for (let r = 0, o = 0; r < rows; r++) {
    for (let j = 0; j < last; j++) out[o++] = xv[off + j];
    for (let d = rank - 2; d >= 0; d--) {
      // odometer over the slice's outer dims
      coord[d]++;
      off += strides[d];
      if (coord[d] < size[d]) break;
      off -= strides[d] * size[d];
      coord[d] = 0;
    }
  }
  return out;
}

export function sliceCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { begin, size } = args.attrs as { begin: number | number[]; size?: number | number[] };
    const copyable = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';
    if (customOff() || !copyable || x.shape.length === 0) return original(args);
    const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
    tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, b, s);
    if (tf.slice_util.isSliceContinous(x.shape, b, s)) return original(args);
    const backend = args.backend as Backend;
    const xv = backend.data.get(x.dataId).values as Values;
    return backend.makeTensorInfo(s, x.dtype, sliceCopy(xv, x.shape, b, s));
  };
}

export function splitVCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    if (customOff()) return original(args);
    const x = args.inputs.x as TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const slice = tf.getKernel('Slice', 'cpu')!.kernelFunc as unknown as KernelFunc;
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[ax] = s;
      const piece = slice({ inputs: { x }, backend: args.backend, attrs: { begin: begin.slice(), size } }) as TensorInfo;
      begin[ax] += s;
      return piece;
    });
  };
}
