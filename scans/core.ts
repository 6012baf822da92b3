// The SS2D core ("forward_core" of VMamba's SS2Dv2, models.md 2.2): given the post-conv activation
// map x (B, H, W, D), per-direction projections in map order, one fused selective scan driven by a
// strategy's ScanPlan, and the strategy's merge -> y (B, H, W, D). Any strategy drives any SSM block:
// the block (in_proj, conv2d, out_norm, gating, out_proj) stays the family's; this file owns only the
// scan and its parameters, registered under VMamba's exact names *directly on the owner module*
// (`op.x_proj_weight`, not `op.core.x_proj_weight`) through a ParamSink.
//
// Standard parameters (VMamba SS2Dv2, K directions, D = channels one direction scans, R = dt rank):
//   x_proj_weight (K, R+2N, D) · dt_projs_weight (K, D, R) · dt_projs_bias (K, D) · A_logs (K*D, N) · Ds (K*D)
// Strategies that need more add their own names in their file (see each CoreFactory).
import { tf, type Tensor, type Variable } from '../core/tf.ts';
import { Module, type ParamOptions } from '../core/nn/module.ts';
import { uniform } from '../core/nn/init.ts';
import { linear } from '../core/kernels/weight-grad/index.ts';
import { globalRng, type Rng } from '../core/rng.ts';
import { selectiveScan, type SelectiveScanInputs } from './kernel/selective-scan/index.ts';
import type { ScanPlan } from './plan.ts';
import { scans, type ScanOptions, type ScanStrategy } from './registry.ts';

/** Where a core registers its parameters and child modules: the owner's own `param`/`child`. */
export interface ParamSink {
  param(name: string, value: Tensor, opts?: ParamOptions): Variable;
  child<M extends Module>(name: string, module: M): M;
}

/** Mamba's dt initialisation (models.md 1.4): dt ~ exp(U(log dtMin, log dtMax)) >= floor, bias = softplus^-1(dt). */
export interface DtInit {
  dtMin: number;
  dtMax: number;
  dtInitFloor: number;
  dtScale: number;
  dtInit: 'random' | 'constant';
}

export const MAMBA_DT_INIT: DtInit = { dtMin: 0.001, dtMax: 0.1, dtInitFloor: 1e-4, dtScale: 1, dtInit: 'random' };

export interface CoreConfig {
  /** D: channels of the map handed to the core (d_inner) */
  dInner: number;
  /** N: state size */
  dState: number;
  /** R; 'auto' = ceil(Dk / 16) with Dk the channels one direction scans (MHS-VM's and GroupMamba's
   *  rule; VMamba uses ceil(d_model / 16): pass that number explicitly) */
  dtRank: number | 'auto';
  dt: DtInit;
  rng: Rng;
}

/** Inputs beyond the post-conv map that some strategies read. */
export interface CoreExtras {
  /** (B, H, W, D): the map before the block's depthwise conv (multiscale's strided branch reads it) */
  preConv?: Tensor;
  /** token-wise op applied to every scan output before directions are merged, e.g. the block's
   *  out_norm (MSVMamba normalises each branch, and each low-res visit, before summing); the block
   *  then skips its own out_norm. Supported by drivers whose `perVisitNorm` flag is set. */
  perVisitNorm?: (y: Tensor) => Tensor;
}

export interface CoreDriver {
  /** directions (parameter groups) */
  readonly K: number;
  /** the driver applies `extras.perVisitNorm` itself (before merging visits); SS2DCore refuses it otherwise */
  readonly perVisitNorm?: boolean;
  /** x (B, H, W, D) -> y (B, H, W, D) */
  forward(x: Tensor, extras: CoreExtras): Tensor;
}

export type CoreFactory = (sink: ParamSink, strategy: ScanStrategy, options: ScanOptions, cfg: CoreConfig) => CoreDriver;

