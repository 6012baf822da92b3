// tfjs' Add on the cpu backend for float32 + float32 where one operand repeats along the leading
// dims of the other (same shape, a bias over the last dims, a scalar): out[i] = a[i] + b[i % nb]
// (or a[i % na] + b[i]), the float64 sum of two float32 values stored into a Float32Array, exactly
// as tfjs' loop. tfjs takes `i % length` per element on same shapes and walks any broadcast through
// indexToLoc with arrays allocated per element; other broadcasts, dtypes and complex run tfjs' kernel.
import { tf, type TensorInfo } from '../../tf.ts';
import { customOff, type CpuBackend as Backend, type KernelFunc } from './kernel-types.ts';

/** true when `inner`, left-padded with 1s, equals the trailing dims of `outer` from its first non-1 dim on. */
function repeatsAlongLeading(inner: number[], outer: number[]): boolean {
  if (inner.length > outer.length) return false;
  let d = 0;
  while (d < inner.length && inner[d] === 1) d++;
  const off = outer.length - inner.length;
  for (let e = d; e < inner.length; e++) if (inner[e] !== outer[off + e]) return false;
  return true;
}

export function addCpu(original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as Record<string, TensorInfo>;
    if (customOff() || a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    let shape: number[];
    try {
      shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    } catch {
      return original(args); // tfjs throws its own error
    }
    const backend = args.backend as Backend;
    const av = backend.data.get(a.dataId).values as Float32Array;
    const bv = backend.data.get(b.dataId).values as Float32Array;
    const n = shape.reduce((x, y) => x * y, 1);
    const na = av.length, nb = bv.length;
    // an operand of n values is laid out as the output; the other must repeat along leading dims
    const bRepeats = na === n && repeatsAlongLeading(b.shape, shape);
    const aRepeats = nb === n && repeatsAlongLeading(a.shape, shape);
    if (n === 0 || (!bRepeats && !aRepeats)) return original(args);
    const out = new Float32Array(n);
    if (na === n && nb === n) {
      for (let i = 0; i < n; i++) out[i] = av[i] + bv[i];
    } else if (bRepeats) {
      for (let o = 0; o < n; o += nb) for (let j = 0; j < nb; j++) out[o + j] = av[o + j] + bv[j];
    } else {
      for (let o = 0; o < n; o += na) for (let j = 0; j < na; j++) out[o + j] = av[j] + bv[o + j];
    }
    return backend.makeTensorInfo(shape, 'float32', out);
  };
}
