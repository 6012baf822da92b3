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
  run(samples: Sample[], rng: Rng): Promise<Item>;
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
