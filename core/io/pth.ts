// PyTorch checkpoints (torch.save zip format, the default since torch 1.6): `<prefix>/data.pkl` (pickle,
// protocol 2), `<prefix>/data/<key>` (raw storage bytes), `<prefix>/byteorder` ('little' | 'big'; absent
// = little), where <prefix> is the folder of the first entry. Tensors are pickled as
// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` with storages
// as persistent ids ('storage', torch.FloatStorage, key, location, numel); offset and strides count
// elements, views may be non-contiguous and several tensors may share one storage.
// Tensors are materialised lazily: the pickle gives shapes first, `materialize` then decodes only the
// tensors asked for (a training checkpoint's optimizer state is never decoded when only the weights are
// wanted) and lets go of each storage after its last tensor.
// The legacy (pre-1.6, non-zip) format is detected and refused with the re-save command.
import { endianness } from 'node:os';
import { decodeRaw, dtypeSize, halfToFloat, numel, type RecordDtype, type StateDict, type TensorRecord } from './tensor-record.ts';
import { bytesSource, fileSource, isZip, ZipArchive, type ByteSource, type ZipEntry } from './zip.ts';
import { PyGlobal, unpickle, type GlobalImpl, type UnpickleOptions } from './pickle.ts';
import { findStateDict, type FoundStateDict } from './unwrap.ts';

export interface TorchLoadOptions {
  /** classes unpickled as inert PyObject records (full-model pickles), see UnpickleOptions */
  allowClasses?: UnpickleOptions['allowClasses'];
  /** extra allowed globals keyed 'module.name' */
  globals?: UnpickleOptions['globals'];
}

const STORAGE_DTYPES: Record<string, RecordDtype> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool', UntypedStorage: 'uint8',
};

const TORCH_DTYPES: Record<string, RecordDtype> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** A storage named by a persistent id; its bytes are read on first use. */
class TorchStorage {
  constructor(
    readonly key: string,
    readonly storageType: string,
    readonly dtype: RecordDtype,
    readonly numel: number,
    readonly entry: ZipEntry,
  ) {}
  get byteLength(): number {
    return this.numel * dtypeSize(this.dtype);
  }
}

interface TensorPlan {
  storage: TorchStorage;
  dtype: RecordDtype;
  offset: number;
  shape: number[];
  stride: number[];
}

const EMPTY_F32 = new Float32Array(0);
const HOST_LE = endianness() === 'LE';

export class TorchFile {
  /** the unpickled object, tensors as TensorRecords (data empty until materialized) */
  readonly root: unknown;
  private readonly plans = new Map<TensorRecord, TensorPlan>();

