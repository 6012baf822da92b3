// Weights for Mamba-YOLO models: ssmv training checkpoints (weights/best, weights/last: the EMA
// weights when present), safetensors files, PyTorch state dicts, and the checkpoints the official
// code writes — ultralytics pickles of whole modules ({'model': DetectionModel (fp16), 'ema', ...},
// engine/trainer.py save_model, utils/torch_utils.py strip_optimizer). Those are read by the allow-list
// unpickler with the ultralytics / torch.nn / timm classes as inert records (nothing of them runs),
// plus the two non-class globals a Mamba-YOLO model pickles: SS2D keeps
// `forward_core = functools.partial(self.forward_corev2, ...)`, whose bound method pickles as
// `builtins.getattr(obj, 'forward_corev2')` — both also become inert records. The module tree is
// walked into a state dict (core/io/unwrap.ts stateDictFromModule), and the model's scale, class
// count and names come from the pickled DetectionModel (`yaml.scales`, `yaml.nc`, `names`).
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { loadTorchFile, sniffFormat } from '../core/io/pth.ts';
import { PyObject } from '../core/io/pickle-values.ts';
import { findStateDict, stateDictFromModule } from '../core/io/unwrap.ts';
import { readSafetensors } from '../core/io/safetensors.ts';
import type { StateDict } from '../core/io/tensor-record.ts';
import { CHECKPOINT_FORMAT, checkpointPrefix, type CheckpointMeta } from '../train/checkpoint.ts';
import { MAMBA_YOLO_SCALES, type MambaYoloConfig } from './mamba-yolo.ts';

/** classes and functions a Mamba-YOLO / ultralytics checkpoint pickles, read as inert records */
export const ULTRALYTICS_ALLOW_CLASSES: Readonly<Record<string, readonly string[] | '*'>> = {
  'ultralytics.*': '*',
  'torch.nn.modules.*': '*',
  'timm.*': '*',
  functools: ['partial'],
  builtins: ['getattr'],
};

export interface YoloWeights {
  stateDict: StateDict;
  /** model kwargs recovered from the file (nc, names, scale / depth / width / max_channels) */
  config: Partial<MambaYoloConfig>;
  /** registered model name when the file says (ssmv checkpoints) */
  model?: string;
  /** what was read: 'ssmv checkpoint (ema)', 'ultralytics pickle (model)', 'safetensors', 'state dict' */
  source: string;
}

function mapGet(v: unknown, k: string): unknown {
  if (v instanceof Map) return v.get(k);
  if (v instanceof PyObject) return v.attrs.get(k);
  return undefined;
}

/** nc from the class-branch bias of the Detect head (model.21.cv3.0.2.bias) */
function ncOf(sd: StateDict): number | undefined {
  for (const [k, v] of sd) if (/^model\.\d+\.cv3\.0\.2\.bias$/.test(k)) return v.shape[0];
  return undefined;
}

/** DetectionModel attributes -> MambaYOLO kwargs */
function configFromUltralytics(model: PyObject): Partial<MambaYoloConfig> {
  const out: Partial<MambaYoloConfig> = {};
  const yaml = model.attrs.get('yaml');
  const scales = mapGet(yaml, 'scales');
  const scale = mapGet(yaml, 'scale');
  if (scales instanceof Map && scales.size) {
    const key = typeof scale === 'string' && scale && scales.has(scale) ? scale : String([...scales.keys()][0]);
    const v = scales.get(key);
    if (key in MAMBA_YOLO_SCALES) out.scale = key;
    if (Array.isArray(v) && v.length === 3) {
      const [d, w, m] = v.map(Number);
      const known = MAMBA_YOLO_SCALES[key];
      if (!known || known[0] !== d || known[1] !== w || known[2] !== m) Object.assign(out, { depth: d, width: w, max_channels: m });
    }
  }
  const nc = mapGet(yaml, 'nc');
  if (typeof nc === 'number') out.nc = nc;
  const names = model.attrs.get('names');
  if (names instanceof Map && names.size) {
    const list = new Array<string>(names.size);
    for (const [k, v] of names) if (Number.isInteger(Number(k)) && Number(k) < names.size) list[Number(k)] = String(v);
    if (list.every((s) => typeof s === 'string')) out.names = list;
  } else if (Array.isArray(names)) out.names = names.map(String);
  if (out.names && out.nc === undefined) out.nc = out.names.length;
  return out;
}

