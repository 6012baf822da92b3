// Float64 transcriptions of the official Vim / LBVim forward passes, written straight from the
// Python (not from backbones/*.ts): the oracle of tests/family-vim.test.ts and family-lbvim.test.ts.
//   mixer:   hustvl/Vim@dd0358a mamba-1p1p1/mamba_ssm/modules/mamba_simple.py (Mamba.forward, fast
//            path) = mamba_inner_fn[_no_out_proj] (causal_conv1d_fn + silu, x_proj, delta_proj,
//            selective_scan_ref with z) and the bimamba v2 combination (out + out_b.flip) / 2;
//            LBMamba's kernel (selective_scan_fwd_kernel.cuh: ThreadReverseScanForForward over each
//            thread's kNItems tokens, added to the forward state before the C contraction).
//   model:   vim/models_mamba.py VisionMamba.forward_features / LBMamba models_mamba_bi.py
//            BiVisionMamba.forward_features (eval: dropout and drop_path are identities), with the
//            literal flips of hidden_states and residual after every layer (layerwise_reverse_sq).
// Tensors are plain arrays of Float64Array rows; parameters come from a PyTorch-layout state dict.
import type { StateDict } from '../../core/io/tensor-record.ts';

type Rows = Float64Array[];

export interface RefMixerCfg {
  dState: number;
  dConv: number;
  dtRank: number;
  bimamba: 'none' | 'v2';
  divideOut: boolean;
  /** LBMamba window of the forward branch (0: plain kernel) */
  lbmWindow: number;
}

function param(sd: StateDict, key: string): Float64Array {
  const r = sd.get(key);
  if (!r) throw new Error(`reference: state dict has no '${key}'`);
  return Float64Array.from(r.data as Float32Array);
}

/** y = x W^T (+ b), W (out, in) row-major */
function linear(x: Rows, W: Float64Array, out: number, b?: Float64Array): Rows {
  const inF = W.length / out;
  return x.map((row) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += W[o * inF + i] * row[i];
      y[o] = s;
    }
    return y;
  });
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const softplus = (v: number) => (v <= 20 ? Math.log1p(Math.exp(v)) : v); // F.softplus(beta=1, threshold=20)

/** mamba_inner_fn_no_out_proj on xz rows (L x 2D): returns out_z (L x D). */
function innerFn(xz: Rows, sd: StateDict, p: string, sfx: string, c: RefMixerCfg, lbmWindow: number): Rows {
  const L = xz.length;
  const D = xz[0].length / 2;
  const { dState: N, dConv: K, dtRank: R } = c;
  const convW = param(sd, `${p}conv1d${sfx}.weight`); // (D, 1, K)
  const convB = param(sd, `${p}conv1d${sfx}.bias`);
  const xProj = param(sd, `${p}x_proj${sfx}.weight`); // (R+2N, D)
  const dtW = param(sd, `${p}dt_proj${sfx}.weight`); // (D, R)
  const dtB = param(sd, `${p}dt_proj${sfx}.bias`);
  const Alog = param(sd, `${p}${sfx ? 'A_b_log' : 'A_log'}`); // (D, N)
  const Dskip = param(sd, `${p}${sfx ? 'D_b' : 'D'}`);
  // causal_conv1d_fn(x, weight "d 1 w -> d w", bias, activation silu): out[t] = b + sum_w W[w] x[t - (K-1) + w]
  const u: Rows = [];
  for (let t = 0; t < L; t++) {
    const row = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      let s = convB[d];
      for (let w = 0; w < K; w++) {
        const src = t - (K - 1) + w;
        if (src >= 0) s += convW[d * K + w] * xz[src][d];
      }
      row[d] = silu(s);
    }
    u.push(row);
  }
  const xdbl = linear(u, xProj, R + 2 * N);
  // delta = delta_proj_weight @ x_dbl[:, :R].t(); B, C = x_dbl[:, R:R+N], x_dbl[:, -N:]
  const delta: Rows = xdbl.map((row) => {
    const o = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      let s = 0;
      for (let r = 0; r < R; r++) s += dtW[d * R + r] * row[r];
      o[d] = softplus(s + dtB[d]); // delta + delta_bias, then softplus
    }
    return o;
  });
  // selective_scan_ref: x = deltaA * x + deltaB_u; y = x . C; out = y + u * D; out * silu(z)
  const out: Rows = Array.from({ length: L }, () => new Float64Array(D));
  for (let d = 0; d < D; d++) {
    for (let n = 0; n < N; n++) {
      const A = -Math.exp(Alog[d * N + n]);
      const a = new Float64Array(L);
      const b = new Float64Array(L);
      for (let t = 0; t < L; t++) {
        a[t] = Math.exp(delta[t][d] * A);
        b[t] = delta[t][d] * xdbl[t][R + n] * u[t][d];
      }
      let h = 0;
      const hs = new Float64Array(L);
      for (let t = 0; t < L; t++) {
        h = a[t] * h + b[t];
        hs[t] = h;
      }
      if (lbmWindow > 0) {
        // ThreadReverseScanForForward on each thread's items: out[i] = a_i * excl; excl = out[i] + b_i
        for (let s0 = 0; s0 < L; s0 += lbmWindow) {
          let excl = 0;
          for (let t = Math.min(s0 + lbmWindow, L) - 1; t >= s0; t--) {
            const rev = a[t] * excl;
            excl = rev + b[t];
            hs[t] += rev;
          }
        }
      }
      for (let t = 0; t < L; t++) out[t][d] += hs[t] * xdbl[t][R + N + n];
    }
  }
  for (let t = 0; t < L; t++) {
    for (let d = 0; d < D; d++) {
      const y = out[t][d] + u[t][d] * Dskip[d];
      out[t][d] = y * silu(xz[t][D + d]);
    }
  }
  return out;
}

