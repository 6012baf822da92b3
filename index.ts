// ssm-vision public API: everything a user needs is importable from the package root.
export { tf } from './core/tf.ts';
export { setBackend, backendInfo, releaseGpu, BACKEND_NAMES } from './core/backend.ts';
export type { BackendName, BackendInfo, AdapterSummary } from './core/backend.ts';
export { Registry, closeMatches } from './core/registry.ts';
export { Rng, globalRng, manualSeed } from './core/rng.ts';
export * as nn from './core/nn/index.ts';
export { readSafetensors, parseSafetensors, writeSafetensors, encodeSafetensors } from './core/io/safetensors.ts';
export type { TensorRecord, StateDict } from './core/io/tensor-record.ts';
export { readCheckpoint, readCheckpointInfo, loadCheckpoint } from './core/io/checkpoint.ts';
export type { ReadCheckpointOptions, LoadCheckpointOptions, LoadCheckpointResult, CheckpointInfo, CheckpointFilter, KeyMap } from './core/io/checkpoint.ts';
export { readPth, readPthInfo, torchLoad, loadTorchFile } from './core/io/pth.ts';
export type { ScanPlan, MergeRule } from './scans/plan.ts';
export { scans } from './scans/index.ts';
export { selectiveScan, selectiveScanReference, useReferenceScanOn, type SelectiveScanInputs, type SelectiveScanOptions } from './scans/kernel/selective-scan/index.ts';
export { backbones } from './backbones/index.ts';
export { heads } from './heads/index.ts';
export { datasets } from './datasets/index.ts';
export * from './eval/metrics.ts';
