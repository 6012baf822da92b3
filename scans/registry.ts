// Scan-strategy registry: one file per strategy, `scans/<name>.ts`, registered under its file name.
// A strategy turns (H, W, options) into ScanPlans (cached) and says how the SS2D core drives them
// (scans/core.ts): most need only the plan; a few add parameters (zigzag's direction_Bs, multiscale's
// strided branch, multihead's heads, grouped's channel modulation) through their own CoreDriver.
import { Registry, closeMatches } from '../core/registry.ts';
import { coerce, type ArgSchema } from '../cli/args.ts';
import { validatePlan, type ScanPlan } from './plan.ts';
import type { CoreFactory } from './core.ts';

/** Options after defaults and validation, keyed by the schema's snake_case names. */
export type ScanOptions = Record<string, unknown>;

export interface ScanStrategy {
  /** registered name = file name */
  readonly name: string;
  /** paper (title, venue, arXiv id) */
  readonly paper: string;
  /** official code the orders follow: `owner/repo@commit path (symbol)` */
  readonly upstream: string;
  readonly description: string;
  /** typed options with defaults (the CLI's `--key value` schema) */
  readonly options: ArgSchema;
  /** the full-resolution map's plan is not the only one (multiscale); the core needs `preConv` */
  readonly needsPreConv: boolean;
  /** defaults filled in, strings coerced, unknown keys and bad values rejected (naming them) */
  resolve(options?: ScanOptions): ScanOptions;
  /** number of directions K = parameter groups of x_proj_weight / dt_projs / A_logs / Ds */
  directions(options?: ScanOptions): number;
  /** the plans for an H x W map, cached per (H, W, options); most strategies have exactly one */
  plans(H: number, W: number, options?: ScanOptions): readonly ScanPlan[];
  /** the first (full-resolution) plan */
  plan(H: number, W: number, options?: ScanOptions): ScanPlan;
  /** builds the SS2D core driver for this strategy (scans/core.ts: standardCore unless it needs more) */
  readonly core: CoreFactory;
}

export const scans = new Registry<ScanStrategy>('scan');

export interface StrategyDefinition {
  name: string;
  paper: string;
  upstream: string;
  description: string;
  options?: ArgSchema;
  needsPreConv?: boolean;
  /** extra checks on resolved options (throw naming the option) */
  check?(o: ScanOptions): void;
  directions(o: ScanOptions): number;
  /** builds the plans; called once per (H, W, options) */
  build(H: number, W: number, o: ScanOptions): ScanPlan[];
  core: CoreFactory;
}

const MAX_SIDE = 4096;

/** Validated positive integer map side. */
export function checkSize(name: string, H: number, W: number): void {
  for (const [k, v] of [['H', H], ['W', W]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) throw new Error(`scan '${name}': map ${k} must be an integer in [1, ${MAX_SIDE}], got ${v}`);
  }
}

/** Registers a strategy: option resolution, plan caching and validation are shared by all. */
export function defineStrategy(def: StrategyDefinition): ScanStrategy {
  const schema = def.options ?? {};
  const cache = new Map<string, readonly ScanPlan[]>();
  const resolve = (raw: ScanOptions = {}): ScanOptions => {
    if (raw === null || typeof raw !== 'object') throw new Error(`scan '${def.name}': options must be an object`);
    const out: ScanOptions = {};
    for (const [k0, v] of Object.entries(raw)) {
      if (v === undefined) continue;
      const k = k0.replace(/-/g, '_');
      const spec = schema[k];
      if (!spec) {
        const near = closeMatches(k, Object.keys(schema));
        const known = Object.keys(schema).length ? Object.keys(schema).join(', ') : 'none';
        throw new Error(`scan '${def.name}': unknown option '${k0}'` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `; options: ${known}`);
      }
      out[k] = typeof v === 'string' || typeof v === 'boolean' ? coerce(`${def.name}.${k}`, v, spec) : v;
      checkType(def.name, k, out[k], spec.type, spec.choices);
    }
    for (const [k, spec] of Object.entries(schema)) if (!(k in out)) out[k] = spec.default;
    def.check?.(out);
    return out;
  };
  const plans = (H: number, W: number, raw?: ScanOptions): readonly ScanPlan[] => {
    checkSize(def.name, H, W);
    const o = resolve(raw);
    const key = `${H}x${W}:${JSON.stringify(o)}`;
    let ps = cache.get(key);
    if (!ps) {
      ps = Object.freeze(def.build(H, W, o));
      for (const p of ps) validatePlan(p);
      cache.set(key, ps);
    }
    return ps;
  };
  const strategy: ScanStrategy = {
    name: def.name,
    paper: def.paper,
    upstream: def.upstream,
    description: def.description,
    options: schema,
    needsPreConv: def.needsPreConv ?? false,
    resolve,
    directions: (raw) => def.directions(resolve(raw)),
    plans,
    plan: (H, W, raw) => plans(H, W, raw)[0],
    core: def.core,
  };
  return scans.register(def.name, strategy);
}

function checkType(name: string, key: string, v: unknown, type: string, choices?: readonly string[]): void {
  const bad = (what: string) => new Error(`scan '${name}': option ${key} must be ${what}, got ${JSON.stringify(v)}`);
  switch (type) {
    case 'int':
      if (!Number.isInteger(v)) throw bad('an integer');
      break;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a number');
      break;
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('true or false');
      break;
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      if (choices && !choices.includes(v)) {
        const near = closeMatches(v, choices);
        throw bad(`one of ${choices.join(', ')}` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : ''));
      }
      break;
    case 'list':
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw bad('a list of strings');
      break;
    case 'numbers':
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'number')) throw bad('a list of numbers');
      break;
  }
}