/** A module that only holds parameters/children under a name (`multi_scan`, `scanhead_C.mambaeng`). */
export class ParamGroup extends Module {
  readonly sink: ParamSink = { param: (n, v, o) => this.param(n, v, o), child: (n, m) => this.child(n, m) };
}

// ---- parameters --------------------------------------------------------------------------------

export interface SSMParams {
  readonly K: number;
  readonly D: number;
  readonly N: number;
  readonly R: number;
  /** (K, R+2N, D) */
  readonly x_proj_weight: Tensor;
  /** (K, D, R) */
  readonly dt_projs_weight: Tensor;
  /** (K, D): the kernel's deltaBias (inverse softplus of the initial dt) */
  readonly dt_projs_bias: Tensor;
  /** (K*D, N): A = -exp(A_logs) */
  readonly A_logs: Tensor;
  /** (K*D) */
  readonly Ds: Tensor;
}

/** Parameter groups [k0, k0 + count) of a set (multiscale runs its two groups on different maps). */
export function sliceGroups(p: SSMParams, k0: number, count: number): SSMParams {
  const { D, N, R } = p;
  return {
    K: count, D, N, R,
    x_proj_weight: tf.slice(p.x_proj_weight, [k0, 0, 0], [count, -1, -1]),
    dt_projs_weight: tf.slice(p.dt_projs_weight, [k0, 0, 0], [count, -1, -1]),
    dt_projs_bias: tf.slice(p.dt_projs_bias, [k0, 0], [count, -1]),
    A_logs: tf.slice(p.A_logs, [k0 * D, 0], [count * D, -1]),
    Ds: tf.slice(p.Ds, [k0 * D], [count * D]),
  };
}

export function resolveRank(dtRank: number | 'auto', Dk: number): number {
  const R = dtRank === 'auto' ? Math.ceil(Dk / 16) : dtRank;
  if (!Number.isInteger(R) || R < 1) throw new Error(`SS2D core: dtRank must be a positive integer or 'auto', got ${dtRank}`);
  return R;
}

/** inverse of softplus: dt + log(-expm1(-dt)) (float64 on the host) */
export function inverseSoftplus(dt: number): number {
  return dt + Math.log(-Math.expm1(-dt));
}

/**
 * Registers the five standard tensors on the sink with Mamba's init (VMamba `mamba_init`):
 * x_proj_weight ~ U(±1/sqrt(D)) (nn.Linear default), dt_projs_weight ~ U(±R^-0.5·dtScale),
 * dt_projs_bias = softplus^-1(dt), A_logs[k*D+d, n] = log(n+1), Ds = 1.
 */
export function createSSMParams(sink: ParamSink, K: number, D: number, N: number, R: number, cfg: Pick<CoreConfig, 'dt' | 'rng'>): SSMParams {
  for (const [k, v] of Object.entries({ K, D, N, R })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`SS2D core: ${k} must be a positive integer, got ${v}`);
  }
  const { dt, rng } = cfg;
  const x_proj_weight = sink.param('x_proj_weight', uniform([K, R + 2 * N, D], -1 / Math.sqrt(D), 1 / Math.sqrt(D), rng));
  const std = R ** -0.5 * dt.dtScale;
  const w = new Float32Array(K * D * R);
  const bias = new Float32Array(K * D);
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < D * R; i++) w[k * D * R + i] = dt.dtInit === 'constant' ? std : rng.uniform(-std, std);
    for (let d = 0; d < D; d++) {
      const v = Math.max(dt.dtInitFloor, Math.exp(rng.random() * (Math.log(dt.dtMax) - Math.log(dt.dtMin)) + Math.log(dt.dtMin)));
      bias[k * D + d] = inverseSoftplus(v);
    }
  }
  const dt_projs_weight = sink.param('dt_projs_weight', tf.tensor3d(w, [K, D, R]));
  const dt_projs_bias = sink.param('dt_projs_bias', tf.tensor2d(bias, [K, D]));
  const a = new Float32Array(K * D * N);
  for (let r = 0; r < K * D; r++) for (let n = 0; n < N; n++) a[r * N + n] = Math.log(n + 1);
  const A_logs = sink.param('A_logs', tf.tensor2d(a, [K * D, N]), { noDecay: true });
  const Ds = sink.param('Ds', tf.ones([K * D]), { noDecay: true });
  return { K, D, N, R, x_proj_weight, dt_projs_weight, dt_projs_bias, A_logs, Ds };
}

