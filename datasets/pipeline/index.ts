// buildPipeline(spec): the per-sample transform a worker (or the loader itself) runs.
// `partners(rng)` says how many other samples an item needs (mosaic); the loader picks them with
// the same per-item generator, then `run([sample, ...partners], rng)` continues that generator,
// so the in-process and worker paths produce identical items.
import type { Rng } from '../../core/rng.ts';
import type { Item, Sample } from '../types.ts';
import { classifyEvalRunner, classifyTrainRunner } from './classify.ts';
import { detectEvalRunner, detectTrainRunner } from './detect.ts';
import { segmentEvalRunner, segmentTrainRunner } from './segment.ts';
import { validateSpec, type PipelineSpec } from './spec.ts';

export interface Pipeline {
  readonly spec: PipelineSpec;
  partners(rng: Rng): number;
  /**
   * `out`, when given, is where the normalised (H, W, 3) image may be written (the item's slot in
   * the batch: no per-item array and no copy when collating). A pipeline that does not use it
   * returns an image of its own; callers check `item.image === out`.
   */
  run(samples: Sample[], rng: Rng, out?: Float32Array): Promise<Item>;
}

/**
 * [H, W] of every image a pipeline produces, when the spec fixes it and the pipeline writes into
 * the `out` slot it is given (classification); null otherwise (the loader then collates by copying).
 */
export function fixedOutputSize(spec: PipelineSpec): [number, number] | null {
  return spec.kind === 'classify-train' || spec.kind === 'classify-eval' ? [spec.size, spec.size] : null;
}

export function buildPipeline(spec: PipelineSpec): Pipeline {
  validateSpec(spec);
  const none = () => 0;
  switch (spec.kind) {
    case 'classify-train': return { spec, partners: none, run: classifyTrainRunner(spec) };
    case 'classify-eval': return { spec, partners: none, run: classifyEvalRunner(spec) };
    case 'detect-train': {
      const r = detectTrainRunner(spec);
      return { spec, partners: r.partners, run: r.run };
    }
    case 'detect-eval': return { spec, partners: none, run: detectEvalRunner(spec) };
    case 'segment-train': return { spec, partners: none, run: segmentTrainRunner(spec) };
    case 'segment-eval': return { spec, partners: none, run: segmentEvalRunner(spec) };
    default: throw new Error(`unknown pipeline kind '${(spec as { kind: string }).kind}'`);
  }
}

export * from './spec.ts';
