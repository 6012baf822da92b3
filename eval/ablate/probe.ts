// Which scans a backbone takes, asked of the family itself: build the model with the scan and run one
// forward at the training size (some refusals depend on the map size: a window larger than the map,
// a route that needs two positions). The refusal message is the family's own. The same forward,
// profiled, gives the FLOPs (eval/flops.ts, fvcore convention) at imgsz, and at 224 when asked.
import { tf } from '../../core/tf.ts';
import { createModel, backbones, families } from '../../backbones/index.ts';
import { scans } from '../../scans/index.ts';
import { closeMatches } from '../../core/registry.ts';
import { countFlops } from '../flops.ts';
import type { Backbone } from '../../backbones/backbone.ts';
import { NO_SCAN } from './config.ts';

/** Does the family take a `scan` keyword at all? (MambaOut has no SSM; Vim's scans are fixed.) */
export function familyTakesScan(model: string): boolean {
  const entry = backbones.get(model.split('.')[0]);
  return 'scan' in families.get(entry.family).defaults;
}

export function familyOf(model: string): string {
  return backbones.get(model.split('.')[0]).family;
}

/** The scans of one model's rows: the given list, or every registered one ('none' for scan-less families). */
export function scansFor(model: string, given: readonly string[]): string[] {
  if (given.length) return [...given];
  return familyTakesScan(model) ? scans.names() : [NO_SCAN];
}

/** Unknown backbone or scan names fail before anything runs, with close matches. */
export function checkNames(models: readonly string[], given: readonly string[]): void {
  for (const m of models) {
    try {
      backbones.get(m.split('.')[0]);
    } catch (e) {
      throw new Error(`model: ${(e as Error).message}`);
    }
  }
  const known = [...scans.names(), NO_SCAN];
  for (const s of given) {
    if (known.includes(s)) continue;
    const near = closeMatches(s, known);
    throw new Error(`scans: unknown scan strategy '${s}'` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `; registered: ${scans.names().join(', ')} (or '${NO_SCAN}': the model as registered)`);
  }
}

/** createModel with the row's scan ('none': no override) */
export function buildModel(model: string, scan: string, numClasses: number, extra: Record<string, unknown> = {}): Backbone {
  return createModel(model, { ...extra, num_classes: numClasses, ...(scan === NO_SCAN ? {} : { scan }) });
}

export interface ProbeResult {
  accepted: boolean;
  reason?: string;
  params?: number;
  flops?: number;
  flops224?: number | null;
  directions?: number | null;
  /** the first stage's map at imgsz (where the scan-path pictures are drawn) */
  firstMap?: [number, number];
}

export async function probeScan(model: string, scan: string, numClasses: number, imgsz: number, flops224: boolean): Promise<ProbeResult> {
  let m: Backbone;
  try {
    m = buildModel(model, scan, numClasses);
  } catch (e) {
    return { accepted: false, reason: (e as Error).message };
  }
  try {
    m.eval();
    const count = async (size: number) => {
      const x = tf.zeros([1, size, size, 3]);
      try {
        const f = await countFlops(() => {
          const y = m.forward(x);
          if (y.rank !== 2 || y.shape[1] !== numClasses) throw new Error(`'${model}' is not a classifier here: forward gives shape [${y.shape.join(', ')}], expected [1, ${numClasses}]`);
          return y;
        });
        return f.total;
      } finally {
        x.dispose();
      }
    };
    let flops: number;
    try {
      flops = await count(imgsz);
    } catch (e) {
      return { accepted: false, reason: `at imgsz=${imgsz}: ${(e as Error).message}` };
    }
    let f224: number | null = null;
    if (flops224) {
      try {
        f224 = imgsz === 224 ? flops : await count(224);
      } catch {
        f224 = null; // the model runs at imgsz but not at 224 (e.g. a fixed position embedding): no number
      }
    }
    const r = m.featureInfo[0]?.reduction ?? 4;
    return {
      accepted: true, params: m.numParams(), flops, flops224: f224,
      directions: scan === NO_SCAN ? null : scans.get(scan).directions(),
      firstMap: [Math.ceil(imgsz / r), Math.ceil(imgsz / r)],
    };
  } finally {
    m.dispose();
  }
}