  /** @internal use loadTorchFile */
  constructor(readonly name: string, private readonly zip: ZipArchive, private readonly bigEndian: boolean, opts: TorchLoadOptions, prefix: string) {
    const storages = new Map<string, TorchStorage>();
    const persistentLoad = (pid: unknown): unknown => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
        throw new Error(`unexpected persistent id ${describe(pid)} (a torch.save zip pickle names storages as ('storage', type, key, location, numel))`);
      }
      const [, type, key, location, count] = pid as [string, unknown, unknown, unknown, unknown];
      if (!(type instanceof PyGlobal) || !(type.name in STORAGE_DTYPES)) {
        throw new Error(`storage '${String(key)}' has unsupported type ${type instanceof PyGlobal ? type.qualname : describe(type)}`);
      }
      if (typeof key !== 'string' || typeof count !== 'number' || count < 0) throw new Error(`malformed storage persistent id ${describe(pid)}`);
      const hit = storages.get(key);
      if (hit) return hit;
      const entry = zip.get(`${prefix}/data/${key}`);
      if (!entry) throw new Error(`storage '${key}' (${type.name}, on ${String(location)}) is missing from the archive: no record '${prefix}/data/${key}'`);
      const s = new TorchStorage(key, type.name, STORAGE_DTYPES[type.name], count, entry);
      if (entry.size < s.byteLength) {
        throw new Error(`storage '${key}' (${type.name}) needs ${s.byteLength} bytes for ${count} elements, record '${entry.name}' has ${entry.size}`);
      }
      storages.set(key, s);
      return s;
    };
    const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown, dtype?: RecordDtype): TensorRecord => {
      if (!(storage instanceof TorchStorage)) throw new Error(`tensor rebuilt from a ${describe(storage)} instead of a storage`);
      const shape = intList(size, 'size');
      const strides = intList(stride, 'stride');
      if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new Error(`tensor has an invalid storage offset ${describe(offset)}`);
      if (strides.length !== shape.length) throw new Error(`tensor of size [${shape}] has ${strides.length} strides`);
      if (strides.some((s) => s < 0)) throw new Error(`tensor of size [${shape}] has a negative stride [${strides}]`);
      const dt = dtype ?? storage.dtype;
      const n = numel(shape);
      if (n > 0) {
        const last = offset + shape.reduce((a, d, i) => a + (d - 1) * strides[i], 0);
        const have = Math.floor(storage.byteLength / dtypeSize(dt));
        if (last >= have) {
          throw new Error(`tensor of size [${shape}], stride [${strides}], offset ${offset} reads element ${last} of storage '${storage.key}' (${storage.storageType}), which has ${have} ${dt} elements`);
        }
      }
      const rec: TensorRecord = { dtype: dt, shape, data: EMPTY_F32 };
      this.plans.set(rec, { storage, dtype: dt, offset, shape, stride: strides });
      return rec;
    };
    const torchGlobals: Record<string, GlobalImpl> = {
      'torch._utils._rebuild_tensor': { call: ([s, o, size, stride]) => rebuild(s, o, size, stride) },
      'torch._utils._rebuild_tensor_v2': { call: ([s, o, size, stride]) => rebuild(s, o, size, stride) },
      'torch._utils._rebuild_tensor_v3': {
        call: ([s, o, size, stride, , , dtype]) => {
          if (!(dtype instanceof PyGlobal) || !(dtype.name in TORCH_DTYPES)) throw new Error(`_rebuild_tensor_v3: unsupported dtype ${describe(dtype)}`);
          return rebuild(s, o, size, stride, TORCH_DTYPES[dtype.name]);
        },
      },
      // nn.Parameter(data, requires_grad, hooks[, state]): the tensor itself is all a state dict needs
      'torch._utils._rebuild_parameter': { call: ([data]) => data },
      'torch._utils._rebuild_parameter_with_state': { call: ([data]) => data },
      // tensor subclasses: (func, type, args, state); func must itself be an allowed rebuilder
      'torch._tensor._rebuild_from_type_v2': {
        call: ([func, type, args]) => {
          if (!(type instanceof PyGlobal) || !['torch.Tensor', 'torch.nn.parameter.Parameter'].includes(type.qualname)) {
            throw new Error(`tensor subclass ${describe(type)} is not supported`);
          }
          if (!(func instanceof PyGlobal) || !func.impl.call || !Array.isArray(args)) throw new Error('_rebuild_from_type_v2: malformed arguments');
          return func.impl.call(args);
        },
      },
      'torch.Tensor': {},
      'torch.nn.parameter.Parameter': {},
      'torch.Size': { call: ([dims]) => Object.freeze(intList(dims, 'torch.Size')) },
      'torch.device': { call: ([type, index]) => (index === undefined || index === null ? String(type) : `${String(type)}:${String(index)}`) },
      'torch.storage.UntypedStorage': {},
    };
    for (const name of Object.keys(STORAGE_DTYPES)) torchGlobals[`torch.${name}`] = {};
    for (const name of Object.keys(TORCH_DTYPES)) torchGlobals[`torch.${name}`] = {};
    const pkl = zip.read(`${prefix}/data.pkl`);
    this.root = unpickle(pkl, {
      what: `${name} (${prefix}/data.pkl)`,
      globals: { ...torchGlobals, ...opts.globals },
      allowClasses: opts.allowClasses,
      persistentLoad,
    });
  }

  /** Every tensor of the pickle, in the order they were rebuilt. */
  tensors(): TensorRecord[] {
    return [...this.plans.keys()];
  }

  /** Decodes the given tensors (default: all) in place. A storage is read once and released after
   *  its last tensor of this call. */
  materialize(records: Iterable<TensorRecord> = this.plans.keys()): void {
    const todo = [...new Set(records)].filter((r) => this.plans.has(r));
    const uses = new Map<TorchStorage, number>();
    for (const r of todo) {
      const s = this.plans.get(r)!.storage;
      uses.set(s, (uses.get(s) ?? 0) + 1);
    }
    const cache = new Map<TorchStorage, Uint8Array>();
    for (const rec of todo) {
      const p = this.plans.get(rec)!;
      let bytes = cache.get(p.storage);
      if (!bytes) {
        bytes = this.zip.read(p.storage.entry);
        cache.set(p.storage, bytes);
      }
      rec.data = decodeStrided(bytes, p, this.bigEndian, `${this.name}: storage '${p.storage.key}'`);
      this.plans.delete(rec);
      const left = uses.get(p.storage)! - 1;
      uses.set(p.storage, left);
      if (left === 0) cache.delete(p.storage);
    }
  }

  close(): void {
    this.zip.close();
  }
}