/** Mamba.forward (fast path) of the mixer at `prefix` (e.g. 'layers.0.mixer.'): x (L x C) -> (L x C). */
export function refMixer(x: Rows, sd: StateDict, prefix: string, c: RefMixerCfg): Rows {
  const inW = param(sd, `${prefix}in_proj.weight`);
  const outW = param(sd, `${prefix}out_proj.weight`);
  const C = x[0].length;
  const xz = linear(x, inW, inW.length / C);
  let y = innerFn(xz, sd, prefix, '', c, c.lbmWindow);
  if (c.bimamba === 'v2') {
    const yb = innerFn([...xz].reverse(), sd, prefix, '_b', c, 0).reverse();
    y = y.map((row, t) => row.map((v, d) => (c.divideOut ? (v + yb[t][d]) / 2 : v + yb[t][d])));
  }
  return linear(y, outW, C);
}

function rmsNorm(x: Rows, w: Float64Array, eps: number): Rows {
  return x.map((row) => {
    let ms = 0;
    for (const v of row) ms += v * v;
    const r = 1 / Math.sqrt(ms / row.length + eps);
    return row.map((v, i) => v * r * w[i]);
  });
}

export interface RefModelCfg {
  patch: number;
  stride: number;
  depth: number;
  /** 'middle' | 'head' | 'none' */
  cls: 'middle' | 'head' | 'none';
  pool: 'mean' | 'none';
  layerwiseReverse: boolean;
  /** layerwise_reverse_cls (BiVisionMamba): with a leading class token, False keeps it in place */
  reverseCls: boolean;
  eps: number;
  mixer(i: number, L: number): RefMixerCfg;
  /** called after layer i (flips included) with residual + hidden, in the official code's orientation */
  onLayer?(i: number, stream: Rows): void;
}

/**
 * forward(x) in eval mode: image NCHW (C, H, W) of one sample as a flat Float64Array -> logits.
 * Follows forward_features literally, flips included.
 */