/** An ultralytics / Mamba-YOLO `.pt` (or any torch.save file holding a state dict). */
export function readTorchYoloWeights(path: string, ema = false): YoloWeights {
  const f = loadTorchFile(path, { allowClasses: ULTRALYTICS_ALLOW_CLASSES });
  try {
    const root = f.root;
    // attempt_load_weights: ckpt.get('ema') or ckpt['model']
    const pick = ema ? ['ema', 'model'] : ['model', 'ema'];
    const key = pick.find((k) => mapGet(root, k) instanceof PyObject);
    if (key) {
      const model = mapGet(root, key) as PyObject;
      if (!(model.attrs.get('_modules') instanceof Map)) throw new Error(`${path}: '${key}' is a ${model.pyClass} record without a module tree`);
      const stateDict = stateDictFromModule(model);
      f.materialize(stateDict.values());
      const config = configFromUltralytics(model);
      const nc = ncOf(stateDict);
      if (nc !== undefined) config.nc = nc;
      if (config.names && config.names.length !== config.nc) delete config.names;
      return { stateDict, config, source: `ultralytics pickle ('${key}': ${model.pyClass})` };
    }
    const found = findStateDict(root, { ema });
    f.materialize(found.stateDict.values());
    const nc = ncOf(found.stateDict);
    return { stateDict: found.stateDict, config: nc !== undefined ? { nc } : {}, source: `state dict${found.wrapper ? ` under '${found.wrapper}'` : ''}` };
  } finally {
    f.close();
  }
}

/**
 * Reads Mamba-YOLO weights from: an ssmv training checkpoint (`runs/detect/train/weights/best`,
 * `.json` or `.safetensors` of it: the EMA weights when the checkpoint has them, unless ema: false),
 * a safetensors file, or a torch.save file (ultralytics pickle or state dict).
 */
export function readYoloWeights(path: string, { ema = true }: { ema?: boolean } = {}): YoloWeights {
  const prefix = checkpointPrefix(path);
  if (existsSync(`${prefix}.json`) && existsSync(`${prefix}.safetensors`)) {
    let meta: CheckpointMeta | null = null;
    try {
      meta = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    } catch {
      meta = null;
    }
    if (meta?.format === CHECKPOINT_FORMAT) {
      const useEma = ema && meta.ema && existsSync(`${prefix}.ema.safetensors`);
      const st = readSafetensors(useEma ? `${prefix}.ema.safetensors` : `${prefix}.safetensors`);
      const c = meta.config as Partial<MambaYoloConfig> & { names?: string[]; nc?: number };
      const config: Partial<MambaYoloConfig> = {};
      if (typeof c.nc === 'number') config.nc = c.nc;
      if (Array.isArray(c.names)) config.names = c.names;
      return { stateDict: st.tensors, config, model: meta.model, source: `ssmv checkpoint ${prefix} (${useEma ? 'EMA weights' : 'weights'})` };
    }
  }
  if (!existsSync(path)) throw new Error(`weights: '${path}' does not exist`);
  const fd = openSync(path, 'r');
  let kind: string;
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(512, size));
    readSync(fd, head, 0, head.length, 0);
    kind = sniffFormat(head, size);
  } finally {
    closeSync(fd);
  }
  if (kind === 'safetensors' || path.endsWith('.safetensors')) {
    const st = readSafetensors(path);
    const nc = ncOf(st.tensors);
    const names = st.metadata.names ? (JSON.parse(st.metadata.names) as string[]) : undefined;
    return { stateDict: st.tensors, config: { ...(nc !== undefined ? { nc } : {}), ...(names ? { names } : {}) }, source: 'safetensors' };
  }
  return readTorchYoloWeights(path, ema);
}
