// Dataset registry: imagefolder, coco, voc, ade20k, yolo-yaml, synthetic.
import { Registry } from '../core/registry.ts';

export interface DatasetEntry {
  description: string;
  create(...args: unknown[]): unknown;
}

export const datasets = new Registry<DatasetEntry>('dataset');
