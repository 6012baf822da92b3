// Finds the state dict inside an unpickled checkpoint. Checkpoints in the wild wrap it:
//   {model: sd, optimizer, lr_scheduler, epoch, config, model_ema?}     VMamba / Swin / DeiT training
//   {state_dict: sd, state_dict_ema?, optimizer, args, epoch, metric}   timm training
//   {state_dict: sd, meta, optimizer}                                   mmengine
//   {model: <module object>, ema: <module object>, ...}                 ultralytics (needs allowClasses)
//   sd (top level), keys prefixed `module.` (DataParallel/DDP) or `_orig_mod.` (torch.compile)
// `ema: true` picks the EMA copy and fails when there is none.
import type { StateDict, TensorRecord } from './tensor-record.ts';
import { PyObject } from './pickle-values.ts';

export interface FoundStateDict {
  stateDict: StateDict;
  /** where it was: '' (top level), 'model', 'state_dict_ema', 'model.state_dict', ... */
  wrapper: string;
  /** prefix removed from every key ('module.', '_orig_mod.', or '') */
  strippedPrefix: string;
  /** non-tensor entries of the chosen dict, left out */
  skipped: string[];
}

const MODEL_KEYS = ['state_dict', 'model', 'model_state_dict', 'module', 'net', 'network'];
const EMA_KEYS = ['state_dict_ema', 'model_ema', 'ema', 'model_ema_state_dict', 'ema_state_dict'];
const PREFIXES = ['module.', '_orig_mod.'];

export function isTensorRecord(v: unknown): v is TensorRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'dtype' in v && 'shape' in v && 'data' in v &&
    ((v as TensorRecord).data instanceof Float32Array || (v as TensorRecord).data instanceof Int32Array);
}

function isModuleObject(v: unknown): v is PyObject {
  return v instanceof PyObject && v.attrs.get('_modules') instanceof Map && v.attrs.get('_parameters') instanceof Map;
}

/** A dict whose values are all tensors (string keys). */
function isTensorDict(v: unknown): v is Map<string, TensorRecord> {
  if (!(v instanceof Map) || v.size === 0) return false;
  for (const [k, x] of v) if (typeof k !== 'string' || !isTensorRecord(x)) return false;
  return true;
}

/**
 * A torch nn.Module object tree (unpickled with allowClasses) -> its state dict, in torch's order:
 * a module's parameters, then its persistent buffers, then its children.
 */
export function stateDictFromModule(root: PyObject, prefix = ''): StateDict {
  const out: StateDict = new Map();
  const walk = (m: PyObject, path: string): void => {
    const params = m.attrs.get('_parameters');
    const buffers = m.attrs.get('_buffers');
    const children = m.attrs.get('_modules');
    const nonPersistent = m.attrs.get('_non_persistent_buffers_set');
    const skip = nonPersistent instanceof Set ? nonPersistent : new Set();
    for (const [table, isBuffer] of [[params, false], [buffers, true]] as const) {
      if (!(table instanceof Map)) continue;
      for (const [name, t] of table) {
        if (t === null || (isBuffer && skip.has(name))) continue;
        if (!isTensorRecord(t)) throw new Error(`module ${path || '(root)'} (${m.pyClass}): ${isBuffer ? 'buffer' : 'parameter'} '${String(name)}' is not a tensor`);
        out.set(`${path}${String(name)}`, t);
      }
    }
    if (children instanceof Map) {
      for (const [name, c] of children) {
        if (c === null) continue;
        if (!(c instanceof PyObject)) throw new Error(`module ${path || '(root)'}: child '${String(name)}' is not a module object`);
        walk(c, `${path}${String(name)}.`);
      }
    }
  };
  walk(root, prefix);
  return out;
}

function keysOf(v: Map<unknown, unknown>): string {
  const ks = [...v.keys()].map(String);
  return ks.slice(0, 12).map((k) => `'${k}'`).join(', ') + (ks.length > 12 ? `, ... (${ks.length} keys)` : '');
}

function candidate(v: unknown): boolean {
  return isTensorDict(v) || isModuleObject(v) || (v instanceof Map && v.size > 0);
}

/** Picks the state dict out of an unpickled checkpoint. Throws naming the top-level keys when none is found. */
export function findStateDict(root: unknown, { ema = false }: { ema?: boolean } = {}): FoundStateDict {
  let node: unknown = root;
  const path: string[] = [];
  for (let depth = 0; depth < 4; depth++) {
    if (isModuleObject(node)) return finish(stateDictFromModule(node), path, []);
    if (!(node instanceof Map)) {
      throw new Error(`no state dict found: ${path.length ? `'${path.join('.')}' holds` : 'the checkpoint is'} a ${node === null ? 'None' : typeof node} value, not a dict of tensors`);
    }
    const wantEma = ema && !path.some((p) => EMA_KEYS.includes(p));
    if (!wantEma && isTensorDict(node)) return finish(node, path, []);
    const keys = wantEma ? EMA_KEYS : MODEL_KEYS;
    const next = keys.find((k) => node instanceof Map && candidate(node.get(k)));
    if (next !== undefined) {
      path.push(next);
      node = node.get(next);
      continue;
    }
    if (wantEma) {
      throw new Error(`no EMA weights in this checkpoint (looked for ${EMA_KEYS.map((k) => `'${k}'`).join(', ')}; ${path.length ? `'${path.join('.')}' has` : 'top-level'} keys ${keysOf(node)})`);
    }
    const emaKey = EMA_KEYS.find((k) => node instanceof Map && candidate(node.get(k)));
    if (emaKey) throw new Error(`the checkpoint holds only EMA weights (under '${[...path, emaKey].join('.')}'): pass ema: true to load them`);
    // a dict mixing tensors with a few other values: take the tensors, report the rest
    const tensors = [...node].filter(([k, v]) => typeof k === 'string' && isTensorRecord(v));
    if (tensors.length > 0 && tensors.length >= node.size / 2) {
      const skipped = [...node.keys()].filter((k) => !isTensorRecord(node instanceof Map ? node.get(k) : null)).map(String);
      return finish(new Map(tensors as Array<[string, TensorRecord]>), path, skipped);
    }
    throw new Error(`no state dict found: ${path.length ? `'${path.join('.')}' has` : 'top-level'} keys ${keysOf(node)}; none is a dict of tensors (looked for ${MODEL_KEYS.map((k) => `'${k}'`).join(', ')})`);
  }
  throw new Error(`no state dict found within ${path.join('.')}`);
}

function finish(dict: Map<string, TensorRecord>, path: string[], skipped: string[]): FoundStateDict {
  let stateDict: StateDict = dict;
  let strippedPrefix = '';
  for (const p of PREFIXES) {
    if (stateDict.size > 0 && [...stateDict.keys()].every((k) => k.startsWith(p))) {
      stateDict = new Map([...stateDict].map(([k, v]) => [k.slice(p.length), v]));
      strippedPrefix += p;
    }
  }
  return { stateDict, wrapper: path.join('.'), strippedPrefix, skipped };
}
