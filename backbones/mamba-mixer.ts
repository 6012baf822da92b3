// The Mamba mixer of Vim and LBVim (models.md 1.4, 3, 6.5): one module over a 1-D token sequence
// (B, L, d_model) with the official parameter names, as the Vim fork of mamba_simple.py builds it
// (hustvl/Vim@dd0358a mamba-1p1p1/mamba_ssm/modules/mamba_simple.py, class Mamba) and LBMamba's copy
// (cvlab-stonybrook/LBMamba@5215551 classification/mamba_ssm/modules/mamba_simple.py, `lbm=True`).
//
// Fast path (`mamba_inner_fn[_no_out_proj]`), per branch on xz = in_proj(x) -> (B, L, 2*d_inner):
//   x, z = split(xz) · x = silu(causal depthwise conv1d(x), k = d_conv, left padding d_conv-1)
//   x_dbl = x_proj(x) split [dt (R), B (N), C (N)] · delta = dt_proj.weight · dt (bias NOT added here)
//   y = selective_scan(x, delta, A = -exp(A_log), B, C, D, deltaBias = dt_proj.bias, softplus) * silu(z)
// bimamba_type 'none': out = out_proj(y). 'v2': a second branch with its own conv1d_b, x_proj_b,
// dt_proj_b, A_b_log, D_b runs on xz reversed along L, and out = out_proj((y_f + flip(y_b)) / 2)
// (`if_divide_out`; without it the sum). With `lbm` the forward branch's kernel adds LBMamba's local
// backward scan (window = the CUDA launch's items per thread: L <= 128 -> 4, <= 256 -> 8, else 16);
// the v2 backward branch always calls the plain kernel (LBMamba calls the module-level, non-lbm
// `mamba_inner_fn_no_out_proj` there).
//
// Parameter order = PyTorch's state dict: own parameters [gamma], A_log, D, [A_b_log, D_b], then
// the children in_proj, conv1d, act, x_proj, dt_proj, [conv1d_b, x_proj_b, dt_proj_b], out_proj.
// conv1d weights keep PyTorch's (d_inner, 1, d_conv) layout ('plain'): the causal convolution is
// written as d_conv shifted multiply-adds, so no layout change exists for import/export.
import { tf, type Tensor, type Variable } from '../core/tf.ts';
import { Module, Linear, SiLU, silu, uniform, kaimingUniformA5, type Layer } from '../core/nn/index.ts';
import { globalRng, type Rng } from '../core/rng.ts';
import { selectiveScan } from '../scans/kernel/selective-scan/index.ts';
import { lbmWindow } from '../scans/local-bidirectional.ts';
import { inverseSoftplus } from '../scans/core.ts';

/** The Mamba constructor's keyword arguments that `ssm_cfg` may set (official names and defaults). */
export const MAMBA_SSM_DEFAULTS = {
  d_conv: 4, expand: 2, dt_rank: 'auto' as number | 'auto', dt_min: 0.001, dt_max: 0.1, dt_init: 'random' as 'random' | 'constant',
  dt_scale: 1.0, dt_init_floor: 1e-4, conv_bias: true, bias: false, use_fast_path: true,
};
export type MambaSsmCfg = typeof MAMBA_SSM_DEFAULTS;

export interface MambaMixerConfig extends MambaSsmCfg {
  d_model: number;
  d_state: number;
  /** 'none' (plain Mamba) or 'v2' (Vim's bidirectional pair with `_b` parameters) */
  bimamba_type: 'none' | 'v2';
  if_divide_out: boolean;
  /** LayerScale gamma (d_model) on the output, or null */
  init_layer_scale: number | null;
  /** LBMamba: the forward branch's kernel runs the local backward scan */
  lbm: boolean;
  /** LBMamba window override (0 = the official rule from L) */
  lbm_window?: number;
  /** factor on out_proj's initial weight (Vim `_init_weights`: 1/sqrt(n_residuals_per_layer * n_layer)) */
  out_proj_scale?: number;
  rng?: Rng;
}

/** Replaces a parameter's value (initialisers that differ from the layer's default). */
function setValue(v: Variable, value: Tensor): void {
  v.assign(value);
  value.dispose();
}

/**
 * nn.Conv1d(D, D, k, groups=D, padding=k-1, bias) truncated to the first L outputs (Mamba's causal
 * conv): y[t, d] = bias[d] + sum_j weight[d, 0, j] * x[t - (k-1) + j, d], x = 0 before the start.
 * Weight (D, 1, k) in PyTorch layout; default init kaiming_uniform(a=sqrt 5), fan_in = k.
 */
export class CausalConv1d extends Module implements Layer {
  readonly weight: Variable;
  readonly bias: Variable | null;