// ---- the scan ----------------------------------------------------------------------------------

export interface ScanCall {
  /** (K, N, H*W) added to B in map order (PlainMamba's direction embedding per move code) */
  extraB?: Tensor;
  /** LBMamba window of the kernel's local backward scan (0 = off) */
  localBackward?: number;
}

/**
 * The kernel inputs of a map, in map order (P = H*W): x (B, H, W, C) with C = D (one map shared by the
 * K directions) or C = K*D (direction k reads channels [k*D, (k+1)*D)) ->
 * u (B, C, P), delta (B, K*D, P), B, C (B, K, N, P), A (K*D, N), D, deltaBias (K*D).
 * x_dbl[k] = x_proj_weight[k]·x split [R, N, N]; delta[k] = dt_projs_weight[k]·dt_raw (no bias:
 * dt_projs_bias is the kernel's deltaBias, softplus on), A = -exp(A_logs).
 */
export function projectInputs(x: Tensor, p: SSMParams, extraB?: Tensor): SelectiveScanInputs {
  const [Bn, H, W, C] = x.shape;
  const { K, D, N, R } = p;
  if (x.rank !== 4) throw new Error(`SS2D core: x must be (B, H, W, D), got shape [${x.shape}]`);
  const shared = C === D;
  if (!shared && C !== K * D) throw new Error(`SS2D core: x has ${C} channels; expected D = ${D} (shared by the directions) or K*D = ${K * D}`);
  const P = H * W;
  const E = R + 2 * N;
  // x_dbl in the kernel's layout (B, K, E, P): one linear over the map (split-k weight gradient through
  // core/kernels/weight-grad), then a transpose of the K*E-wide result, small next to the D-wide maps
  const xdbl = shared
    ? linear(x.reshape([Bn * P, C]), p.x_proj_weight.reshape([K * E, D]), null).reshape([Bn, P, K * E]).transpose([0, 2, 1]).reshape([Bn, K, E, P])
    : linear(x.reshape([Bn * P, K, D]).transpose([1, 0, 2]), p.x_proj_weight, null).reshape([K, Bn, P, E]).transpose([1, 0, 3, 2]);
  const [dtRaw, Bs, Cs] = tf.split(xdbl, [R, N, N], 2); // (B, K, R|N|N, P)
  return {
    u: x.reshape([Bn, P, C]).transpose([0, 2, 1]),
    delta: deltaProjection(dtRaw, p.dt_projs_weight), // (B, K*D, P)
    A: tf.neg(tf.exp(p.A_logs)),
    B: extraB ? tf.add(Bs, extraB) : Bs,
    C: Cs,
    D: p.Ds,
    deltaBias: p.dt_projs_bias.reshape([K * D]),
  };
}

/**
 * delta[b, k] = dt_projs_weight[k] (D, R) . dtRaw[b, k] (R, P): dtRaw (B, K, R, P), w (K, D, R) ->
 * (B, K*D, P), produced directly in the kernel's layout (projecting in map order and transposing
 * would copy the largest tensor of the block, B*K*D*P floats, forward and backward). One batched
 * matMul over the B*K (b, k) pairs on a copy of w per sample; the backward sums that copy's gradient
 * over the samples (tf.tile's gradient would take B slice-and-add kernels).
 */
