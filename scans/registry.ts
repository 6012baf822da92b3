// Scan-strategy registry: one file per strategy, `scans/<name>.ts`, registered under its file name.
import { Registry } from '../core/registry.ts';
import type { ScanPlan } from './plan.ts';

export interface ScanStrategy {
  readonly name: string;
  /** paper and upstream code it follows */
  readonly paper: string;
  readonly upstream: string;
  readonly description: string;
  /** index tables for an H x W map (cached per size and options) */
  plan(H: number, W: number, options?: Record<string, unknown>): ScanPlan;
}

export const scans = new Registry<ScanStrategy>('scan');