function describe(v: unknown): string {
  if (v instanceof PyGlobal) return `global ${v.qualname}`;
  try {
    return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new Error(`tensor ${what} ${describe(v)} is not a tuple of non-negative integers`);
  }
  return [...v] as number[];
}

let halfTable: Float32Array | null = null;
/** all 65536 float16 values as float32 (256 KiB, built on first use): fp16 checkpoints decode by lookup */
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** bytes of `n` elements of `dtype` -> widened values. Fast paths on a little-endian host when the
 *  bytes are aligned (torch aligns payloads to 64 bytes): float32/int32 one copy, float16 a table
 *  lookup, bfloat16 a shift; everything else goes through decodeRaw. */
function decodeSpan(raw: Uint8Array, dtype: RecordDtype, n: number, what: string): Float32Array | Int32Array {
  if (HOST_LE && raw.byteLength >= n * dtypeSize(dtype)) {
    if (dtype === 'float32' && raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, n).slice();
    if (dtype === 'int32' && raw.byteOffset % 4 === 0) return new Int32Array(raw.buffer, raw.byteOffset, n).slice();
    if ((dtype === 'float16' || dtype === 'bfloat16') && raw.byteOffset % 2 === 0) {
      const u16 = new Uint16Array(raw.buffer, raw.byteOffset, n);
      const out = new Float32Array(n);
      if (dtype === 'float16') {
        const table = halfLookup();
        for (let i = 0; i < n; i++) out[i] = table[u16[i]];
      } else {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = u16[i] << 16;
      }
      return out;
    }
  }
  return decodeRaw(raw, dtype, n, what);
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}

/** Reads a (possibly non-contiguous) view of a storage into a C-order array. */
function decodeStrided(storage: Uint8Array, p: TensorPlan, bigEndian: boolean, what: string): Float32Array | Int32Array {
  const n = numel(p.shape);
  const isFloat = p.dtype === 'float32' || p.dtype === 'float64' || p.dtype === 'float16' || p.dtype === 'bfloat16';
  if (n === 0) return isFloat ? new Float32Array(0) : new Int32Array(0);
  const es = dtypeSize(p.dtype);
  const span = p.shape.reduce((a, d, i) => a + (d - 1) * p.stride[i], 0) + 1; // elements from offset to the last one read
  let raw = storage.subarray(p.offset * es, (p.offset + span) * es);
  if (bigEndian && es > 1) {
    raw = raw.slice();
    for (let i = 0; i < raw.length; i += es) raw.subarray(i, i + es).reverse();
  }
  if (isContiguous(p.shape, p.stride)) return decodeSpan(raw, p.dtype, n, what);
  const flat = decodeSpan(raw, p.dtype, span, what);
  const out = isFloat ? new Float32Array(n) : new Int32Array(n);
  // walk the index space in C order; the innermost dimension is a strided run
  const rank = p.shape.length;
  const inner = p.shape[rank - 1];
  const innerStride = p.stride[rank - 1];
  const idx = new Array(rank - 1).fill(0);
  let base = 0;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = flat[base + j * innerStride];
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      base += p.stride[d];
      if (idx[d] < p.shape[d]) break;
      base -= idx[d] * p.stride[d];
      idx[d] = 0;
    }
  }
  return out;
}

const LEGACY_MAGIC = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]; // 0x1950a86a20f9469cfc6c, LE

/** What the first bytes of a file say it is. */
export function sniffFormat(head: Uint8Array, size: number): 'zip' | 'legacy' | 'legacy-tar' | 'safetensors' | 'unknown' {
  if (isZip(head)) return 'zip';
  // legacy: the pickled magic number first: PROTO 2, LONG1 of 10 bytes
  if (head.length >= 14 && head[0] === 0x80 && head[2] === 0x8a && head[3] === 0x0a && LEGACY_MAGIC.every((b, i) => head[4 + i] === b)) return 'legacy';
  if (head.length >= 262 && String.fromCharCode(...head.subarray(257, 262)) === 'ustar') return 'legacy-tar';
  if (head.length >= 9) {
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    if (n > 1n && n <= BigInt(size - 8) && head[8] === 0x7b) return 'safetensors'; // 8-byte length, then '{'
  }
  return 'unknown';
}

