// What the three training configs (classify: train/config.ts, detect/segment: train/dense-config.ts,
// YOLO: train/yolo/config.ts) build on: a schema of typed keys (the CLI keys = config.json keys) whose
// defaults make the default config, configs made from parsed CLI values, errors that name their key,
// and the run-directory keys classify and dense share word for word.
import type { ArgSchema, ArgSpec } from '../cli/args.ts';

/** one schema entry: type, default, help and (strings) the allowed values */
export const spec = (type: ArgSpec['type'], dflt: unknown, help: string, choices?: readonly string[]): ArgSpec => ({ type, default: dflt, help, ...(choices ? { choices } : {}) });

/** the config of every key at its default (deep copies: a default list is never shared) */
export function schemaDefaults<C>(schema: ArgSchema): C {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(schema)) out[k] = structuredClone(s.default);
  return out as C;
}

/** the defaults overridden by parsed CLI values (already typed by cli/args.ts), then checked */
export function configFromSchema<C>(schema: ArgSchema, values: Record<string, unknown>, check: (c: C) => void): C {
  const c = { ...schemaDefaults<Record<string, unknown>>(schema), ...values } as C;
  check(c);
  return c;
}

/** a config value the types cannot rule out: throws `<key>: <msg>` */
export function keyError(key: string, msg: string): never {
  throw new Error(`${key}: ${msg}`);
}

/** run directory and logging keys of the classify and dense configs (runs/<name>, last/best/epoch<N>) */
export const RUN_OUTPUT_SPECS = {
  project: spec('string', 'runs', 'parent folder of run directories'),
  name: spec('string', 'train', 'run directory name (train, train2, ... unless exist_ok)'),
  exist_ok: spec('boolean', false, 'reuse runs/<name> instead of incrementing'),
  save_period: spec('int', 0, 'also keep epoch<N> checkpoints every N epochs (0 = off)'),
  log_interval: spec('int', 20, 'optimizer updates between loss reads (GPU->CPU syncs)'),
} satisfies ArgSchema;

export interface RunOutputConfig {
  project: string;
  name: string;
  exist_ok: boolean;
  save_period: number;
  log_interval: number;
}
