// CPU twins of the LayerNorm kernels: loops over rows (double accumulation, float32 storage).
import { tf, type TensorInfo } from '../../tf.ts';
import { cpuOutput, cpuValues, requireFloat32 } from '../kernel-util.ts';
import type { LayerNormAttrs } from './layer-norm.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

export function layerNormCpu({ inputs, backend, attrs }: Args): TensorInfo[] {
  const { x, gamma, beta } = inputs as Record<string, TensorInfo>;
  requireFloat32('layerNorm(cpu)', { x, gamma, beta });
  const { eps } = attrs as unknown as LayerNormAttrs;
  const X = cpuValues(backend, x), G = cpuValues(backend, gamma), Bt = cpuValues(backend, beta);
  const C = x.shape[x.shape.length - 1];
  const R = X.length / C;
  const y = new Float32Array(X.length), mean = new Float32Array(R), rstd = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += X[o + c];
    const mu = Math.fround(s / C);
    let q = 0;
    for (let c = 0; c < C; c++) {
      const d = X[o + c] - mu;
      q += d * d;
    }
    const rs = Math.fround(1 / Math.sqrt(Math.fround(q / C) + eps));
    for (let c = 0; c < C; c++) y[o + c] = (X[o + c] - mu) * rs * G[c] + Bt[c];
    mean[r] = mu;
    rstd[r] = rs;
  }
  const rows = x.shape.slice(0, -1);
  return [cpuOutput(backend, x.shape, y), cpuOutput(backend, rows, mean), cpuOutput(backend, rows, rstd)];
}

export function layerNormGradCpu({ inputs, backend }: Args): TensorInfo[] {
  const { dy, x, gamma, mean, rstd } = inputs as Record<string, TensorInfo>;
  requireFloat32('layerNormGrad(cpu)', { dy, x, gamma, mean, rstd });
  const DY = cpuValues(backend, dy), X = cpuValues(backend, x), G = cpuValues(backend, gamma);
  const M = cpuValues(backend, mean), RS = cpuValues(backend, rstd);
  const C = x.shape[x.shape.length - 1];
  const R = X.length / C;
  const dx = new Float32Array(X.length);
  const dg = new Float64Array(C), db = new Float64Array(C);
  const xhat = new Float64Array(C), g = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const mu = M[r], rs = RS[r];
    let s1 = 0, s2 = 0;
    for (let c = 0; c < C; c++) {
      const xh = (X[o + c] - mu) * rs;
      const gc = DY[o + c] * G[c];
      xhat[c] = xh;
      g[c] = gc;
      s1 += gc;
      s2 += gc * xh;
      dg[c] += DY[o + c] * xh;
      db[c] += DY[o + c];
    }
    const m1 = s1 / C, m2 = s2 / C;
    for (let c = 0; c < C; c++) dx[o + c] = rs * (g[c] - m1 - xhat[c] * m2);
  }
  return [cpuOutput(backend, x.shape, dx), cpuOutput(backend, [C], Float32Array.from(dg)), cpuOutput(backend, [C], Float32Array.from(db))];
}
