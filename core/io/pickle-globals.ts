// The default allow-list of the pickle VM: Python globals that checkpoints contain besides tensors,
// each an inert JS implementation (no Python runs, nothing is looked up dynamically):
//   collections.OrderedDict / defaultdict -> Map       builtins.set / frozenset -> Set
//   builtins.bytearray / bytes, _codecs.encode -> Uint8Array (protocol-2 bytes are `_codecs.encode`)
//   builtins.slice -> PyObject record                   builtins.object (value only, for _reconstructor)
//   copyreg._reconstructor (protocol 0/1 instances, only of classes that are themselves allowed)
//   argparse.Namespace (timm's `args`) -> PyObject record receiving its attributes via BUILD
//   numpy dtype / scalar (timm and ultralytics metrics) -> number | bigint | boolean
//   numpy ndarray (_reconstruct + BUILD) -> NumpyArray record with C-order values
// torch's own globals (storages, dtypes, tensor rebuilders) live in pth.ts, next to the storages.
import { halfToFloat } from './tensor-record.ts';
import { PyGlobal, PyObject, SETSTATE, type Buildable, type GlobalImpl } from './pickle-values.ts';

function iterate(v: unknown, what: string): Iterable<unknown> {
  if (v instanceof Map) return v.keys();
  if (Array.isArray(v) || v instanceof Set) return v;
  if (typeof v === 'string') return v;
  throw new Error(`${what}: argument is a ${v === null ? 'None' : typeof v}, not an iterable`);
}

function pairs(v: unknown, what: string): Map<unknown, unknown> {
  if (v instanceof Map) return new Map(v);
  const out = new Map<unknown, unknown>();
  for (const p of iterate(v, what)) {
    if (!Array.isArray(p) || p.length !== 2) throw new Error(`${what}: items must be (key, value) pairs`);
    out.set(p[0], p[1]);
  }
  return out;
}

function encodeText(s: unknown, encoding: unknown, what: string): Uint8Array {
  if (typeof s !== 'string') throw new Error(`${what}: expects a str`);
  const enc = String(encoding ?? 'utf-8').toLowerCase().replace(/_/g, '-');
  if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 255) throw new Error(`${what}: character U+${c.toString(16)} is not latin-1`);
      out[i] = c;
    }
    return out;
  }
  if (enc === 'utf-8' || enc === 'utf8' || enc === 'ascii') return new TextEncoder().encode(s);
  throw new Error(`${what}: encoding '${String(encoding)}' is not supported`);
}

function bytesLike(args: readonly unknown[], what: string): Uint8Array {
  const [src, encoding] = args;
  if (src === undefined) return new Uint8Array(0);
  if (src instanceof Uint8Array) return src.slice();
  if (typeof src === 'string') return encodeText(src, encoding, what);
  if (Array.isArray(src)) return Uint8Array.from(src as number[]);
  throw new Error(`${what}: cannot make bytes from a ${typeof src}`);
}

// ---------------------------------------------------------------------------------------------- numpy

/** numpy.dtype as pickled: `dtype('f8', False, True)` then BUILD (version, byteorder, ..., names, ...). */
export class NumpyDtype implements Buildable {
  byteorder = '=';
  structured = false;
  constructor(readonly typestr: string) {}
  [SETSTATE](state: unknown): void {
    if (!Array.isArray(state) || state.length < 8) throw new Error(`numpy dtype '${this.typestr}': unexpected state`);
    this.byteorder = String(state[1]);
    this.structured = state[3] !== null;
  }
  get kind(): string { return this.typestr[0]; }
  get itemsize(): number { return Number(this.typestr.slice(1)); }
  get littleEndian(): boolean { return this.byteorder !== '>'; }
}

const NP_NAMES: Record<string, string> = {
  f2: 'float16', f4: 'float32', f8: 'float64', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};

