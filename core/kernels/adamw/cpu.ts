// CPU twin of the fused AdamW kernel: one loop, float32 storage (Math.fround per stored value).
import { tf, type TensorInfo } from '../../tf.ts';
import { cpuOutput, cpuValues, requireFloat32 } from '../kernel-util.ts';
import type { AdamWStepAttrs } from './adamw.ts';

export function adamwCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo[] {
  const { p, g, m, v } = inputs as Record<string, TensorInfo>;
  requireFloat32('adamw(cpu)', { p, g, m, v });
  const a = attrs as unknown as AdamWStepAttrs;
  const P = cpuValues(backend, p), G = cpuValues(backend, g), M = cpuValues(backend, m), V = cpuValues(backend, v);
  const n = P.length;
  const po = new Float32Array(n), mo = new Float32Array(n), vo = new Float32Array(n);
  const f = Math.fround;
  const b1 = f(a.beta1), b2 = f(a.beta2), c1 = f(1 - a.beta1), c2 = f(1 - a.beta2);
  for (let i = 0; i < n; i++) {
    const gi = G[i];
    const m1 = f(f(b1 * M[i]) + f(c1 * gi));
    const v1 = f(f(b2 * V[i]) + f(c2 * f(gi * gi)));
    const denom = f(f(Math.sqrt(v1) / a.bc2Sqrt) + a.eps);
    po[i] = f(P[i] * a.decay) - f(a.stepSize * f(m1 / denom));
    mo[i] = m1;
    vo[i] = v1;
  }
  return [cpuOutput(backend, p.shape, po), cpuOutput(backend, p.shape, mo), cpuOutput(backend, p.shape, vo)];
}
