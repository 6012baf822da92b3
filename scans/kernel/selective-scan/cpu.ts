// CPU kernels of the selective scan: plain loops over the typed arrays of tfjs' cpu backend, state
// and sums in float64 (JS numbers). One (batch, channel) sequence at a time; the plan is walked
// through its index table (no gathered copies).
// Without a local backward (every VMamba scan) forward and backward are fused single passes per
// sequence: the forward keeps h (N) only; the backward stores the decays and states of one sequence
// ((L+1)*N) in a forward pass, then runs the adjoint recurrence and every gradient sum in one
// reverse pass; N = 1 (VMamba v2) has its own scalar loops. exp(x) of the softplus also gives its
// derivative sigmoid(x) = e / (1 + e). All scratch is allocated once per call, and the geometry is
// read into plain numbers once: tsx names every closure created per sequence (Object.defineProperty),
// which cost more than the arithmetic at L = 1..64.
// With a local backward (LBMamba) the backward keeps the per-step decay/input of one sequence (L*N)
// and adds the windowed backward-path adjoint (models.md 1.3, LBMamba 6.5).
import { tf } from '../../../core/tf.ts';
import type { ScanAttrs, ScanGeometry } from './types.ts';
import { SCAN_GRAD_KERNEL, SCAN_KERNEL } from './types.ts';
import { outputShape } from './validate.ts';

type Values = Float32Array | Int32Array;
interface CpuBackend {
  data: { get(id: object): { values: Values } };
  makeTensorInfo(shape: number[], dtype: 'float32' | 'int32', values: Float32Array | Int32Array): tf.TensorInfo;
}

