// Checkpoint import: `.pth`/`.pt`/`.bin` (torch.save zip) and `.safetensors`, recognised by their first
// bytes (the extension only breaks ties), unwrapped to the state dict (unwrap.ts), then loaded strictly.
//
// Key filter hook: a model (family) may define `checkpointFilter(dict: StateDict): StateDict` for the
// renames of its official checkpoints (e.g. VMamba's legacy `patch_embed.proj.*` -> `patch_embed.0.*`).
// loadCheckpoint applies, in order: the wrapper/prefix unwrapping, the caller's `keyMap`, the model's
// `checkpointFilter`, then `model.loadStateDict(dict, { strict })`.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import type { LoadResult, Module } from '../nn/module.ts';
import { readSafetensors } from './safetensors.ts';
import type { StateDict } from './tensor-record.ts';
import { readPthInfo, RESAVE_HINT, sniffFormat, withName, type TorchLoadOptions } from './pth.ts';
import type { FoundStateDict } from './unwrap.ts';

export interface ReadCheckpointOptions extends TorchLoadOptions {
  /** load the EMA weights (`model_ema` / `state_dict_ema` / `ema`); an error when the file has none */
  ema?: boolean;
}

export interface CheckpointInfo extends FoundStateDict {
  path: string;
  format: 'pth' | 'safetensors';
  /** safetensors `__metadata__` */
  metadata?: Record<string, string>;
}

/** Models may carry the renames their official checkpoints need. */
export interface CheckpointFilter {
  checkpointFilter(dict: StateDict): StateDict;
}

/** New key for a checkpoint key; null/undefined drops the entry. A record maps exact keys (others kept). */
export type KeyMap = ((key: string) => string | null | undefined) | Readonly<Record<string, string>>;

export interface LoadCheckpointOptions extends ReadCheckpointOptions {
  strict?: boolean;
  keyMap?: KeyMap;
}

export interface LoadCheckpointResult extends LoadResult {
  path: string;
  format: 'pth' | 'safetensors';
  wrapper: string;
  strippedPrefix: string;
  /** entries of the file's state dict after all key mapping */
  keys: number;
  /** whether the model's checkpointFilter ran */
  filtered: boolean;
}

function head(path: string): { bytes: Uint8Array; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(Math.min(size, 512));
    readSync(fd, bytes, 0, bytes.length, 0);
    return { bytes, size };
  } finally {
    closeSync(fd);
  }
}

/** Reads any supported checkpoint file and reports where the state dict was found. */
export function readCheckpointInfo(path: string, opts: ReadCheckpointOptions = {}): CheckpointInfo {
  const { bytes, size } = head(path);
  const kind = sniffFormat(bytes, size);
  if (kind === 'zip' || kind === 'legacy' || kind === 'legacy-tar') {
    const found = readPthInfo(path, opts);
    return { ...found, path, format: 'pth' };
  }
  if (kind === 'safetensors' || path.endsWith('.safetensors')) {
    const st = readSafetensors(path);
    if (opts.ema) throw new Error(`${path}: a safetensors file holds a single state dict: there are no separate EMA weights to pick (ema: true)`);
    return withName(path, () => {
      let stateDict = st.tensors;
      let strippedPrefix = '';
      for (const p of ['module.', '_orig_mod.']) {
        if (stateDict.size && [...stateDict.keys()].every((k) => k.startsWith(p))) {
          stateDict = new Map([...stateDict].map(([k, v]) => [k.slice(p.length), v]));
          strippedPrefix += p;
        }
      }
      return { stateDict, wrapper: '', strippedPrefix, skipped: [], path, format: 'safetensors' as const, metadata: st.metadata };
    });
  }
  const hex = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${path}: unrecognised checkpoint format (first bytes ${hex || '(empty file)'}): expected a torch.save zip (.pth/.pt/.bin) or a safetensors file` +
    (/\.(pth|pt|bin|tar)$/.test(path) ? `; if it was written by torch < 1.6, ${RESAVE_HINT}` : ''));
}

/** The state dict of a `.pth`/`.pt`/`.bin`/`.safetensors` checkpoint, unwrapped. */
export function readCheckpoint(path: string, opts: ReadCheckpointOptions = {}): StateDict {
  return readCheckpointInfo(path, opts).stateDict;
}

function applyKeyMap(dict: StateDict, keyMap: KeyMap): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of dict) {
    const nk = typeof keyMap === 'function' ? keyMap(k) : Object.hasOwn(keyMap, k) ? keyMap[k] : k;
    if (nk === null || nk === undefined) continue;
    if (out.has(nk)) throw new Error(`keyMap maps two checkpoint keys onto '${nk}'`);
    out.set(nk, v);
  }
  return out;
}

function hasFilter(model: Module): model is Module & CheckpointFilter {
  return typeof (model as Partial<CheckpointFilter>).checkpointFilter === 'function';
}

/**
 * Reads `path`, maps its keys (keyMap, then the model's checkpointFilter) and loads it into `model`.
 * strict (default): a missing, unexpected or misshaped key throws an error naming the file and the
 * first mismatch, and the model is left unchanged.
 */
export function loadCheckpoint(model: Module, path: string, opts: LoadCheckpointOptions = {}): LoadCheckpointResult {
  const { strict = true, keyMap } = opts;
  const info = readCheckpointInfo(path, opts);
  return withName(path, () => {
    let dict = info.stateDict;
    if (keyMap) dict = applyKeyMap(dict, keyMap);
    const filtered = hasFilter(model);
    if (filtered) dict = model.checkpointFilter(dict);
    const wrapped = info.wrapper ? ` (state dict under '${info.wrapper}'${info.strippedPrefix ? `, prefix '${info.strippedPrefix}' removed` : ''})` : info.strippedPrefix ? ` (prefix '${info.strippedPrefix}' removed)` : '';
    let result: LoadResult;
    try {
      result = model.loadStateDict(dict, { strict });
    } catch (e) {
      throw new Error(`${(e as Error).message}${wrapped}`, { cause: e });
    }
    return { ...result, path, format: info.format, wrapper: info.wrapper, strippedPrefix: info.strippedPrefix, keys: dict.size, filtered };
  });
}
