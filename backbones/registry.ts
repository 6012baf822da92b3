// Two registries: families (`vmamba`, `vim`, ...: build from official constructor keyword arguments)
// and backbones (`vmamba_tiny_s2l5`, ...: released variants as data, timm-style names).
import { Registry, closeMatches } from '../core/registry.ts';
import type { Backbone, PretrainedCfg } from './backbone.ts';

export interface FamilyEntry {
  /** paper and the upstream file the port follows */
  paper: string;
  upstream: string;
  /** builds a model from official constructor keyword arguments (unknown keys are an error) */
  create(kwargs: Record<string, unknown>): Backbone;
  /** the keyword names `create` accepts, with defaults */
  defaults: Record<string, unknown>;
}

export interface BackboneEntry {
  family: string;
  /** official constructor keyword arguments of this variant */
  config: Record<string, unknown>;
  /** exact parameter count of the official constructor (classification model, 1000 classes) */
  officialParams?: number;
  /** a count known only to a tolerance: the official constructor's count rounded (to `tolerance`
   *  parameters), or a published figure (tolerance 0.5%) where the official code cannot be run */
  approxParams?: { count: number; tolerance: number; source: string };
  /** published FLOPs at 224x224 (fvcore convention), when the paper gives them */
  publishedFlops?: number;
  /** released weights (tags like `in1k`); loading is by file (`loadCheckpoint`) */
  pretrained?: PretrainedCfg[];
}

export const families = new Registry<FamilyEntry>('backbone family');
export const backbones = new Registry<BackboneEntry>('backbone');

/** Registers a family and its variants table in one loop (timm's register pattern). */
export function registerFamily(name: string, family: FamilyEntry, variants: Record<string, Omit<BackboneEntry, 'family'>>): void {
  families.register(name, family);
  for (const [variant, entry] of Object.entries(variants)) backbones.register(variant, { family: name, ...entry });
}

/**
 * createModel('vmamba_tiny_s2l5', overrides?) or createModel({ family: 'vmamba', ...kwargs }):
 * kwargs use the official constructor's keyword names, so upstream configs paste in.
 */
export function createModel(nameOrConfig: string | ({ family: string } & Record<string, unknown>), overrides: Record<string, unknown> = {}): Backbone {
  if (typeof nameOrConfig === 'string') {
    const [name] = nameOrConfig.split('.'); // `vmamba_tiny_s2l5.in1k` -> architecture
    const entry = backbones.get(name);
    return families.get(entry.family).create({ ...entry.config, ...overrides });
  }
  const { family, ...kwargs } = nameOrConfig;
  if (typeof family !== 'string') throw new Error(`createModel: the config needs a 'family' (one of ${families.names().join(', ')})`);
  return families.get(family).create({ ...kwargs, ...overrides });
}

/** Rejects keyword arguments the official constructor does not take, with close matches. */
export function checkKwargs(family: string, kwargs: Record<string, unknown>, defaults: Record<string, unknown>, ignored: readonly string[] = []): void {
  for (const k of Object.keys(kwargs)) {
    if (k in defaults || ignored.includes(k)) continue;
    const near = closeMatches(k, Object.keys(defaults));
    throw new Error(`${family}: unknown constructor argument '${k}'` + (near.length ? ` (did you mean ${near.slice(0, 3).join(' or ')}?)` : ''));
  }
}
