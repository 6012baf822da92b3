// Registers every dataset loader (side-effect imports) and re-exports the data API.
import './imagefolder.ts';
import './coco.ts';
import './voc.ts';
import './ade20k.ts';
import './yolo.ts';

export { datasets, openDataset, type DatasetEntry } from './registry.ts';
export type * from './types.ts';
export { DataError, SampleError } from './common.ts';
export { DataLoader, formatReport, type LoaderOptions, type EpochReport, type SkippedSample } from './loader.ts';
export { buildPipeline, type Pipeline } from './pipeline/index.ts';
export * as pipelines from './pipeline/spec.ts';
export type { PipelineSpec } from './pipeline/spec.ts';
export { Mixup, type MixupOptions } from './transforms/mixup.ts';
export { IMAGENET_MEAN, IMAGENET_STD } from './transforms/color.ts';
export { epochIndices, toBatches, mixSeed } from './sampler.ts';
export { writeSynthetic, type SynthOptions, type SynthResult } from './synth/write.ts';
export { parseYaml, YamlError } from './io/yaml.ts';
export { parseXml, XmlError } from './io/xml.ts';
export { decodeIndexPng, encodeIndexPng } from './io/png.ts';
export { rasterizePolygons, polygonArea } from './io/polygon.ts';
export { openImageFolder } from './imagefolder.ts';
export { openCoco } from './coco.ts';
export { openVoc, VOC_CLASSES } from './voc.ts';
export { openAde20k, ADE20K_CLASSES } from './ade20k.ts';
export { openYolo, readDataYaml } from './yolo.ts';
