// CPU twins of the fused elementwise kernels (same formulas as wgsl.ts, double arithmetic).
import { tf, type TensorInfo } from '../../tf.ts';
import { cpuOutput, cpuValues, requireFloat32 } from '../kernel-util.ts';

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown };

/** erf by Abramowitz-Stegun 7.1.26, as the WGSL and tfjs' Erf kernel */
export function erfAS(x: number): number {
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-a * a));
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

const UNARY: Record<string, (x: number) => number> = {
  SsmvGelu: (x) => 0.5 * x * (1 + erfAS(x * Math.SQRT1_2)),
  SsmvSilu: (x) => x * sigmoid(x),
};

const GRAD: Record<string, (dy: number, x: number) => number> = {
  SsmvGeluGrad: (dy, x) => dy * (0.5 * (1 + erfAS(x * Math.SQRT1_2)) + x * 0.3989422804014327 * Math.exp(-0.5 * x * x)),
  SsmvSiluGrad: (dy, x) => {
    const s = sigmoid(x);
    return dy * s * (1 + x * (1 - s));
  },
};

export function unaryCpu(name: string) {
  const f = UNARY[name];
  return ({ inputs, backend }: Args): TensorInfo => {
    const { x } = inputs as Record<string, TensorInfo>;
    requireFloat32(name, { x });
    const X = cpuValues(backend, x);
    const y = new Float32Array(X.length);
    for (let i = 0; i < X.length; i++) y[i] = f(X[i]);
    return cpuOutput(backend, x.shape, y);
  };
}

export function gradCpu(name: string) {
  const f = GRAD[name];
  return ({ inputs, backend }: Args): TensorInfo => {
    const { dy, x } = inputs as Record<string, TensorInfo>;
    requireFloat32(name, { dy, x });
    const D = cpuValues(backend, dy), X = cpuValues(backend, x);
    const out = new Float32Array(X.length);
    for (let i = 0; i < X.length; i++) out[i] = f(D[i], X[i]);
    return cpuOutput(backend, x.shape, out);
  };
}

/** x + branch * scale[b] (branch = null: a * scale[b]) over rows of n / B elements */
export function rowScaleCpu(residual: boolean) {
  return ({ inputs, backend }: Args): TensorInfo => {
    const ins = inputs as Record<string, TensorInfo>;
    const a = residual ? ins.branch : ins.a;
    requireFloat32('rowScale', { a, scale: ins.scale });
    const A = cpuValues(backend, a), S = cpuValues(backend, ins.scale);
    const X = residual ? cpuValues(backend, ins.x) : null;
    const rowLen = A.length / S.length;
    const out = new Float32Array(A.length);
    for (let i = 0; i < A.length; i++) out[i] = (X ? X[i] : 0) + A[i] * S[Math.floor(i / rowLen)];
    return cpuOutput(backend, a.shape, out);
  };
}