function deltaProjection(dtRaw: Tensor, w: Tensor): Tensor {
  const [Bn, K, R, P] = dtRaw.shape as number[];
  const D = w.shape[1] as number;
  const run = tf.customGrad(((raw: Tensor, wk: Tensor, save: tf.GradSaveFunc) => {
    const wt = tf.tile(wk.reshape([1, K, D, R]), [Bn, 1, 1, 1]).reshape([Bn * K, D, R]);
    const r3 = raw.reshape([Bn * K, R, P]);
    save([r3, wt]);
    return {
      value: tf.matMul(wt, r3).reshape([Bn, K * D, P]),
      gradFunc: (dy: Tensor, [sr, sw]: Tensor[]) => {
        const d3 = dy.reshape([Bn * K, D, P]);
        const dRaw = tf.matMul(sw, d3, true, false).reshape([Bn, K, R, P]); // (BK, R, P)
        const dW = tf.sum(tf.matMul(d3, sr, false, true).reshape([Bn, K * D * R]), 0).reshape([K, D, R]);
        return [dRaw, dW];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return run(dtRaw, w);
}

/**
 * Per-direction projections in map order and one fused scan driven by the plan:
 * x (B, H, W, C) -> y (B, D, H*W) for merge 'sum', (B, K*D, H*W) for 'none' (see projectInputs).
 */
export function projectAndScan(x: Tensor, p: SSMParams, plan: ScanPlan, call: ScanCall = {}): Tensor {
  const [, H, W] = x.shape;
  if (plan.H !== H || plan.W !== W) throw new Error(`SS2D core: plan '${plan.strategy}' is for ${plan.H}x${plan.W}, the map is ${H}x${W}`);
  if (plan.K !== p.K) throw new Error(`SS2D core: plan '${plan.strategy}' has K=${plan.K} directions, the parameters K=${p.K}`);
  return tf.tidy(() => selectiveScan(projectInputs(x, p, call.extraB), { deltaSoftplus: true, plan, localBackward: call.localBackward || undefined }));
}

const inverseCache = new WeakMap<ScanPlan, Int32Array>();

/** For a plan visiting every position at most once over all directions: step k*L + t that visits p (K*L = never). */
function inverseIndex(plan: ScanPlan): Int32Array {
  let inv = inverseCache.get(plan);
  if (inv) return inv;
  const { K, L, H, W, index } = plan;
  inv = new Int32Array(H * W).fill(K * L);
  for (let i = 0; i < K * L; i++) {
    const p = index[i];
    if (p < 0) continue;
    if (inv[p] !== K * L) throw new Error(`SS2D core: plan '${plan.strategy}' visits position ${p} more than once: projectVisited needs each position scanned at most once`);
    inv[p] = i;
  }
  inverseCache.set(plan, inv);
  return inv;
}

/**
 * Like projectAndScan with merge 'sum', for plans whose directions together visit each position at
 * most once (sub-grid scans such as atrous): only the visited positions are projected, direction k
 * with its own x_proj/dt_proj (K*L*D*(R+2N) multiply-adds, as the official per-direction einsum,
 * instead of K*H*W*D*(R+2N) over the whole map), scanned as plain sequences, and written back.
 * Zero tokens (-1) read a zero row, so they behave exactly as in the plan path.
 * x (B, H, W, D) -> y (B, D, H*W)
 */
export function projectVisitedAndScan(x: Tensor, p: SSMParams, plan: ScanPlan): Tensor {
  const [Bn, H, W, C] = x.shape;
  const { K, D, N, R } = p;
  if (plan.H !== H || plan.W !== W) throw new Error(`SS2D core: plan '${plan.strategy}' is for ${plan.H}x${plan.W}, the map is ${H}x${W}`);
  if (plan.K !== K) throw new Error(`SS2D core: plan '${plan.strategy}' has K=${plan.K} directions, the parameters K=${K}`);
  if (C !== D) throw new Error(`SS2D core: projectVisited scans one shared map of D = ${D} channels, x has ${C}`);
  if (plan.merge !== 'sum') throw new Error(`SS2D core: projectVisited needs a plan with merge 'sum', '${plan.strategy}' has '${plan.merge}'`);
  const inv = inverseIndex(plan);
  const P = H * W, L = plan.L;
  return tf.tidy(() => {
    const rows = Int32Array.from(plan.index, (q) => (q < 0 ? P : q)); // -1 -> the appended zero row
    const xf = tf.concat([x.reshape([Bn, P, D]), tf.zeros([Bn, 1, D])], 1); // (B, P+1, D)
    const xs = tf.gather(xf, tf.tensor1d(rows, 'int32'), 1).reshape([Bn, K, L, D]).transpose([1, 0, 2, 3]).reshape([K, Bn * L, D]);
    const xdbl = tf.matMul(xs, p.x_proj_weight, false, true); // (K, B*L, R+2N)
    const [dtRaw, Bs, Cs] = tf.split(xdbl, [R, N, N], 2);
    const dts = tf.matMul(dtRaw, p.dt_projs_weight, false, true); // (K, B*L, D)
    const toKernel = (t: Tensor, c: number) => t.reshape([K, Bn, L, c]).transpose([1, 0, 3, 2]); // (B, K, c, L)
    const y = selectiveScan({
      u: toKernel(xs, D).reshape([Bn, K * D, L]),
      delta: toKernel(dts, D).reshape([Bn, K * D, L]),
      A: tf.neg(tf.exp(p.A_logs)),
      B: toKernel(Bs, N),
      C: toKernel(Cs, N),
      D: p.Ds,
      deltaBias: p.dt_projs_bias.reshape([K * D]),
    }, { deltaSoftplus: true }); // (B, K*D, L)
    // (B, D, K*L) plus a zero column for positions no direction visits, gathered into map order
    const seq = tf.concat([y.reshape([Bn, K, D, L]).transpose([0, 2, 1, 3]).reshape([Bn, D, K * L]), tf.zeros([Bn, D, 1])], 2);
    return tf.gather(seq, tf.tensor1d(inv, 'int32'), 2); // (B, D, H*W)
  });
}

/** (B, C, H*W) -> (B, H, W, C) */
export function toMap(y: Tensor, H: number, W: number): Tensor {
  const [Bn, C] = y.shape as [number, number, number];
  return tf.tidy(() => y.transpose([0, 2, 1]).reshape([Bn, H, W, C]));
}

// ---- the standard driver -----------------------------------------------------------------------

export interface StandardHooks {
  /** the kernel's local backward window for this plan (local-bidirectional) */
  localBackward?(o: ScanOptions, plan: ScanPlan): number;
  /** factor on the merged output (bidirectional's Vim-style average) */
  outputScale?(o: ScanOptions): number;
  /** project only the positions each direction visits (projectVisitedAndScan): for plans that
   *  scan every position at most once, e.g. sub-grids (atrous) */
  projectVisited?: boolean;
}

/** K = strategy.directions(options) standard parameter groups, one shared map, plan merge 'sum'. */
export function standardCore(hooks: StandardHooks = {}): CoreFactory {
  return (sink, strategy, options, cfg) => {
    const K = strategy.directions(options);
    const D = cfg.dInner;
    const params = createSSMParams(sink, K, D, cfg.dState, resolveRank(cfg.dtRank, D), cfg);
    return {
      K,
      forward(x) {
        const [, H, W] = x.shape;
        const plan = strategy.plan(H, W, options);
        return tf.tidy(() => {
          const y = toMap(hooks.projectVisited
            ? projectVisitedAndScan(x, params, plan)
            : projectAndScan(x, params, plan, { localBackward: hooks.localBackward?.(options, plan) }), H, W);
          const s = hooks.outputScale?.(options) ?? 1;
          return s === 1 ? y : tf.mul(y, s);
        });
      },
    };
  };
}

// ---- public entry points -----------------------------------------------------------------------

export interface SS2DCoreConfig {
  /** strategy name or object (default 'cross', VMamba's SS2D) */
  scan?: string | ScanStrategy;
  /** the strategy's options (`ssmv scans list` shows them) */
  options?: ScanOptions;
  dInner: number;
  dState: number;
  dtRank: number | 'auto';
  dt?: Partial<DtInit>;
  rng?: Rng;
}

/**
 * The SS2D core of one block, its parameters registered on `sink` (the owner module). Use from a
 * block's constructor:
 *   this.core = new SS2DCore({ param: (n, v, o) => this.param(n, v, o), child: (n, m) => this.child(n, m) }, cfg);
 */
export class SS2DCore {
  readonly strategy: ScanStrategy;
  readonly options: ScanOptions;
  readonly K: number;
  readonly dInner: number;
  /** whether forward applies `extras.perVisitNorm` (else the caller normalises the merged output) */
  readonly perVisitNorm: boolean;
  private readonly driver: CoreDriver;

  constructor(sink: ParamSink, cfg: SS2DCoreConfig) {
    this.strategy = typeof cfg.scan === 'object' ? cfg.scan : scans.get(cfg.scan ?? 'cross');
    this.options = this.strategy.resolve(cfg.options);
    if (!Number.isInteger(cfg.dInner) || cfg.dInner < 1) throw new Error(`SS2D core: dInner must be a positive integer, got ${cfg.dInner}`);
    this.dInner = cfg.dInner;
    this.driver = this.strategy.core(sink, this.strategy, this.options, {
      dInner: cfg.dInner,
      dState: cfg.dState,
      dtRank: cfg.dtRank,
      dt: { ...MAMBA_DT_INIT, ...cfg.dt },
      rng: cfg.rng ?? globalRng,
    });
    this.K = this.driver.K;
    this.perVisitNorm = this.driver.perVisitNorm ?? false;
  }

  /** x (B, H, W, D) post-conv activation -> y (B, H, W, D) merged per the strategy */
  forward(x: Tensor, extras: CoreExtras = {}): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.dInner) throw new Error(`SS2D core (${this.strategy.name}): x must be (B, H, W, ${this.dInner}), got [${x.shape}]`);
    if (this.strategy.needsPreConv) {
      const pc = extras.preConv;
      if (!pc) throw new Error(`SS2D core: scan '${this.strategy.name}' needs the pre-conv map: forward(x, { preConv }) with the block's map before its depthwise conv`);
      if (pc.rank !== 4 || pc.shape.some((d, i) => d !== x.shape[i])) throw new Error(`SS2D core: preConv must have x's shape [${x.shape}], got [${pc.shape}]`);
    }
    if (extras.perVisitNorm && !this.perVisitNorm) {
      throw new Error(`SS2D core: scan '${this.strategy.name}' merges inside the kernel and cannot apply perVisitNorm; apply the norm to its output instead (check core.perVisitNorm)`);
    }
    return this.driver.forward(x, extras);
  }
}

/**
 * The core as a stand-alone Module: its parameters are its own (`x_proj_weight`, ... at its root), so
 * a block that *extends* it gets VMamba's flat keys under the block's prefix (`op.x_proj_weight`).
 */
export class SelectiveScan2D extends Module {
  readonly core: SS2DCore;

  constructor(cfg: SS2DCoreConfig) {
    super();
    this.core = new SS2DCore(this.sink(), cfg);
  }

  /** this module's own registration, for subclasses that add strategy-independent parts */
  protected sink(): ParamSink {
    return { param: (n, v, o) => this.param(n, v, o), child: (n, m) => this.child(n, m) };
  }

  forward(x: Tensor, extras: CoreExtras = {}): Tensor {
    return this.core.forward(x, extras);
  }
}
