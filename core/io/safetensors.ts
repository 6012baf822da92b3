// safetensors reader and writer (own code): 8-byte little-endian header length N, N bytes of JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}, then the
// raw little-endian C-order bytes. Offsets are relative to the start of the byte buffer.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { decodeRaw, dtypeSize, numel, type RecordDtype, type StateDict, type TensorRecord } from './tensor-record.ts';

const ST_TO_DTYPE: Record<string, RecordDtype> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const DTYPE_TO_ST: Record<RecordDtype, string> = Object.fromEntries(
  Object.entries(ST_TO_DTYPE).map(([k, v]) => [v, k]),
) as Record<RecordDtype, string>;

export interface SafetensorsFile {
  tensors: StateDict;
  metadata: Record<string, string>;
}

export function parseSafetensors(bytes: Uint8Array, what = 'safetensors'): SafetensorsFile {
  if (bytes.byteLength < 8) throw new Error(`${what}: file is ${bytes.byteLength} bytes, too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8)) {
    throw new Error(`${what}: header length ${n} exceeds the file size (${bytes.byteLength} bytes): not a safetensors file, or truncated`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n))));
  } catch (e) {
    throw new Error(`${what}: the header is not valid UTF-8 JSON (${(e as Error).message}): not a safetensors file`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${what}: header is not a JSON object`);
  const base = 8 + Number(n);
  const bufLen = bytes.byteLength - base;
  const tensors: StateDict = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = e.dtype !== undefined ? ST_TO_DTYPE[e.dtype] : undefined;
    if (!dtype) throw new Error(`${what}: tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`${what}: tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const [begin, end] = e.data_offsets ?? [NaN, NaN];
    const count = numel(e.shape);
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin && end <= bufLen)) {
      throw new Error(`${what}: tensor '${name}' has data_offsets [${begin}, ${end}] outside the ${bufLen}-byte buffer (truncated file?)`);
    }
    if (end - begin !== count * dtypeSize(dtype)) {
      throw new Error(`${what}: tensor '${name}' is ${end - begin} bytes but ${dtype}${JSON.stringify(e.shape)} needs ${count * dtypeSize(dtype)}`);
    }
    const raw = bytes.subarray(base + begin, base + end);
    tensors.set(name, { dtype, shape: [...e.shape], data: decodeRaw(raw, dtype, count, `${what}: '${name}'`) });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  return parseSafetensors(readFileSync(path), path);
}

/** Encodes records. float records are written as F32, integer ones as their stored dtype (int64 kept). */
export function encodeSafetensors(tensors: StateDict | Record<string, TensorRecord>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const plan: Array<{ rec: TensorRecord; dtype: RecordDtype; offset: number }> = [];
  for (const [name, rec] of entries) {
    const dtype: RecordDtype = rec.data instanceof Float32Array ? 'float32' : rec.dtype === 'int64' ? 'int64' : rec.dtype === 'bool' || rec.dtype === 'uint8' ? rec.dtype : 'int32';
    const count = numel(rec.shape);
    if (rec.data.length !== count) throw new Error(`safetensors: tensor '${name}' has ${rec.data.length} values for shape [${rec.shape}]`);
    const size = count * dtypeSize(dtype);
    header[name] = { dtype: DTYPE_TO_ST[dtype], shape: rec.shape, data_offsets: [offset, offset + size] };
    plan.push({ rec, dtype, offset });
    offset += size;
  }
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (headerBytes.length % 8)) % 8; // align the buffer to 8 bytes, as the reference writer does
  if (pad) headerBytes = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const base = 8 + headerBytes.length;
  for (const { rec, dtype, offset: off } of plan) {
    const at = base + off;
    const d = rec.data;
    for (let i = 0; i < d.length; i++) {
      switch (dtype) {
        case 'float32': dv.setFloat32(at + i * 4, d[i], true); break;
        case 'int64': dv.setBigInt64(at + i * 8, BigInt(d[i]), true); break;
        case 'int32': dv.setInt32(at + i * 4, d[i], true); break;
        default: dv.setUint8(at + i, d[i]);
      }
    }
  }
  return out;
}

/** Writes atomically: a temp file next to the target, then rename. */
export function writeSafetensors(path: string, tensors: StateDict | Record<string, TensorRecord>, metadata: Record<string, string> = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeSafetensors(tensors, metadata));
  renameSync(tmp, path);
}
