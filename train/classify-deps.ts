// The real wiring of trainClassifier: models from the backbone registry, data from datasets/
// (ImageFolder + worker-pool loader), initial weights through core/io/checkpoint.ts (.pth or
// .safetensors, strict, naming the first mismatch).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createModel, backbones } from '../backbones/index.ts';
import { loadCheckpoint, readCheckpointInfo } from '../core/io/checkpoint.ts';
import type { Module } from '../core/nn/module.ts';
import type { Classifier } from './evaluate.ts';
import type { ClassifyDeps } from './classify.ts';
import { openClassifyData } from './classify-data.ts';

/** Loads weights strictly; a file of another model or class count gets a message saying so. */
export function loadWeightsStrict(model: Module, path: string, modelName: string, opts: { ema?: boolean } = {}): void {
  if (!existsSync(path)) throw new Error(`weights: file '${path}' does not exist`);
  let savedFor: string | undefined;
  try {
    savedFor = readCheckpointInfo(path).metadata?.model;
  } catch {
    // unreadable: loadCheckpoint below reports it with the file's name
  }
  try {
    loadCheckpoint(model, path, { strict: true, ema: opts.ema });
  } catch (e) {
    const other = savedFor && savedFor !== modelName ? ` It was saved from model '${savedFor}'.` : '';
    throw new Error(`weights: '${path}' does not fit model '${modelName}': ${(e as Error).message}.${other}`);
  }
}

export function registryDeps(cores = availableParallelism()): ClassifyDeps {
  return {
    createModel: (name, kwargs) => {
      backbones.get(name.split('.')[0]); // unknown name: "did you mean"
      return createModel(name, kwargs) as unknown as Classifier;
    },
    openData: (cfg) => openClassifyData(cfg, cores),
    loadWeights: (model, path, name) => loadWeightsStrict(model, path, name),
  };
}
