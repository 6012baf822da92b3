// Per-kernel time breakdown of one step. webgpu: GPU timestamps around every dispatch (tfjs programs,
// core/kernels dispatches and the selective-scan kernels), grouped by program name; cpu (and other
// backends): tf.profile's per-kernel wall time, grouped by kernel name.
import { tf, type Tensor } from '../../core/tf.ts';
import { startGpuProfile, stopGpuProfile, type DispatchTime } from '../../core/kernels/gpu-profiler.ts';

export interface BreakdownRow {
  /** program (webgpu) or kernel (cpu) name; with `shape`, one output shape of it */
  name: string;
  shape?: string;
  ms: number;
  calls: number;
  /** share of the step's summed kernel time */
  share: number;
}

export interface Breakdown {
  /** 'gpu-timestamps' | 'tf.profile' */
  source: string;
  /** summed kernel time of the step (ms) */
  totalMs: number;
  dispatches: number;
  byName: BreakdownRow[];
  byShape: BreakdownRow[];
}

function group(items: Array<{ name: string; shape?: string; ms: number }>, withShape: boolean): BreakdownRow[] {
  const total = items.reduce((a, b) => a + b.ms, 0) || 1;
  const m = new Map<string, BreakdownRow>();
  for (const it of items) {
    const key = withShape ? `${it.name} ${it.shape ?? ''}` : it.name;
    let r = m.get(key);
    if (!r) m.set(key, (r = { name: it.name, ...(withShape ? { shape: it.shape ?? '' } : {}), ms: 0, calls: 0, share: 0 }));
    r.ms += it.ms;
    r.calls++;
  }
  const rows = [...m.values()].sort((a, b) => b.ms - a.ms);
  for (const r of rows) r.share = r.ms / total;
  return rows;
}

function summarise(source: string, items: Array<{ name: string; shape?: string; ms: number }>): Breakdown {
  return {
    source,
    totalMs: items.reduce((a, b) => a + b.ms, 0),
    dispatches: items.length,
    byName: group(items, false),
    byShape: group(items, true),
  };
}

/** Runs `step` once under the profiler; `step` returns tensors to dispose (they are awaited first). */
export async function profileStep(step: () => Tensor | Tensor[]): Promise<Breakdown> {
  const backend = tf.backend();
  if (tf.getBackend() === 'webgpu') {
    if (!startGpuProfile(backend)) throw new Error('profile: this WebGPU device has no timestamp-query feature (per-kernel times unavailable); run with profile=false');
    let ours: DispatchTime[] = [];
    try {
      const out = step();
      const list = Array.isArray(out) ? out : [out];
      ours = await stopGpuProfile(backend);
      tf.dispose(list);
    } finally {
      await stopGpuProfile(backend);
    }
    return summarise('gpu-timestamps', ours.map((d) => ({ name: d.label, shape: d.shape, ms: d.ms })));
  }
  const info = await tf.profile(() => step());
  const items = info.kernels.map((k) => ({ name: k.name, shape: `[${(k.outputShapes[0] ?? []).join(',')}]`, ms: Number(k.kernelTimeMs) || 0 }));
  tf.dispose(info.result as Tensor | Tensor[]);
  return summarise('tf.profile', items);
}
