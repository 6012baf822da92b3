// tfjs' Transpose, Tile and Sum on the cpu backend with the same results: tfjs walks every element
// through indexToLoc/locToIndex with two arrays allocated per element (~100 ns each); here a row
// at a time. Transpose and Tile are copies (any float32/int32/bool tensor); Sum keeps tfjs' float64
// sum in the same order (reduced coordinates in row-major order, from 0), without its transpose.
import { tf, type TensorInfo } from '../../tf.ts';
import { customOff, type CpuBackend as Backend, type KernelArgs, type KernelFunc, type Values } from './kernel-types.ts';
import { transposeInto } from './gemm.ts';

const copyable = (t: TensorInfo) => t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';

/** Row-major strides of a shape. */
function stridesOf(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** A typed array of the same kind as `like`. */
function alike(like: Values, n: number): Values {
  if (like instanceof Float32Array) return new Float32Array(n);
  if (like instanceof Int32Array) return new Int32Array(n);
  return new Uint8Array(n);
}

/**
 * Walks the rows (all dims but the last) of `shape` in row-major order, calling `row(r, offs)` with
 * the row index and, for each stride table in `strides`, the offset sum(coord[d] * strides[t][d]).
 */
function forEachRow(shape: number[], strides: number[][], row: (r: number, offs: number[]) => void): void {
  const outer = shape.length - 1;
  const rows = shape.slice(0, outer).reduce((a, b) => a * b, 1);
  const coord = new Array<number>(outer).fill(0);
  const offs = strides.map(() => 0);
  for (let r = 0; r < rows; r++) {
    row(r, offs);
    for (let d = outer - 1; d >= 0; d--) {
      // odometer step on dim d
      coord[d]++;
      for (let t = 0; t < strides.length; t++) offs[t] += strides[t][d];
      if (coord[d] < shape[d]) break;
      for (let t = 0; t < strides.length; t++) offs[t] -= strides[t][d] * shape[d];
      coord[d] = 0;
    }
  }
}

export function transposeCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const perm = (args.attrs as { perm: number[] }).perm;
    const backend = args.backend as Backend;
    if (customOff() || !copyable(x) || x.shape.length < 2) return original(args);
    const xv = backend.data.get(x.dataId).values as Values;
    const shape = perm.map((p) => x.shape[p]);
    const out = alike(xv, xv.length);
    const rank = shape.length;
    if (rank === 2 && perm[0] === 1 && xv instanceof Float32Array) {
      transposeInto(xv, 0, x.shape[0], x.shape[1], out as Float32Array, 0);
    } else {
      const xs = stridesOf(x.shape);
      const inStride = perm.map((p) => xs[p]); // input stride of each output dim
      const n = shape[rank - 1], s = inStride[rank - 1];
      forEachRow(shape, [inStride], (r, [off]) => {
        const o = r * n;
        for (let j = 0, i = off; j < n; j++, i += s) out[o + j] = xv[i];
      });
    }
    return backend.makeTensorInfo(shape, x.dtype, out);
  };
}

export function tileCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const reps = (args.attrs as { reps: number[] }).reps;
    const backend = args.backend as Backend;
    if (customOff() || !copyable(x) || x.shape.length < 1 || reps.length !== x.shape.length) return original(args);
    const xv = backend.data.get(x.dataId).values as Values;
    const shape = x.shape.map((d, i) => d * reps[i]);
    const size = shape.reduce((a, b) => a * b, 1);
    const out = alike(xv, size);
    if (size === 0) return backend.makeTensorInfo(shape, x.dtype, out);
    const rank = shape.length;
    const xs = stridesOf(x.shape);
    const n = x.shape[rank - 1], rep = reps[rank - 1];
    // each output row reads input row (coord mod x.shape) and repeats it `rep` times; the odometer
    // runs over the output's outer dims, wrapping each input offset at x.shape
    const outer = rank - 1;
    const coord = new Array<number>(outer).fill(0);
    let off = 0;
    const rows = size / (n * rep);
    for (let r = 0, o = 0; r < rows; r++) {
      for (let k = 0; k < rep; k++) for (let j = 0; j < n; j++) out[o++] = xv[off + j];
      for (let d = outer - 1; d >= 0; d--) {
        coord[d]++;
        off += xs[d];
        if (coord[d] % x.shape[d] === 0) off -= xs[d] * x.shape[d]; // wrapped to the start of dim d
        if (coord[d] < shape[d]) break;
        coord[d] = 0;
      }
    }
    return backend.makeTensorInfo(shape, x.dtype, out);
  };
}

export function sumCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const backend = args.backend as Backend;
    if (customOff() || x.dtype !== 'float32' || x.shape.length < 1) return original(args);
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    // tfjs sums the reduced axes in the order given: equal to the input's order only when sorted
    for (let i = 1; i < axes.length; i++) if (axes[i] <= axes[i - 1]) return original(args);
    const reduced = x.shape.map((_, d) => axes.includes(d));
    const outShape = x.shape.filter((_, d) => !reduced[d]);
    const os = stridesOf(outShape);
    const outStride = new Array<number>(rank).fill(0); // output stride of each input dim (0 when reduced)
    for (let d = 0, k = 0; d < rank; d++) if (!reduced[d]) outStride[d] = os[k++];
    const xv = backend.data.get(x.dataId).values as Float32Array;
    const acc = new Float64Array(outShape.reduce((a, b) => a * b, 1));
    const n = x.shape[rank - 1];
    if (xv.length > 0) {
      const lastReduced = reduced[rank - 1];
      forEachRow(x.shape, [outStride], (r, [o]) => {
        const i0 = r * n;
        if (lastReduced) {
          let s = acc[o]; // the same additions, in order, as tfjs' running sum
          for (let j = 0; j < n; j++) s += xv[i0 + j];
          acc[o] = s;
        } else {
          for (let j = 0; j < n; j++) acc[o + j] += xv[i0 + j];
        }
      });
    }
    const shape = keepDims ? x.shape.map((d, i) => (reduced[i] ? 1 : d)) : outShape;
    return backend.makeTensorInfo(shape, 'float32', Float32Array.from(acc));
  };
}
