// CPU kernels of the selective scan: plain loops over the typed arrays of tfjs' cpu backend, state
// and sums in float64 (JS numbers). One (batch, channel) sequence at a time; the plan is walked
// through its index table (no gathered copies); the backward keeps the per-step decay/input of one
// sequence (L*N) and runs the adjoint recurrence in reverse (models.md 1.3, LBMamba 6.5).
import { tf } from '../../../core/tf.ts';
import type { ScanAttrs, ScanGeometry } from './types.ts';
import { SCAN_GRAD_KERNEL, SCAN_KERNEL, channelMaps } from './types.ts';
import { outputShape } from './validate.ts';

type Values = Float32Array | Int32Array;
interface CpuBackend {
  data: { get(id: object): { values: Values } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

const softplusOf = (x: number) => (x <= 20 ? Math.log1p(Math.exp(x)) : x);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Reads of one (batch, channel) sequence: position, u, raw dt input, dt, B and C rows at each step. */
interface Sequence {
  pos: Int32Array; // (L) map position or -1
  u: Float64Array; // (L)
  x: Float64Array; // (L) delta + bias
  dt: Float64Array; // (L)
  a: Float64Array; // (L*N) exp(dt*A)
  Bv: Float64Array; // (L*N)
  Cv: Float64Array; // (L*N)
}

function makeSequence(g: ScanGeometry): Sequence {
  return {
    pos: new Int32Array(g.L), u: new Float64Array(g.L), x: new Float64Array(g.L), dt: new Float64Array(g.L),
    a: new Float64Array(g.L * g.N), Bv: new Float64Array(g.L * g.N), Cv: new Float64Array(g.L * g.N),
  };
}

interface Arrays {
  u: Values; delta: Values; A: Values; B: Values; C: Values; D: Values; bias: Values; index: Values;
}

function loadSequence(s: Sequence, g: ScanGeometry, v: Arrays, b: number, c: number): void {
  const { L, N, P } = g;
  const m = channelMaps(g);
  const k = m.dirOf(c);
  const grp = m.groupOf(c);
  const uBase = (b * (g.uShared ? g.channels / g.K : g.channels) + m.uRowOf(c)) * P;
  const dBase = (b * g.channels + c) * P;
  const bcBase = (b * g.G + grp) * N * P;
  const bias = v.bias[c];
  for (let t = 0; t < L; t++) {
    const p = g.mode === 'direct' ? t : v.index[k * L + t];
    s.pos[t] = p;
    const uv = p >= 0 ? v.u[uBase + p] : 0;
    const x = (p >= 0 ? v.delta[dBase + p] : 0) + bias;
    const dt = g.deltaSoftplus ? softplusOf(x) : x;
    s.u[t] = uv;
    s.x[t] = x;
    s.dt[t] = dt;
    for (let n = 0; n < N; n++) {
      s.a[t * N + n] = Math.exp(dt * v.A[c * N + n]);
      s.Bv[t * N + n] = p >= 0 ? v.B[bcBase + n * P + p] : 0;
      s.Cv[t * N + n] = p >= 0 ? v.C[bcBase + n * P + p] : 0;
    }
  }
}

/** Forward states of one sequence: hf (L*N), and hb (L*N) for the local backward windows. */
function states(s: Sequence, g: ScanGeometry, hf: Float64Array, hb: Float64Array | null): void {
  const { L, N } = g;
  for (let n = 0; n < N; n++) {
    let h = 0;
    for (let t = 0; t < L; t++) {
      const i = t * N + n;
      h = s.a[i] * h + s.dt[t] * s.Bv[i] * s.u[t];
      hf[i] = h;
    }
    if (!hb) continue;
    const w = g.localBackward;
    for (let st = 0; st < L; st += w) {
      const e = Math.min(st + w, L);
      let hbv = 0;
      hb[(e - 1) * N + n] = 0;
      for (let t = e - 2; t >= st; t--) {
        const i = t * N + n;
        const j = i + N; // step t+1
        hbv = s.a[i] * (s.dt[t + 1] * s.Bv[j] * s.u[t + 1] + hbv);
        hb[i] = hbv;
      }
    }
  }
}

function getArrays(backend: CpuBackend, inputs: tf.NamedTensorInfoMap): Arrays {
  const get = (name: string) => backend.data.get(inputs[name]!.dataId).values;
  return {
    u: get('u'), delta: get('delta'), A: get('A'), B: get('B'), C: get('C'), D: get('D'), bias: get('deltaBias'), index: get('index'),
  };
}

function forwardCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): tf.TensorInfo[] {
  const cpu = backend as CpuBackend;
  const g = attrs as unknown as ScanAttrs;
  const v = getArrays(cpu, inputs);
  const shape = outputShape(g);
  const out = new Float32Array(shape[0] * shape[1] * shape[2]);
  const { L, N, P } = g;
  const m = channelMaps(g);
  const s = makeSequence(g);
  const hf = new Float64Array(L * N);
  const hb = g.localBackward > 0 ? new Float64Array(L * N) : null;
  const acc = g.mode === 'sum' ? new Float64Array(g.batch * g.outRows * P) : null;
  for (let b = 0; b < g.batch; b++) {
    for (let c = 0; c < g.channels; c++) {
      loadSequence(s, g, v, b, c);
      states(s, g, hf, hb);
      const Dc = v.D[c];
      const oBase = (b * g.outRows + m.outRowOf(c)) * (g.mode === 'direct' ? L : P);
      for (let t = 0; t < L; t++) {
        const p = s.pos[t];
        if (p < 0) continue; // zero token: output dropped
        let y = Dc * s.u[t];
        for (let n = 0; n < N; n++) {
          const i = t * N + n;
          y += s.Cv[i] * (hb ? hf[i] + hb[i] : hf[i]);
        }
        if (acc) acc[oBase + p] += y;
        else out[oBase + p] = y;
      }
    }
  }
  if (acc) out.set(acc);
  // Second output: chunk-boundary states, used by the webgpu backward; the cpu backward recomputes.
  return [cpu.makeTensorInfo(shape, 'float32', out), cpu.makeTensorInfo([0], 'float32', new Float32Array(0))];
}

/**
 * Gradient of sum(y * dy) w.r.t. u, delta, B, C (full tensors) and the per-batch partials of A, D
 * and deltaBias packed as (batch, channels, N + 2): [dA(N), dD, dDeltaBias] (summed over batch by the caller).
 */
function backwardCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): tf.TensorInfo[] {
  const cpu = backend as CpuBackend;
  const g = attrs as unknown as ScanAttrs;
  const v = getArrays(cpu, inputs);
  const dy = cpu.data.get(inputs.dy!.dataId).values;
  const { L, N, P, batch, channels } = g;
  const m = channelMaps(g);
  const uRows = g.uShared ? channels / g.K : channels;
  const du = new Float64Array(batch * uRows * P);
  const ddelta = new Float64Array(batch * channels * P);
  const dB = new Float64Array(batch * g.G * N * P);
  const dC = new Float64Array(batch * g.G * N * P);
  const dParams = new Float32Array(batch * channels * (N + 2));
  const s = makeSequence(g);
  const hf = new Float64Array(L * N);
  const hb = g.localBackward > 0 ? new Float64Array(L * N) : null;
  const da = new Float64Array(L * N);
  const db = new Float64Array(L * N);
  const dyv = new Float64Array(L);
  const w = g.localBackward;
  const outLen = g.mode === 'direct' ? L : P;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      loadSequence(s, g, v, b, c);
      states(s, g, hf, hb);
      const grp = m.groupOf(c);
      const oBase = (b * g.outRows + m.outRowOf(c)) * outLen;
      for (let t = 0; t < L; t++) dyv[t] = s.pos[t] >= 0 ? dy[oBase + s.pos[t]] : 0;
      const bcBase = (b * g.G + grp) * N * P;
      const pBase = (b * channels + c) * (N + 2);
      for (let n = 0; n < N; n++) {
        // Forward-path adjoint, reverse in t: gf_t = dy_t C_t + a_{t+1} gf_{t+1}; da_t = gf_t h_{t-1}, db_t = gf_t.
        let gf = 0;
        for (let t = L - 1; t >= 0; t--) {
          const i = t * N + n;
          gf = dyv[t] * s.Cv[i] + (t + 1 < L ? s.a[i + N] * gf : 0);
          da[i] = gf * (t > 0 ? hf[i - N] : 0);
          db[i] = gf;
        }
        if (hb) {
          // Backward-path adjoint, forward in t inside each window: gb_t = G_t + a_{t-1} gb_{t-1};
          // hb_{t} = a_t (b_{t+1} + hb_{t+1}) sends gb_t * (b_{t+1} + hb_{t+1}) to a_t and a_t gb_t to b_{t+1}.
          for (let st = 0; st < L; st += w) {
            const e = Math.min(st + w, L);
            let gb = 0;
            for (let t = st; t < e; t++) {
              const i = t * N + n;
              if (t > st) db[i] += s.a[i - N] * gb;
              gb = dyv[t] * s.Cv[i] + (t > st ? s.a[i - N] * gb : 0);
              if (t + 1 < e) da[i] += gb * (s.dt[t + 1] * s.Bv[i + N] * s.u[t + 1] + hb[i + N]);
            }
          }
        }
      }
      let dD = 0;
      let dBias = 0;
      const dAn = new Float64Array(N);
      for (let t = 0; t < L; t++) {
        const p = s.pos[t];
        const dt = s.dt[t];
        const uv = s.u[t];
        let ddt = 0;
        let duv = v.D[c] * dyv[t];
        for (let n = 0; n < N; n++) {
          const i = t * N + n;
          const An = v.A[c * N + n];
          ddt += da[i] * s.a[i] * An + db[i] * s.Bv[i] * uv;
          dAn[n] += da[i] * s.a[i] * dt;
          duv += db[i] * dt * s.Bv[i];
          if (p >= 0) {
            dB[bcBase + n * P + p] += db[i] * dt * uv;
            dC[bcBase + n * P + p] += dyv[t] * (hb ? hf[i] + hb[i] : hf[i]);
          }
        }
        dD += dyv[t] * uv;
        const dx = g.deltaSoftplus ? (s.x[t] <= 20 ? ddt * sigmoid(s.x[t]) : ddt) : ddt;
        dBias += dx; // zero tokens too: their dt is softplus(bias)
        if (p >= 0) {
          ddelta[(b * channels + c) * P + p] += dx;
          du[(b * uRows + m.uRowOf(c)) * P + p] += duv;
        }
      }
      for (let n = 0; n < N; n++) dParams[pBase + n] = dAn[n];
      dParams[pBase + N] = dD;
      dParams[pBase + N + 1] = dBias;
    }
  }
  const f32 = (x: Float64Array) => Float32Array.from(x);
  return [
    cpu.makeTensorInfo([batch, uRows, P], 'float32', f32(du)),
    cpu.makeTensorInfo([batch, channels, P], 'float32', f32(ddelta)),
    cpu.makeTensorInfo([batch, g.G, N, P], 'float32', f32(dB)),
    cpu.makeTensorInfo([batch, g.G, N, P], 'float32', f32(dC)),
    cpu.makeTensorInfo([batch, channels, N + 2], 'float32', dParams),
  ];
}

export function registerCpuKernels(): void {
  tf.registerKernel({ kernelName: SCAN_KERNEL, backendName: 'cpu', kernelFunc: forwardCpu as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: SCAN_GRAD_KERNEL, backendName: 'cpu', kernelFunc: backwardCpu as unknown as tf.KernelFunc });
}
