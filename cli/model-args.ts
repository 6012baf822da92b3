// Shared by the model commands (info --model, import, predict, val): build a registered model or an
// official-kwargs config, optionally loading weights strictly.
import { readFileSync } from 'node:fs';
import { createModel } from '../backbones/index.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { withoutInit } from '../core/nn/init.ts';
import { loadCheckpoint, type LoadCheckpointResult } from '../core/io/checkpoint.ts';
import { UsageError } from './args.ts';

/** `--config file.json`: official constructor kwargs (optionally with `family`) overriding the variant's. */
export function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`config: cannot read '${path}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config: '${path}' is not valid JSON (${(e as Error).message})`);
  }
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new UsageError(`config: '${path}' must hold a JSON object of constructor keyword arguments`);
  return cfg as Record<string, unknown>;
}

/** A registered name (`vmamba_tiny_s2l5`), or with `config.family` a model built from kwargs alone. */
export function buildModel(name: string | undefined, config: Record<string, unknown> = {}, { init = true } = {}): Backbone {
  const build = () => {
    if (name) return createModel(name, config);
    if (typeof config.family === 'string') return createModel(config as { family: string });
    throw new UsageError('give a model name (model=<name>) or a --config file with a "family"');
  };
  return init ? build() : withoutInit(build);
}

/** Builds without random init, loads `weights` strictly, switches to eval. */
export function buildWithWeights(name: string | undefined, weights: string, config: Record<string, unknown> = {}, ema = false): { model: Backbone; load: LoadCheckpointResult } {
  const model = buildModel(name, config, { init: false });
  try {
    const load = loadCheckpoint(model, weights, { strict: true, ema });
    model.eval();
    return { model, load };
  } catch (e) {
    model.dispose();
    throw new Error(`${(e as Error).message}\n(are these weights for '${name ?? config.family}'? check model=, or pass --config with the checkpoint's constructor arguments)`);
  }
}
