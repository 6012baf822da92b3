// Head registry: classifier, FPN + Mask R-CNN, UperNet, YOLO detect.
import { Registry } from '../core/registry.ts';

export interface HeadEntry {
  description: string;
  create(...args: unknown[]): unknown;
  /** what `create` builds: 'neck' (features -> features), 'detector' / 'segmentor' (a backbone plus its heads) */
  kind?: 'neck' | 'detector' | 'segmentor' | 'classifier';
  /** the upstream file the port follows */
  upstream?: string;
  /** named configurations (the paper's setting, tiny ones for tests), merged under user keys */
  presets?: Record<string, Record<string, unknown>>;
}

export const heads = new Registry<HeadEntry>('head');