export function refModel(img: Float64Array, inC: number, H: number, W: number, sd: StateDict, c: RefModelCfg): Float64Array {
  const pw = param(sd, 'patch_embed.proj.weight'); // (E, inC, p, p)
  const pb = param(sd, 'patch_embed.proj.bias');
  const E = pb.length;
  const p = c.patch;
  const gh = Math.floor((H - p) / c.stride) + 1, gw = Math.floor((W - p) / c.stride) + 1;
  // x.flatten(2).transpose(1, 2): token gy*gw + gx
  let x: Rows = [];
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      const tok = new Float64Array(E);
      for (let e = 0; e < E; e++) {
        let s = pb[e];
        for (let ci = 0; ci < inC; ci++) for (let ky = 0; ky < p; ky++) for (let kx = 0; kx < p; kx++) {
          s += pw[((e * inC + ci) * p + ky) * p + kx] * img[(ci * H + gy * c.stride + ky) * W + gx * c.stride + kx];
        }
        tok[e] = s;
      }
      x.push(tok);
    }
  }
  const M = x.length;
  let tokenPosition = -1;
  if (c.cls !== 'none') {
    const cls = param(sd, 'cls_token');
    tokenPosition = c.cls === 'middle' ? Math.floor(M / 2) : 0;
    x = [...x.slice(0, tokenPosition), cls, ...x.slice(tokenPosition)];
  }
  if (sd.has('pos_embed')) {
    const pe = param(sd, 'pos_embed');
    x = x.map((row, t) => row.map((v, e) => v + pe[t * E + e]));
  }
  const L = x.length;
  // BiVisionMamba: `if self.if_cls_token and not self.use_middle_cls_token` -> keep token 0 unless
  // layerwise_reverse_cls; else the whole sequence
  const flip = (r: Rows): Rows => (c.cls === 'head' && !c.reverseCls ? [r[0], ...r.slice(1).reverse()] : [...r].reverse());
  let residual: Rows | null = null;
  let hidden = x;
  for (let i = 0; i < c.depth; i++) {
    // Block.forward (fused add + RMSNorm, prenorm): residual = hidden (+ residual); hidden = norm(residual)
    residual = residual ? residual.map((row, t) => row.map((v, e) => v + hidden[t][e])) : hidden;
    const normed = rmsNorm(residual, param(sd, `layers.${i}.norm.weight`), c.eps);
    hidden = refMixer(normed, sd, `layers.${i}.mixer.`, c.mixer(i, L));
    if (c.layerwiseReverse) {
      hidden = flip(hidden);
      residual = flip(residual);
    }
    c.onLayer?.(i, residual.map((row, t) => row.map((v, e) => v + hidden[t][e])));
  }
  const fin = rmsNorm(residual!.map((row, t) => row.map((v, e) => v + hidden[t][e])), param(sd, 'norm_f.weight'), c.eps);
  let feat: Float64Array;
  if (tokenPosition >= 0) feat = fin[tokenPosition];
  else if (c.pool === 'none') feat = fin[L - 1];
  else {
    feat = new Float64Array(E);
    for (const row of fin) for (let e = 0; e < E; e++) feat[e] += row[e] / L;
  }
  const hw = param(sd, 'head.weight');
  return linear([feat], hw, hw.length / E, param(sd, 'head.bias'))[0];
}

/** mulberry32: a small seeded generator for test weights (independent of the library's RNG). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random values of realistic scale for every key of a PyTorch-layout state dict (so that no term of
 * the forward pass is negligible): A_log = log(n+1) + noise, D ~ U(0.5, 1.5), dt biases ~ U(-4, -1)
 * (softplus 0.02..0.3), norm weights ~ U(0.8, 1.2), weights ~ U(+-1.5/sqrt(fan_in)), embeddings ~ U(+-0.5).
 */
export function randomStateDict(shapes: Array<[string, number[]]>, seed: number): StateDict {
  const r = seeded(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  const out: StateDict = new Map();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const last = name.split('.').pop()!;
    const fanIn = shape.length > 1 ? n / shape[0] : 1;
    for (let i = 0; i < n; i++) {
      if (last === 'A_log' || last === 'A_b_log') data[i] = Math.log((i % shape[1]) + 1) + u(-0.3, 0.3);
      else if (last === 'D' || last === 'D_b') data[i] = u(0.5, 1.5);
      else if (/dt_proj(_b)?\.bias$/.test(name)) data[i] = u(-4, -1);
      else if (/norm(_f)?\.weight$/.test(name)) data[i] = u(0.8, 1.2);
      else if (name === 'cls_token' || name === 'pos_embed' || last === 'bias') data[i] = u(-0.5, 0.5);
      else data[i] = u(-1.5, 1.5) / Math.sqrt(fanIn);
    }
    out.set(name, { dtype: 'float32', shape: [...shape], data });
  }
  return out;
}
