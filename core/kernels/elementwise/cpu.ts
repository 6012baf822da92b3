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

/** sigmoid with one exp: e = exp(-|x|) never overflows */
function sigmoid(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

// One loop function per kernel (not one loop calling a per-kernel function): each body is inlined
// into its own loop. GELU's gradient shares exp(-x^2/2) between erf and the normal density.
type UnaryLoop = (X: Float32Array, y: Float32Array) => void;
type GradLoop = (D: Float32Array, X: Float32Array, out: Float32Array) => void;

const UNARY: Record<string, UnaryLoop> = {
  SsmvGelu: (X, y) => {
    for (let i = 0; i < X.length; i++) {
      const x = X[i];
      y[i] = 0.5 * x * (1 + erfAS(x * Math.SQRT1_2));
    }
  },
  SsmvSilu: (X, y) => {
    for (let i = 0; i < X.length; i++) {
      const x = X[i];
      y[i] = x * sigmoid(x);
    }
  },
};

const GRAD: Record<string, GradLoop> = {
  SsmvGeluGrad: (D, X, out) => {
    for (let i = 0; i < X.length; i++) {
      const x = X[i];
      const a = Math.abs(x * Math.SQRT1_2);
      const e = Math.exp(-a * a); // exp(-x^2/2)
      const t = 1 / (1 + 0.3275911 * a);
      const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
      const erf = Math.sign(x) * (1 - poly * e); // erfAS(x / sqrt 2)
      out[i] = D[i] * (0.5 * (1 + erf) + x * 0.3989422804014327 * e);
    }
  },
  SsmvSiluGrad: (D, X, out) => {
    for (let i = 0; i < X.length; i++) {
      const x = X[i];
      const s = sigmoid(x);
      out[i] = D[i] * s * (1 + x * (1 - s));
    }
  },
};

export function unaryCpu(name: string) {
  const loop = UNARY[name];
  return ({ inputs, backend }: Args): TensorInfo => {
    const { x } = inputs as Record<string, TensorInfo>;
    requireFloat32(name, { x });
    const X = cpuValues(backend, x);
    const y = new Float32Array(X.length);
    loop(X, y);
    return cpuOutput(backend, x.shape, y);
  };
}

export function gradCpu(name: string) {
  const loop = GRAD[name];
  return ({ inputs, backend }: Args): TensorInfo => {
    const { dy, x } = inputs as Record<string, TensorInfo>;
    requireFloat32(name, { dy, x });
    const D = cpuValues(backend, dy), X = cpuValues(backend, x);
    const out = new Float32Array(X.length);
    loop(D, X, out);
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
    for (let r = 0, i = 0; r < S.length; r++) {
      const sr = S[r];
      const end = i + rowLen;
      if (X) for (; i < end; i++) out[i] = X[i] + A[i] * sr;
      else for (; i < end; i++) out[i] = 0 + A[i] * sr;
    }
    return cpuOutput(backend, a.shape, out);
  };
}
