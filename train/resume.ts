// resume=<checkpoint>, shared by the classify, dense and YOLO trainers. resumeConfig: a resumed run is
// the saved run exactly: its saved config wins, except `resume` and the route's overridable keys
// (epochs, workers, backend, ... : they do not change the numbers) that the user gave now; any other
// key given with a different value is an error naming it. restoreTrainer: weights, optimizer state,
// loop position and the host RNG back into a Trainer (train/trainer.ts) before fit().
import { globalRng } from '../core/rng.ts';
import type { Module } from '../core/nn/module.ts';
import { loadCheckpointInto, readCheckpointMeta, type CheckpointMeta } from './checkpoint.ts';
import type { Optimizer } from './optim/optimizer.ts';
import type { Trainer } from './trainer.ts';
import type { RunLog } from './callbacks/log.ts';

export interface ResumePoint {
  /** checkpoint path without extension (<dir>/last) */
  prefix: string;
  meta: CheckpointMeta;
}

/**
 * `cfgIn` itself and no resume point when cfgIn.resume is empty. `fromSaved` may check the saved
 * config (a run of another task) and drop keys that are not config keys (the YOLO run's nc/names).
 */
export function resumeConfig<C extends { resume: string }>(
  cfgIn: C, given: ReadonlySet<string> | undefined, overridable: readonly string[],
  fromSaved?: (saved: Record<string, unknown>, prefix: string) => Record<string, unknown>,
): { cfg: C; resume: ResumePoint | null } {
  if (!cfgIn.resume) return { cfg: cfgIn, resume: null };
  const resume = readCheckpointMeta(cfgIn.resume);
  const saved = fromSaved ? fromSaved(resume.meta.config, resume.prefix) : resume.meta.config;
  const now = cfgIn as unknown as Record<string, unknown>;
  const keys = [...(given ?? [])];
  const changed = keys.filter((k) => !overridable.includes(k) && JSON.stringify(now[k]) !== JSON.stringify(saved[k]));
  if (changed.length) throw new Error(`resume continues the saved run exactly; ${changed.join(', ')} cannot change (only ${overridable.filter((k) => k !== 'resume').join(', ')} can)`);
  const cfg: Record<string, unknown> = { ...saved, resume: cfgIn.resume };
  for (const k of keys) if (overridable.includes(k)) cfg[k] = now[k];
  return { cfg: cfg as unknown as C, resume };
}

/** the checkpoint's model (+ EMA) weights, optimizer state, trainer state and RNG state; logged */
export function restoreTrainer(trainer: Trainer, resume: ResumePoint, parts: { model: Module; ema?: Module | null; optimizer: Optimizer }, log: RunLog): void {
  loadCheckpointInto(resume.prefix, resume.meta, parts);
  trainer.state = structuredClone(resume.meta.state);
  globalRng.setState(resume.meta.rng);
  log.info(`resumed from ${resume.prefix} at epoch ${trainer.state.epoch + 1}, batch ${trainer.state.batch}, update ${trainer.state.step}`);
}