export const RESAVE_HINT = 'load it with an older torch and save it again in the zip format: torch.save(torch.load(f), g)';

function openSource(source: string | Uint8Array, name?: string): ByteSource {
  return typeof source === 'string' ? fileSource(source) : bytesSource(source, name);
}

/** Re-throws with the file name in front when the message does not name it yet. */
export function withName<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg.startsWith(name)) throw e;
    throw new Error(`${name}: ${msg}`, { cause: e });
  }
}

/** Opens a torch.save zip checkpoint and unpickles it; tensors are decoded on `materialize`. */
export function loadTorchFile(source: string | Uint8Array, opts: TorchLoadOptions & { name?: string } = {}): TorchFile {
  const src = openSource(source, opts.name);
  const name = src.name;
  try {
    return withName(name, () => {
      const head = src.read(0, Math.min(src.size, 512));
      const kind = sniffFormat(head, src.size);
      if (kind === 'legacy' || kind === 'legacy-tar') {
        throw new Error(`a PyTorch checkpoint in the legacy ${kind === 'legacy-tar' ? 'tar ' : ''}format (written by torch < 1.6 or with _use_new_zipfile_serialization=False), which is not supported: ${RESAVE_HINT}`);
      }
      if (kind === 'safetensors') throw new Error('this is a safetensors file, not a torch.save checkpoint: read it with readCheckpoint or readSafetensors');
      if (kind !== 'zip') {
        const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
        throw new Error(`not a PyTorch checkpoint: wrong magic (first bytes ${hex || '(empty file)'}; a torch.save file starts with the zip signature 50 4b 03 04)`);
      }
      const zip = ZipArchive.open(src);
      const first = zip.entries[0]?.name ?? '';
      const slash = first.indexOf('/');
      if (slash < 0) throw new Error(`a zip archive, but not a torch.save checkpoint (first record '${first}' has no top folder)`);
      const prefix = first.slice(0, slash);
      if (zip.has(`${prefix}/constants.pkl`) || zip.entries.some((e) => e.name.startsWith(`${prefix}/code/`))) {
        throw new Error('a TorchScript archive (torch.jit.save), not a state dict: in Python, torch.save(torch.jit.load(f).state_dict(), g)');
      }
      if (!zip.has(`${prefix}/data.pkl`)) {
        throw new Error(`a zip archive, but not a torch.save checkpoint: no record '${prefix}/data.pkl' (records: ${zip.entries.slice(0, 5).map((e) => e.name).join(', ')}${zip.entries.length > 5 ? ', ...' : ''})`);
      }
      let bigEndian = false;
      if (zip.has(`${prefix}/byteorder`)) {
        const order = new TextDecoder().decode(zip.read(`${prefix}/byteorder`)).trim();
        if (order !== 'little' && order !== 'big') throw new Error(`unknown byteorder record '${order}'`);
        bigEndian = order === 'big';
      }
      return new TorchFile(name, zip, bigEndian, opts, prefix);
    });
  } catch (e) {
    src.close();
    throw e;
  }
}

/** Like torch.load: the whole unpickled object, every tensor a TensorRecord. */
export function torchLoad(source: string | Uint8Array, opts: TorchLoadOptions & { name?: string } = {}): unknown {
  const f = loadTorchFile(source, opts);
  try {
    withName(f.name, () => f.materialize());
    return f.root;
  } finally {
    f.close();
  }
}

export interface ReadPthOptions extends TorchLoadOptions {
  /** pick the EMA weights (`model_ema`, `state_dict_ema`, `ema`) */
  ema?: boolean;
  /** name for error messages when `source` is bytes */
  name?: string;
}

/** A .pth/.pt/.bin torch.save file -> its state dict, unwrapped (see unwrap.ts), with how it was found. */
export function readPthInfo(source: string | Uint8Array, opts: ReadPthOptions = {}): FoundStateDict & { name: string } {
  const f = loadTorchFile(source, opts);
  try {
    return withName(f.name, () => {
      const found = findStateDict(f.root, { ema: opts.ema ?? false });
      f.materialize(found.stateDict.values()); // only the chosen weights are decoded
      return { ...found, name: f.name };
    });
  } finally {
    f.close();
  }
}

/** A .pth/.pt/.bin torch.save file -> its state dict (unwrapped from model / state_dict / ema wrappers). */
export function readPth(source: string | Uint8Array, opts: ReadPthOptions = {}): StateDict {
  return readPthInfo(source, opts).stateDict;
}