  constructor(readonly channels: number, readonly kernel: number, { bias = true }: { bias?: boolean } = {}) {
    super();
    if (!Number.isInteger(kernel) || kernel < 1) throw new Error(`CausalConv1d: kernel size must be a positive integer, got ${kernel}`);
    this.weight = this.param('weight', kaimingUniformA5([channels, 1, kernel], kernel));
    this.bias = bias ? this.param('bias', kaimingUniformA5([channels], kernel), { noDecay: true }) : null;
  }

  /** x (B, L, D) -> (B, L, D) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [Bn, L, D] = x.shape;
      const k = this.kernel;
      const xp = k > 1 ? tf.pad(x, [[0, 0], [k - 1, 0], [0, 0]]) : x; // (B, L+k-1, D)
      const taps = this.weight.reshape([D, k]).transpose(); // (k, D): tap j multiplies x[t - (k-1) + j]
      let y: Tensor | null = null;
      for (let j = 0; j < k; j++) {
        const term = tf.mul(tf.slice(xp, [0, j, 0], [Bn, L, D]), tf.slice(taps, [j, 0], [1, D]).reshape([D]));
        y = y ? tf.add(y, term) : term;
      }
      return this.bias ? tf.add(y!, this.bias) : y!;
    });
  }
}

/** The tensors of one scan branch (forward: conv1d, x_proj, dt_proj, A_log, D; backward: the `_b` ones). */
interface Branch {
  conv: CausalConv1d;
  xProj: Linear;
  dtProj: Linear;
  ALog: Variable;
  D: Variable;
}

export class MambaMixer extends Module {
  readonly dInner: number;
  readonly dtRank: number;
  readonly gamma: Variable | null;
  readonly A_log: Variable;
  readonly D: Variable;
  readonly A_b_log: Variable | null = null;
  readonly D_b: Variable | null = null;
  readonly in_proj: Linear;
  readonly conv1d: CausalConv1d;
  readonly x_proj: Linear;
  readonly dt_proj: Linear;
  readonly conv1d_b: CausalConv1d | null = null;
  readonly x_proj_b: Linear | null = null;
  readonly dt_proj_b: Linear | null = null;
  readonly out_proj: Linear;
  private readonly fwd: Branch;
  private readonly bwd: Branch | null = null;

  constructor(readonly cfg: MambaMixerConfig) {
    super();
    const c = cfg;
    if (c.bimamba_type !== 'none' && c.bimamba_type !== 'v2') {
      throw new Error(`mamba mixer: bimamba_type '${c.bimamba_type}' is not supported ('none', or 'v2' as every released Vim; 'v1' shares the conv/projections and is in no released model)`);
    }
    if (!c.use_fast_path) {
      throw new Error("mamba mixer: ssm_cfg.use_fast_path=False is not supported: the official slow path runs the forward branch only and silently ignores the '_b' parameters (models.md 3)");
    }
    if (c.dt_init !== 'random' && c.dt_init !== 'constant') throw new Error(`mamba mixer: dt_init must be 'random' or 'constant', got '${c.dt_init}'`);
    const D = Math.trunc(c.expand * c.d_model);
    const R = c.dt_rank === 'auto' ? Math.ceil(c.d_model / 16) : c.dt_rank;
    const N = c.d_state;
    for (const [k, v] of Object.entries({ d_model: c.d_model, d_inner: D, dt_rank: R, d_state: N, d_conv: c.d_conv })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`mamba mixer: ${k} must be a positive integer, got ${v}`);
    }
    this.dInner = D;
    this.dtRank = R;
    const rng = c.rng ?? globalRng;

    // own parameters first (PyTorch registers gamma, A_log, D, A_b_log, D_b in this order)
    this.gamma = c.init_layer_scale !== null ? this.param('gamma', tf.fill([c.d_model], c.init_layer_scale)) : null;
    this.in_proj = this.child('in_proj', new Linear(c.d_model, 2 * D, { bias: c.bias }));
    if (this.in_proj.bias) setValue(this.in_proj.bias, tf.zeros([2 * D])); // Vim _init_weights zeroes Linear biases
    this.conv1d = this.child('conv1d', new CausalConv1d(D, c.d_conv, { bias: c.conv_bias }));
    this.child('act', new SiLU());
    this.x_proj = this.child('x_proj', new Linear(D, R + 2 * N, { bias: false }));
    this.dt_proj = this.child('dt_proj', this.makeDtProj(R, D, rng));
    this.A_log = this.param('A_log', s4dReal(D, N), { noDecay: true });
    this.D = this.param('D', tf.ones([D]), { noDecay: true });
    this.fwd = { conv: this.conv1d, xProj: this.x_proj, dtProj: this.dt_proj, ALog: this.A_log, D: this.D };
    if (c.bimamba_type === 'v2') {
      this.A_b_log = this.param('A_b_log', s4dReal(D, N), { noDecay: true });
      this.conv1d_b = this.child('conv1d_b', new CausalConv1d(D, c.d_conv, { bias: c.conv_bias }));
      this.x_proj_b = this.child('x_proj_b', new Linear(D, R + 2 * N, { bias: false }));
      this.dt_proj_b = this.child('dt_proj_b', this.makeDtProj(R, D, rng));
      this.D_b = this.param('D_b', tf.ones([D]), { noDecay: true });
      this.bwd = { conv: this.conv1d_b, xProj: this.x_proj_b, dtProj: this.dt_proj_b, ALog: this.A_b_log, D: this.D_b };
    }
    this.out_proj = this.child('out_proj', new Linear(D, c.d_model, { bias: c.bias }));
    const s = c.out_proj_scale ?? 1;
    if (s !== 1) setValue(this.out_proj.weight, tf.mul(this.out_proj.weight, s));
    if (this.out_proj.bias) setValue(this.out_proj.bias, tf.zeros([c.d_model]));
  }

