// Training checkpoints: `<prefix>.safetensors` (model weights, PyTorch layout and names, loadable by
// anything that reads a state dict), `<prefix>.ema.safetensors` (EMA weights), `<prefix>.optim.safetensors`
// (optimizer moments, named `<param>.exp_avg` ...) and `<prefix>.json` (trainer state: epoch, step,
// RNG, best metric, history, resolved config). Each file is written atomically (temp + rename); the
// JSON goes last and names the checkpoint id stamped into every tensor file, so a crash between
// files is detected on resume instead of mixing two checkpoints.
import { existsSync, mkdirSync, renameSync, writeFileSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tf, type Tensor } from '../core/tf.ts';
import type { Module } from '../core/nn/module.ts';
import { readSafetensors, encodeSafetensors } from '../core/io/safetensors.ts';
import type { StateDict } from '../core/io/tensor-record.ts';
import type { Optimizer } from './optim/optimizer.ts';
import type { TrainState } from './trainer.ts';

export const CHECKPOINT_FORMAT = 'ssmv-train-checkpoint';

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  id: string;
  model: string;
  /** why it was written: end of an epoch, Ctrl-C, the best epoch so far */
  reason: 'epoch' | 'interrupt' | 'best';
  savedAt: string;
  state: TrainState;
  rng: number[];
  optimizer: { kind: string; updates: number; file: string | null };
  ema: { file: string; decay: number } | null;
  weights: string;
  config: Record<string, unknown>;
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Optimizer state tensors -> host records (GPU->CPU sync: checkpoint writes only). */
async function tensorsToRecords(tensors: ReadonlyMap<string, Tensor>): Promise<StateDict> {
  const out: StateDict = new Map();
  for (const [name, t] of tensors) {
    out.set(name, { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(await t.data()) }); // GPU->CPU sync
  }
  return out;
}

export interface SaveParts {
  model: Module;
  ema?: { module: Module; decay: number } | null;
  optimizer?: Optimizer | null;
  meta: Omit<CheckpointMeta, 'format' | 'version' | 'id' | 'savedAt' | 'optimizer' | 'ema' | 'weights'>;
}

/**
 * Writes `<prefix>.safetensors`, `.ema.safetensors`, `.optim.safetensors` and `<prefix>.json`. All
 * files are staged under temporary names first (the device reads happen there), then renamed in one
 * synchronous run, JSON last: a Ctrl-C handler cannot run in between, and a crash leaves either the
 * previous checkpoint or an id mismatch that resume reports.
 */
export async function saveCheckpoint(prefix: string, parts: SaveParts): Promise<CheckpointMeta> {
  const id = `${parts.meta.state.step}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  const stamp = { format: 'pt', checkpoint_id: id, model: parts.meta.model, epoch: String(parts.meta.state.epoch), step: String(parts.meta.state.step) };
  const base = prefix.slice(prefix.lastIndexOf('/') + 1);
  const staged: Array<[string, string]> = []; // [temp, final]
  const stage = (path: string, data: string | Uint8Array) => {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    staged.push([tmp, path]);
  };
  mkdirSync(dirname(prefix), { recursive: true });
  try {
    stage(`${prefix}.safetensors`, encodeSafetensors(await parts.model.stateDict(), stamp));
    let ema: CheckpointMeta['ema'] = null;
    if (parts.ema) {
      stage(`${prefix}.ema.safetensors`, encodeSafetensors(await parts.ema.module.stateDict(), stamp));
      ema = { file: `${base}.ema.safetensors`, decay: parts.ema.decay };
    }
    let optimizer: CheckpointMeta['optimizer'] = { kind: parts.optimizer?.kind ?? 'none', updates: parts.optimizer?.updates ?? 0, file: null };
    if (parts.optimizer) {
      stage(`${prefix}.optim.safetensors`, encodeSafetensors(await tensorsToRecords(parts.optimizer.stateTensors()), stamp));
      optimizer = { ...optimizer, file: `${base}.optim.safetensors` };
    }
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT, version: 1, id, savedAt: new Date().toISOString(),
      ...parts.meta, optimizer, ema, weights: `${base}.safetensors`,
    };
    stage(`${prefix}.json`, JSON.stringify(meta, null, 2) + '\n');
    for (const [tmp, path] of staged) renameSync(tmp, path); // synchronous: no event (SIGINT) runs in between
    return meta;
  } catch (e) {
    for (const [tmp] of staged) if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  }
}

/** `runs/x`, `runs/x/last`, `runs/x/last.json` or `runs/x/last.safetensors` -> `runs/x/last` */
export function checkpointPrefix(path: string): string {
  const p = path.replace(/\/+$/, '');
  if (existsSync(p) && statSync(p).isDirectory()) return join(p, 'last');
  return p.replace(/(\.ema|\.optim)?\.(safetensors|json)$/, '');
}

export function readCheckpointMeta(path: string): { prefix: string; meta: CheckpointMeta } {
  const prefix = checkpointPrefix(path);
  const file = `${prefix}.json`;
  if (!existsSync(file)) {
    const hint = existsSync(`${prefix}.safetensors`) ? ` (${prefix}.safetensors exists but its trainer state does not: use weights= to start from it)` : '';
    throw new Error(`resume: no checkpoint at '${path}': ${file} not found${hint}`);
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`resume: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`resume: ${file} is not an ssmv training checkpoint (format ${JSON.stringify(meta.format)})`);
  return { prefix, meta };
}

function readStamped(file: string, meta: CheckpointMeta): StateDict {
  if (!existsSync(file)) throw new Error(`resume: ${file} is missing (the checkpoint ${meta.id} is incomplete)`);
  const st = readSafetensors(file);
  const id = st.metadata.checkpoint_id;
  if (id !== meta.id) throw new Error(`resume: ${file} belongs to checkpoint ${id ?? '(none)'}, the trainer state to ${meta.id}: the save was interrupted; resume from another checkpoint`);
  return st.tensors;
}

/** Loads weights, EMA and optimizer state of a checkpoint written by saveCheckpoint (strict). */
export function loadCheckpointInto(prefix: string, meta: CheckpointMeta, parts: { model: Module; ema?: Module | null; optimizer?: Optimizer | null }): void {
  const dir = dirname(prefix);
  const fit = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      throw new Error(`resume: the ${what} in ${prefix} do not fit model '${meta.model}' as configured now: ${(e as Error).message}`);
    }
  };
  fit('weights', () => parts.model.loadStateDict(readStamped(join(dir, meta.weights), meta)));
  if (parts.ema) {
    if (!meta.ema) throw new Error(`resume: ${prefix} has no EMA weights but model_ema is on (set model_ema=false to resume it)`);
    fit('EMA weights', () => parts.ema!.loadStateDict(readStamped(join(dir, meta.ema!.file), meta)));
  }
  if (parts.optimizer) {
    if (!meta.optimizer.file) throw new Error(`resume: ${prefix} has no optimizer state`);
    if (meta.optimizer.kind !== parts.optimizer.kind) throw new Error(`resume: ${prefix} was trained with ${meta.optimizer.kind}, not ${parts.optimizer.kind}`);
    const recs = readStamped(join(dir, meta.optimizer.file), meta);
    const tensors = new Map<string, Tensor>();
    for (const [k, r] of recs) tensors.set(k, tf.tensor(r.data, r.shape, 'float32'));
    try {
      fit('optimizer moments', () => parts.optimizer!.loadState(tensors, meta.optimizer.updates));
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }
}
