// Backbone registry: `<family>_<size>` names (timm style) -> a factory of the model.
import { Registry } from '../core/registry.ts';

export interface BackboneEntry {
  family: string;
  /** builds the model; `overrides` are official constructor keyword arguments */
  create(overrides?: Record<string, unknown>): unknown;
  /** the variant's resolved config (official keyword names) */
  config: Record<string, unknown>;
  /** parameter count of the official constructor, when known */
  officialParams?: number;
}

export const backbones = new Registry<BackboneEntry>('backbone');