  /** dt_proj: weight U(+-R^-0.5 dt_scale) (or constant), bias = softplus^-1(dt), dt ~ exp(U(log dt_min, log dt_max)) >= floor. */
  private makeDtProj(R: number, D: number, rng: Rng): Linear {
    const c = this.cfg;
    const lin = new Linear(R, D);
    const std = R ** -0.5 * c.dt_scale;
    setValue(lin.weight, c.dt_init === 'constant' ? tf.fill([D, R], std) : uniform([D, R], -std, std, rng));
    const bias = new Float32Array(D);
    for (let d = 0; d < D; d++) {
      const dt = Math.max(c.dt_init_floor, Math.exp(rng.random() * (Math.log(c.dt_max) - Math.log(c.dt_min)) + Math.log(c.dt_min)));
      bias[d] = inverseSoftplus(dt);
    }
    setValue(lin.bias!, tf.tensor1d(bias));
    return lin;
  }

  /** The local backward window of the forward branch for L steps (0 = off). */
  window(L: number): number {
    if (!this.cfg.lbm) return 0;
    return this.cfg.lbm_window || lbmWindow(L);
  }

  /** One branch of mamba_inner_fn without out_proj: xz (B, L, 2*d_inner) -> y * silu(z) (B, L, d_inner). */
  private branch(xz: Tensor, b: Branch, localBackward: number): Tensor {
    return tf.tidy(() => {
      const [Bn, L] = xz.shape;
      const D = this.dInner, R = this.dtRank, N = this.cfg.d_state;
      const [x0, z] = tf.split(xz, 2, 2);
      const x = silu(b.conv.forward(x0)); // (B, L, D)
      const [dtRaw, Bs, Cs] = tf.split(b.xProj.forward(x), [R, N, N], 2);
      // dt_proj.weight @ dt: the bias is the kernel's deltaBias (added before softplus)
      const delta = tf.matMul(dtRaw.reshape([Bn * L, R]), b.dtProj.weight, false, true).reshape([Bn, L, D]);
      const toGroup = (t: Tensor) => t.transpose([0, 2, 1]).reshape([Bn, 1, N, L]); // (B, 1, N, L): G = 1
      const y = selectiveScan(
        { u: x.transpose([0, 2, 1]), delta: delta.transpose([0, 2, 1]), A: tf.neg(tf.exp(b.ALog)), B: toGroup(Bs), C: toGroup(Cs), D: b.D, deltaBias: b.dtProj.bias! },
        { deltaSoftplus: true, localBackward: localBackward || undefined },
      ); // (B, D, L)
      return tf.mul(y.transpose([0, 2, 1]), silu(z));
    });
  }

  /** x (B, L, d_model) -> (B, L, d_model) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      if (x.rank !== 3 || x.shape[2] !== this.cfg.d_model) throw new Error(`mamba mixer: input must be (B, L, ${this.cfg.d_model}), got shape [${x.shape}]`);
      const L = x.shape[1] as number;
      const xz = this.in_proj.forward(x);
      let y = this.branch(xz, this.fwd, this.window(L));
      if (this.bwd) {
        const yb = tf.reverse(this.branch(tf.reverse(xz, 1), this.bwd, 0), 1);
        y = tf.add(y, yb);
        if (this.cfg.if_divide_out) y = tf.mul(y, 0.5);
      }
      let out = this.out_proj.forward(y);
      if (this.gamma) out = tf.mul(out, this.gamma);
      return out;
    });
  }
}

/** S4D-real init: A_log[d, n] = log(n + 1), so A = -(1..N) for every channel. */
function s4dReal(D: number, N: number): Tensor {
  const a = new Float32Array(D * N);
  for (let d = 0; d < D; d++) for (let n = 0; n < N; n++) a[d * N + n] = Math.log(n + 1);
  return tf.tensor2d(a, [D, N]);
}