/** numeric values of `count` items of `dt` from raw bytes (number, or bigint for 64-bit ints beyond 2^53) */
function numpyValues(dt: NumpyDtype, raw: Uint8Array, count: number, what: string): Array<number | bigint | boolean> {
  const name = NP_NAMES[dt.typestr];
  if (!name || dt.structured) throw new Error(`${what}: numpy dtype '${dt.typestr}' is not supported (numeric dtypes only)`);
  const size = dt.itemsize;
  if (raw.byteLength < count * size) throw new Error(`${what}: ${raw.byteLength} bytes for ${count} items of ${name}`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = dt.littleEndian;
  const out: Array<number | bigint | boolean> = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    switch (dt.typestr) {
      case 'f2': out[i] = halfToFloat(dv.getUint16(at, le)); break;
      case 'f4': out[i] = dv.getFloat32(at, le); break;
      case 'f8': out[i] = dv.getFloat64(at, le); break;
      case 'i1': out[i] = dv.getInt8(at); break;
      case 'i2': out[i] = dv.getInt16(at, le); break;
      case 'i4': out[i] = dv.getInt32(at, le); break;
      case 'u1': out[i] = dv.getUint8(at); break;
      case 'u2': out[i] = dv.getUint16(at, le); break;
      case 'u4': out[i] = dv.getUint32(at, le); break;
      case 'b1': out[i] = dv.getUint8(at) !== 0; break;
      default: { // i8, u8
        const v = dt.typestr === 'i8' ? dv.getBigInt64(at, le) : dv.getBigUint64(at, le);
        out[i] = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
    }
  }
  return out;
}

/** numpy.ndarray as pickled: `_reconstruct(ndarray, (0,), b'b')` then BUILD (version, shape, dtype,
 *  is_fortran, rawdata). Values are kept in C order; object arrays keep their list. */
export class NumpyArray implements Buildable {
  dtype = '';
  shape: number[] = [];
  values: unknown[] = [];
  [SETSTATE](state: unknown): void {
    if (!Array.isArray(state) || state.length !== 5) throw new Error('numpy ndarray: unexpected state');
    const [, shape, dt, fortran, raw] = state;
    if (!(dt instanceof NumpyDtype)) throw new Error('numpy ndarray: state has no dtype');
    this.shape = (shape as number[]).map(Number);
    this.dtype = NP_NAMES[dt.typestr] ?? dt.typestr;
    const count = this.shape.reduce((a, b) => a * b, 1);
    const vals: unknown[] = raw instanceof Uint8Array ? numpyValues(dt, raw, count, 'numpy ndarray') : [...(raw as unknown[])];
    this.values = fortran && this.shape.length > 1 ? fortranToC(vals, this.shape) : vals;
  }
}

function fortranToC(vals: unknown[], shape: number[]): unknown[] {
  const n = vals.length;
  const out = new Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let c = 0; c < n; c++) {
    let f = 0;
    let mul = 1;
    for (let d = 0; d < shape.length; d++) { f += idx[d] * mul; mul *= shape[d]; }
    out[c] = vals[f];
    for (let d = shape.length - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return out;
}

const numpyScalar: GlobalImpl = {
  call: ([dt, raw]) => {
    if (!(dt instanceof NumpyDtype)) throw new Error('numpy scalar: first argument is not a dtype');
    if (dt.kind === 'O') return raw;
    if (!(raw instanceof Uint8Array)) throw new Error('numpy scalar: data is not bytes');
    return numpyValues(dt, raw, 1, 'numpy scalar')[0];
  },
};
const numpyReconstruct: GlobalImpl = {
  call: ([cls]) => {
    if (!(cls instanceof PyGlobal) || cls.name !== 'ndarray') throw new Error('numpy _reconstruct: only numpy.ndarray is allowed');
    return new NumpyArray();
  },
};
const numpyDtype: GlobalImpl = {
  call: ([typestr]) => {
    if (typeof typestr !== 'string') throw new Error('numpy dtype: type string expected');
    return new NumpyDtype(typestr);
  },
};

// ---------------------------------------------------------------------------------------------- table

const mapLike: GlobalImpl = {
  call: (args) => (args.length ? pairs(args[0], 'OrderedDict') : new Map()),
  construct: () => new Map(),
};

const record = (qualname: string): GlobalImpl => ({
  construct: (args, kwargs) => new PyObject(qualname, args, kwargs),
  call: (args) => new PyObject(qualname, args),
});

export const DEFAULT_GLOBALS: Readonly<Record<string, GlobalImpl>> = {
  'collections.OrderedDict': mapLike,
  // defaultdict(factory): the factory is never called; the items arrive by SETITEMS
  'collections.defaultdict': { call: () => new Map(), construct: () => new Map() },
  'builtins.set': { call: ([it]) => new Set(it === undefined ? [] : iterate(it, 'set')) },
  'builtins.frozenset': { call: ([it]) => new Set(it === undefined ? [] : iterate(it, 'frozenset')) },
  'builtins.bytearray': { call: (args) => bytesLike(args, 'bytearray') },
  'builtins.bytes': { call: (args) => bytesLike(args, 'bytes') },
  'builtins.slice': {
    call: (args) => {
      const s = new PyObject('builtins.slice', args);
      const [a, b, c] = args.length === 1 ? [null, args[0], null] : args;
      s.attrs.set('start', a ?? null).set('stop', b ?? null).set('step', c ?? null);
      return s;
    },
  },
  'builtins.object': {}, // value only: the `base` argument of copyreg._reconstructor
  'copyreg._reconstructor': {
    call: ([cls, base, state]) => {
      if (!(base instanceof PyGlobal) || base.qualname !== 'builtins.object' || (state !== null && state !== undefined)) {
        throw new Error('copyreg._reconstructor: only plain object subclasses are supported');
      }
      if (!(cls instanceof PyGlobal) || !cls.impl.construct) throw new Error('copyreg._reconstructor: the class is not allowed');
      return cls.impl.construct([]);
    },
  },
  '_codecs.encode': { call: ([s, enc]) => encodeText(s, enc, '_codecs.encode') },
  'argparse.Namespace': record('argparse.Namespace'),
  'numpy.dtype': numpyDtype,
  'numpy.ndarray': {}, // value only: argument of _reconstruct
  'numpy.core.multiarray.scalar': numpyScalar,
  'numpy._core.multiarray.scalar': numpyScalar,
  'numpy.core.multiarray._reconstruct': numpyReconstruct,
  'numpy._core.multiarray._reconstruct': numpyReconstruct,
};
