// Head registry: classifier, FPN + Mask R-CNN, UperNet, YOLO detect.
import { Registry } from '../core/registry.ts';

export interface HeadEntry {
  description: string;
  create(...args: unknown[]): unknown;
}

export const heads = new Registry<HeadEntry>('head');
