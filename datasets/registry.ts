// Dataset registry: imagefolder, coco, voc, ade20k, yolo (one file each, file name = registered
// name). `openDataset(name, options)` checks the option keys (unknown keys fail with "did you mean").
import { Registry, closeMatches } from '../core/registry.ts';
import type { Dataset, Task } from './types.ts';

export interface DatasetEntry {
  description: string;
  task: Task;
  /** option keys `open` reads, with one line of help each */
  options: Record<string, string>;
  open(options: Record<string, unknown>): Promise<Dataset>;
}

export const datasets = new Registry<DatasetEntry>('dataset');

export async function openDataset(name: string, options: Record<string, unknown>): Promise<Dataset> {
  const entry = datasets.get(name);
  for (const k of Object.keys(options)) {
    if (!(k in entry.options)) {
      const near = closeMatches(k, Object.keys(entry.options));
      throw new Error(`dataset '${name}': unknown option '${k}'` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `; options: ${Object.keys(entry.options).join(', ')}`);
    }
  }
  return entry.open(options);
}

/** Reads a required string option. */
export function strOpt(name: string, o: Record<string, unknown>, key: string, fallback?: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== 'string' || !v) throw new Error(`dataset '${name}': option '${key}' must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

export function boolOpt(name: string, o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key] ?? fallback;
  if (typeof v !== 'boolean') throw new Error(`dataset '${name}': option '${key}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function listOpt(name: string, o: Record<string, unknown>, key: string): string[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`dataset '${name}': option '${key}' must be a list of strings`);
  return v as string[];
}