/** true while a gradient tape records (tf.grad, variableGrads, core/autograd): the backward will run. */
const recording = () => (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;

/**
 * Steps saved by the N = 1 forward for its backward, float64 per (batch, channel, step): dt, d dt / dx
 * (the softplus' sigmoid) and the decay exp(dt A), 3 numbers (SAVED) a step, computed exactly as the
 * backward would (same formulas and order): the backward reads them instead of its 3 transcendental
 * calls a step. Carried bit for bit as the forward's second output, an int32 view of the float64
 * buffer (that output is backend-private: the webgpu forward puts its chunk states there).
 */
const SAVED = 3;

const softplusOf = (x: number) => (x <= 20 ? Math.log1p(Math.exp(x)) : x);

interface Arrays {
  u: Values; delta: Values; A: Values; B: Values; C: Values; D: Values; bias: Values; index: Values;
}

/** The geometry as plain numbers, read once per call (kernel attrs are a generic object). */
interface Layout {
  batch: number; channels: number; N: number; L: number; P: number; G: number;
  /** channels per direction (D), channels per B/C group */
  Dk: number; perGroup: number;
  /** rows of u (D when shared by the directions, else K*D) and of y */
  uRows: number; outRows: number;
  /** length of one y row: L without a plan, P with one */
  outLen: number;
  direct: boolean; sum: boolean; uShared: boolean; softplus: boolean;
  /** LBMamba window, 0 when off */
  w: number;
}

function layoutOf(g: ScanGeometry): Layout {
  const Dk = g.channels / g.K;
  return {
    batch: g.batch, channels: g.channels, N: g.N, L: g.L, P: g.P, G: g.G, Dk, perGroup: g.channels / g.G,
    uRows: g.uShared ? Dk : g.channels, outRows: g.outRows, outLen: g.mode === 'direct' ? g.L : g.P,
    direct: g.mode === 'direct', sum: g.mode === 'sum', uShared: !!g.uShared, softplus: !!g.deltaSoftplus,
    w: g.localBackward,
  };
}

/** Row offsets of one (batch, channel) sequence, refilled in place. */
interface Rows {
  /** offset of direction k's row in the (K, L) index table */
  idx: number;
  /** u row, delta row (= ddelta row), B/C group block (N rows of P), y row */
  u: number; d: number; bc: number; o: number;
}

function rowsOf(l: Layout, b: number, c: number, r: Rows): void {
  const k = Math.floor(c / l.Dk);
  r.idx = k * l.L;
  r.u = (b * l.uRows + (l.uShared ? c % l.Dk : c)) * l.P;
  r.d = (b * l.channels + c) * l.P;
  r.bc = (b * l.G + Math.floor(c / l.perGroup)) * l.N * l.P;
  r.o = (b * l.outRows + (l.sum ? c % l.Dk : c)) * l.outLen;
}

const newRows = (): Rows => ({ idx: 0, u: 0, d: 0, bc: 0, o: 0 });

function getArrays(backend: CpuBackend, inputs: tf.NamedTensorInfoMap): Arrays {
  const get = (name: string) => backend.data.get(inputs[name]!.dataId).values;
  return {
    u: get('u'), delta: get('delta'), A: get('A'), B: get('B'), C: get('C'), D: get('D'), bias: get('deltaBias'), index: get('index'),
  };
}

// ---- forward -----------------------------------------------------------------------------------

/** y of one sequence, N = 1, no local backward: h and y in one pass. `y` is the output or the float64 sum. */
function forwardSeq1(v: Arrays, l: Layout, r: Rows, c: number, y: Float32Array | Float64Array, saved: Float64Array | null, sOff: number): void {
  const { L, direct, sum, softplus } = l;
  const { u, delta, B, C, index } = v;
  const A0 = v.A[c];
  const Dc = v.D[c];
  const bias = v.bias[c];
  let h = 0;
  for (let t = 0, q = sOff; t < L; t++, q += SAVED) {
    const p = direct ? t : index[r.idx + t];
    // zero token (p < 0): u = B = 0 and dt = softplus(bias); the state decays, no output
    const x = (p >= 0 ? delta[r.d + p] : 0) + bias;
    let dt = x;
    let e = -1; // exp(x) when the softplus applies
    if (softplus && x <= 20) {
      e = Math.exp(x);
      dt = Math.log1p(e);
    }
    const a = Math.exp(dt * A0);
    if (saved) {
      // the softplus' sigmoid only for the backward (not computed in inference)
      saved[q] = dt;
      saved[q + 1] = e >= 0 ? e / (1 + e) : 1;
      saved[q + 2] = a;
    }
    if (p < 0) {
      h *= a;
      continue;
    }
    const uv = u[r.u + p];
    h = a * h + dt * uv * B[r.bc + p];
    const yv = Dc * uv + C[r.bc + p] * h;
    if (sum) y[r.o + p] += yv;
    else y[r.o + p] = yv;
  }
}

/** y of one sequence, any N, no local backward; h (N) is scratch. */
function forwardSeqN(v: Arrays, l: Layout, r: Rows, c: number, y: Float32Array | Float64Array, h: Float64Array): void {
  const { L, N, P, direct, sum, softplus } = l;
  const { u, delta, A, B, C, index } = v;
  const aBase = c * N;
  const Dc = v.D[c];
  const bias = v.bias[c];
  const dt0 = softplus ? softplusOf(bias) : bias;
  h.fill(0);
  for (let t = 0; t < L; t++) {
    const p = direct ? t : index[r.idx + t];
    if (p < 0) {
      for (let n = 0; n < N; n++) h[n] *= Math.exp(dt0 * A[aBase + n]);
      continue;
    }
    const x = delta[r.d + p] + bias;
    const dt = softplus && x <= 20 ? Math.log1p(Math.exp(x)) : x;
    const uv = u[r.u + p];
    const dtu = dt * uv;
    let yv = Dc * uv;
    for (let n = 0, j = r.bc + p; n < N; n++, j += P) {
      const hn = Math.exp(dt * A[aBase + n]) * h[n] + dtu * B[j];
      h[n] = hn;
      yv += C[j] * hn;
    }
    if (sum) y[r.o + p] += yv;
    else y[r.o + p] = yv;
  }
}

/** Reads of one (batch, channel) sequence for the local-backward path: position, u, raw dt input, dt, B and C rows at each step. */
interface Sequence {
  pos: Int32Array; // (L) map position or -1
  u: Float64Array; // (L)
  x: Float64Array; // (L) delta + bias
  dt: Float64Array; // (L)
  a: Float64Array; // (L*N) exp(dt*A)
  Bv: Float64Array; // (L*N)
  Cv: Float64Array; // (L*N)
}

function makeSequence(l: Layout): Sequence {
  return {
    pos: new Int32Array(l.L), u: new Float64Array(l.L), x: new Float64Array(l.L), dt: new Float64Array(l.L),
    a: new Float64Array(l.L * l.N), Bv: new Float64Array(l.L * l.N), Cv: new Float64Array(l.L * l.N),
  };
}

function loadSequence(s: Sequence, l: Layout, v: Arrays, r: Rows, c: number): void {
  const { L, N, P } = l;
  const bias = v.bias[c];
  for (let t = 0; t < L; t++) {
    const p = l.direct ? t : v.index[r.idx + t];
    s.pos[t] = p;
    const uv = p >= 0 ? v.u[r.u + p] : 0;
    const x = (p >= 0 ? v.delta[r.d + p] : 0) + bias;
    const dt = l.softplus ? softplusOf(x) : x;
    s.u[t] = uv;
    s.x[t] = x;
    s.dt[t] = dt;
    for (let n = 0; n < N; n++) {
      s.a[t * N + n] = Math.exp(dt * v.A[c * N + n]);
      s.Bv[t * N + n] = p >= 0 ? v.B[r.bc + n * P + p] : 0;
      s.Cv[t * N + n] = p >= 0 ? v.C[r.bc + n * P + p] : 0;
    }
  }
}

/** Forward states of one sequence: hf (L*N), and hb (L*N) of the local backward windows. */
function states(s: Sequence, l: Layout, hf: Float64Array, hb: Float64Array): void {
  const { L, N, w } = l;
  for (let n = 0; n < N; n++) {
    let h = 0;
    for (let t = 0; t < L; t++) {
      const i = t * N + n;
      h = s.a[i] * h + s.dt[t] * s.Bv[i] * s.u[t];
      hf[i] = h;
    }
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

/** Scratch of the local-backward path, once per call. */
interface LocalScratch { s: Sequence; hf: Float64Array; hb: Float64Array }

const localScratch = (l: Layout): LocalScratch => ({ s: makeSequence(l), hf: new Float64Array(l.L * l.N), hb: new Float64Array(l.L * l.N) });

/** y of one sequence with the local backward windows (states of both paths stored). */
function forwardSeqLocal(v: Arrays, l: Layout, r: Rows, c: number, y: Float32Array | Float64Array, k: LocalScratch): void {
  const { L, N } = l;
  const { s, hf, hb } = k;
  loadSequence(s, l, v, r, c);
  states(s, l, hf, hb);
  const Dc = v.D[c];
  for (let t = 0; t < L; t++) {
    const p = s.pos[t];
    if (p < 0) continue; // zero token: output dropped
    let yv = Dc * s.u[t];
    for (let n = 0; n < N; n++) {
      const i = t * N + n;
      yv += s.Cv[i] * (hf[i] + hb[i]);
    }
    if (l.sum) y[r.o + p] += yv;
    else y[r.o + p] = yv;
  }
}

function forwardCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): tf.TensorInfo[] {
  const cpu = backend as CpuBackend;
  const g = attrs as unknown as ScanAttrs;
  const v = getArrays(cpu, inputs);
  const l = layoutOf(g);
  const shape = outputShape(g);
  const out = new Float32Array(shape[0] * shape[1] * shape[2]);
  // 'sum' adds the K directions (and repeated visits) in float64 first
  const y = l.sum ? new Float64Array(out.length) : out;
  const r = newRows();
  const h = new Float64Array(l.N);
  const local = l.w > 0 ? localScratch(l) : null;
  const saved = l.N === 1 && !local && recording() ? new Float64Array(l.batch * l.channels * l.L * SAVED) : null;
  for (let b = 0; b < l.batch; b++) {
    for (let c = 0; c < l.channels; c++) {
      rowsOf(l, b, c, r);
      if (local) forwardSeqLocal(v, l, r, c, y, local);
      else if (l.N === 1) forwardSeq1(v, l, r, c, y, saved, (b * l.channels + c) * l.L * SAVED);
      else forwardSeqN(v, l, r, c, y, h);
    }
  }
  if (y !== out) out.set(y);
  // Second output (saved for the backward): the N = 1 steps above while a tape records, else empty
  // (the cpu backward recomputes; the webgpu forward puts its chunk-boundary states here).
  const second = saved
    ? cpu.makeTensorInfo([saved.length * 2], 'int32', new Int32Array(saved.buffer))
    : cpu.makeTensorInfo([0], 'float32', new Float32Array(0));
  return [cpu.makeTensorInfo(shape, 'float32', out), second];
}

// ---- backward ----------------------------------------------------------------------------------

/** Gradient outputs (float64 sums) and the per-batch parameter partials. */
interface Grads {
  dy: Values;
  du: Float64Array; ddelta: Float64Array; dB: Float64Array; dC: Float64Array;
  /** (batch, channels, N + 2): [dA(N), dD, dDeltaBias] */
  dParams: Float32Array;
}

/** Per-sequence scratch of the fused backward: decays a_t (index t, a_L = 0), states h_{t-1} (index t, h_{-1} = 0). */
interface FusedScratch {
  pos: Int32Array; uv: Float64Array; dt: Float64Array; sig: Float64Array; // (L)
  a: Float64Array; h: Float64Array; // ((L+1)*N)
  gf: Float64Array; dA: Float64Array; // (N)
}

const fusedScratch = (l: Layout): FusedScratch => ({
  pos: new Int32Array(l.L), uv: new Float64Array(l.L), dt: new Float64Array(l.L), sig: new Float64Array(l.L),
  a: new Float64Array((l.L + 1) * l.N), h: new Float64Array((l.L + 1) * l.N), gf: new Float64Array(l.N), dA: new Float64Array(l.N),
});

/**
 * Backward of one sequence, any N, no local backward. Forward pass: a_t, h_t, dt_t, dsoftplus/dx.
 * Reverse pass: gf_t = dy_t C_t + a_{t+1} gf_{t+1} (d loss / d h_t); then d/da_t = gf_t h_{t-1} and
 * d/d(dt_t B_t u_t) = gf_t feed dt (through a_t = exp(dt A) and the input), A, u, B; dC_t = dy_t h_t.
 */
function backwardSeqN(v: Arrays, l: Layout, r: Rows, b: number, c: number, o: Grads, s: FusedScratch): void {
  const { L, N, P, direct, softplus } = l;
  const { u, delta, A, B, C, index } = v;
  const aBase = c * N;
  const bias = v.bias[c];
  const { pos, uv: uvs, dt: dts, sig, a, h, gf, dA } = s;
  for (let t = 0; t < L; t++) {
    const p = direct ? t : index[r.idx + t];
    pos[t] = p;
    const x = (p >= 0 ? delta[r.d + p] : 0) + bias;
    let dt = x;
    let sg = 1;
    if (softplus && x <= 20) {
      const e = Math.exp(x);
      dt = Math.log1p(e);
      sg = e / (1 + e);
    }
    const uv = p >= 0 ? u[r.u + p] : 0;
    dts[t] = dt;
    sig[t] = sg;
    uvs[t] = uv;
    const dtu = dt * uv;
    for (let n = 0, i = t * N, j = r.bc + p; n < N; n++, i++, j += P) {
      const an = Math.exp(dt * A[aBase + n]);
      a[i] = an;
      h[i + N] = an * h[i] + (p >= 0 ? dtu * B[j] : 0);
    }
  }
  gf.fill(0);
  dA.fill(0);
  const Dc = v.D[c];
  const duRow = r.u;
  let dD = 0;
  let dBias = 0;
  for (let t = L - 1; t >= 0; t--) {
    const p = pos[t];
    const dyt = p >= 0 ? o.dy[r.o + p] : 0;
    const uv = uvs[t];
    const dt = dts[t];
    let ddt = 0;
    let duv = Dc * dyt;
    for (let n = 0, i = t * N, j = r.bc + p; n < N; n++, i++, j += P) {
      const Bn = p >= 0 ? B[j] : 0;
      const g = (p >= 0 ? dyt * C[j] : 0) + a[i + N] * gf[n];
      gf[n] = g;
      const dan = g * h[i] * a[i]; // d/d(dt A_n) through a_t
      ddt += dan * A[aBase + n] + g * Bn * uv;
      dA[n] += dan * dt;
      duv += g * dt * Bn;
      if (p >= 0) {
        o.dB[j] += g * dt * uv;
        o.dC[j] += dyt * h[i + N];
      }
    }
    dD += dyt * uv;
    const dx = ddt * sig[t];
    dBias += dx; // zero tokens too: their dt is softplus(bias)
    if (p >= 0) {
      o.ddelta[r.d + p] += dx;
      o.du[duRow + p] += duv;
    }
  }
  const pBase = (b * l.channels + c) * (N + 2);
  for (let n = 0; n < N; n++) o.dParams[pBase + n] = dA[n];
  o.dParams[pBase + N] = dD;
  o.dParams[pBase + N + 1] = dBias;
}

/** backwardSeqN for N = 1: the state and adjoint in scalars. */
function backwardSeq1(v: Arrays, l: Layout, r: Rows, b: number, c: number, o: Grads, s: FusedScratch, saved: Float64Array | null): void {
  const { L, direct, softplus } = l;
  const { u, delta, B, C, index } = v;
  const A0 = v.A[c];
  const bias = v.bias[c];
  const { pos, uv: uvs, dt: dts, sig, a, h } = s;
  const sOff = (b * l.channels + c) * L * SAVED;
  let hv = 0;
  for (let t = 0; t < L; t++) {
    const p = direct ? t : index[r.idx + t];
    pos[t] = p;
    let dt: number, sg: number, an: number;
    if (saved) {
      // the forward's dt, sigmoid and decay (same formulas as below)
      const q = sOff + t * SAVED;
      dt = saved[q];
      sg = saved[q + 1];
      an = saved[q + 2];
    } else {
      const x = (p >= 0 ? delta[r.d + p] : 0) + bias;
      dt = x;
      sg = 1;
      if (softplus && x <= 20) {
        const e = Math.exp(x);
        dt = Math.log1p(e);
        sg = e / (1 + e);
      }
      an = Math.exp(dt * A0);
    }
    const uv = p >= 0 ? u[r.u + p] : 0;
    dts[t] = dt;
    sig[t] = sg;
    uvs[t] = uv;
    a[t] = an;
    h[t] = hv; // h_{t-1}
    hv = an * hv + (p >= 0 ? dt * uv * B[r.bc + p] : 0);
  }
  const Dc = v.D[c];
  let gf = 0;
  let aNext = 0; // a_{t+1}
  let hNext = hv; // h_t, walking back
  let dA = 0;
  let dD = 0;
  let dBias = 0;
  for (let t = L - 1; t >= 0; t--) {
    const p = pos[t];
    const uv = uvs[t];
    const dt = dts[t];
    const at = a[t];
    const hPrev = h[t];
    let ddt: number;
    if (p >= 0) {
      const j = r.bc + p;
      const dyt = o.dy[r.o + p];
      const Bn = B[j];
      gf = dyt * C[j] + aNext * gf;
      const dan = gf * hPrev * at;
      ddt = dan * A0 + gf * Bn * uv;
      dA += dan * dt;
      o.dB[j] += gf * dt * uv;
      o.dC[j] += dyt * hNext;
      dD += dyt * uv;
      const dx = ddt * sig[t];
      dBias += dx;
      o.ddelta[r.d + p] += dx;
      o.du[r.u + p] += Dc * dyt + gf * dt * Bn;
    } else {
      gf = aNext * gf; // zero token: no output, u = B = 0
      const dan = gf * hPrev * at;
      dA += dan * dt;
      dBias += dan * A0 * sig[t];
    }
    aNext = at;
    hNext = hPrev;
  }
  const pBase = (b * l.channels + c) * 3;
  o.dParams[pBase] = dA;
  o.dParams[pBase + 1] = dD;
  o.dParams[pBase + 2] = dBias;
}

/** Backward of one sequence with the local backward windows. */
function backwardSeqLocal(v: Arrays, l: Layout, r: Rows, b: number, c: number, o: Grads, k: LocalScratch, da: Float64Array, db: Float64Array, dyv: Float64Array, dAn: Float64Array): void {
  const { L, N, P, w } = l;
  const { s, hf, hb } = k;
  loadSequence(s, l, v, r, c);
  states(s, l, hf, hb);
  for (let t = 0; t < L; t++) dyv[t] = s.pos[t] >= 0 ? o.dy[r.o + s.pos[t]] : 0;
  for (let n = 0; n < N; n++) {
    // Forward-path adjoint, reverse in t: gf_t = dy_t C_t + a_{t+1} gf_{t+1}; da_t = gf_t h_{t-1}, db_t = gf_t.
    let gf = 0;
    for (let t = L - 1; t >= 0; t--) {
      const i = t * N + n;
      gf = dyv[t] * s.Cv[i] + (t + 1 < L ? s.a[i + N] * gf : 0);
      da[i] = gf * (t > 0 ? hf[i - N] : 0);
      db[i] = gf;
    }
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
  const Dc = v.D[c];
  let dD = 0;
  let dBias = 0;
  dAn.fill(0);
  for (let t = 0; t < L; t++) {
    const p = s.pos[t];
    const dt = s.dt[t];
    const uv = s.u[t];
    let ddt = 0;
    let duv = Dc * dyv[t];
    for (let n = 0; n < N; n++) {
      const i = t * N + n;
      const An = v.A[c * N + n];
      ddt += da[i] * s.a[i] * An + db[i] * s.Bv[i] * uv;
      dAn[n] += da[i] * s.a[i] * dt;
      duv += db[i] * dt * s.Bv[i];
      if (p >= 0) {
        o.dB[r.bc + n * P + p] += db[i] * dt * uv;
        o.dC[r.bc + n * P + p] += dyv[t] * (hf[i] + hb[i]);
      }
    }
    dD += dyv[t] * uv;
    const x = s.x[t];
    const dx = l.softplus && x <= 20 ? ddt / (1 + Math.exp(-x)) : ddt;
    dBias += dx; // zero tokens too: their dt is softplus(bias)
    if (p >= 0) {
      o.ddelta[r.d + p] += dx;
      o.du[r.u + p] += duv;
    }
  }
  const pBase = (b * l.channels + c) * (N + 2);
  for (let n = 0; n < N; n++) o.dParams[pBase + n] = dAn[n];
  o.dParams[pBase + N] = dD;
  o.dParams[pBase + N + 1] = dBias;
}

/** The N = 1 forward's saved steps (float64) from its second output, or null when it saved none. */
function savedSteps(cpu: CpuBackend, states: tf.TensorInfo | undefined, length: number): Float64Array | null {
  if (!states || states.dtype !== 'int32' || states.shape[0] !== 2 * length) return null;
  const v = cpu.data.get(states.dataId).values as Int32Array;
  const bytes = v.byteOffset % 8 === 0 ? v : v.slice(); // a float64 view needs 8-byte alignment
  return new Float64Array(bytes.buffer, bytes.byteOffset, length);
}

/**
 * Gradient of sum(y * dy) w.r.t. u, delta, B, C (full tensors) and the per-batch partials of A, D
 * and deltaBias packed as (batch, channels, N + 2): [dA(N), dD, dDeltaBias] (summed over batch by the caller).
 */
function backwardCpu({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): tf.TensorInfo[] {
  const cpu = backend as CpuBackend;
  const g = attrs as unknown as ScanAttrs;
  const v = getArrays(cpu, inputs);
  const l = layoutOf(g);
  const { L, N, P, batch, channels, uRows } = l;
  const o: Grads = {
    dy: cpu.data.get(inputs.dy!.dataId).values,
    du: new Float64Array(batch * uRows * P),
    ddelta: new Float64Array(batch * channels * P),
    dB: new Float64Array(batch * g.G * N * P),
    dC: new Float64Array(batch * g.G * N * P),
    dParams: new Float32Array(batch * channels * (N + 2)),
  };
  const r = newRows();
  if (l.w > 0) {
    const k = localScratch(l);
    const da = new Float64Array(L * N);
    const db = new Float64Array(L * N);
    const dyv = new Float64Array(L);
    const dAn = new Float64Array(N);
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < channels; c++) {
        rowsOf(l, b, c, r);
        backwardSeqLocal(v, l, r, b, c, o, k, da, db, dyv, dAn);
      }
    }
  } else {
    const s = fusedScratch(l);
    const saved = N === 1 ? savedSteps(cpu, inputs.states, batch * channels * L * SAVED) : null;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < channels; c++) {
        rowsOf(l, b, c, r);
        if (N === 1) backwardSeq1(v, l, r, b, c, o, s, saved);
        else backwardSeqN(v, l, r, b, c, o, s);
      }
    }
  }
  return [
    cpu.makeTensorInfo([batch, uRows, P], 'float32', new Float32Array(o.du)),
    cpu.makeTensorInfo([batch, channels, P], 'float32', new Float32Array(o.ddelta)),
    cpu.makeTensorInfo([batch, g.G, N, P], 'float32', new Float32Array(o.dB)),
    cpu.makeTensorInfo([batch, g.G, N, P], 'float32', new Float32Array(o.dC)),
    cpu.makeTensorInfo([batch, channels, N + 2], 'float32', o.dParams),
  ];
}

export function registerCpuKernels(): void {
  tf.registerKernel({ kernelName: SCAN_KERNEL, backendName: 'cpu', kernelFunc: forwardCpu as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: SCAN_GRAD_KERNEL, backendName: 'cpu', kernelFunc: backwardCpu as unknown as tf.KernelFunc });
}
