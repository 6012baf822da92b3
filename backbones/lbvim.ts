// LBVim: Vim with locally bidirectional Mamba blocks — LBMamba: Locally Bi-directional Mamba
// (Zhang et al., TMLR, arXiv 2506.15976). Port of cvlab-stonybrook/LBMamba@5215551
// classification/models_mamba_bi.py (BiVisionMamba, lbvim_{tiny,300,small}_patch16_224) with the
// mixer of classification/mamba_ssm/modules/mamba_simple.py (`lbm=True`) and the forward kernel of
// LBMamba_kernel/selective_scan_fwd_kernel.cuh + reverse_scan.cuh (ThreadReverseScanForForward).
//
// BiVisionMamba is a fork of Vim's VisionMamba (backbones/vim.ts holds the shared model): released
// models have plain (non-bimamba) Mamba layers whose kernel adds a local backward scan inside aligned
// windows of the sequence (the CUDA launch's items per thread: L <= 128 -> 4, <= 256 -> 8, else 16;
// the 196 patches at 224/16 -> 8), no class token, mean pooling, and `layerwise_reverse_sq`: after
// every layer both hidden_states and residual are flipped along L, so layer i scans the sequence
// forward when i is even and reversed when odd. Here the residual stream stays in sequence order and
// each mixer reads its layer's order (a reverse), which computes the same thing: norms and residual
// adds are per token. The official final orientation (reversed after an odd number of layers) is
// honoured where it matters (the last token / class token read by the pooling).
// Parameter names are plain Mamba's (`layers.i.mixer.{A_log, D, in_proj, conv1d, x_proj, dt_proj,
// out_proj}`), no `_b` parameters. BiVisionMamba's constructor defaults are Vim's (bimamba v2 with a
// middle class token; with lbm the v2 forward branch runs the LBMamba kernel and the backward
// branch the plain one, as the official code calls them), so `createModel({ family: 'lbvim' })`
// builds that; the released factories are the variants below.
//
// Parameter counts, worked out from the official constructors (per layer: in_proj 2*Di*C, conv1d
// Di*4 + Di, x_proj (R+2N)*Di, dt_proj Di*R + Di, A_log Di*N, D Di, out_proj C*Di, norm C; plus
// patch_embed, pos_embed 196*C, head, norm_f): tiny 6,419,560, '300' 14,897,200, small 23,897,320.
// models.md gives no instantiated LBVim count to compare with, and no weights were released (the
// README's download link is empty): logits parity with the official code is UNVERIFIED for lack of
// a golden file; the mixer (with the kernel's local backward scan) and the layer-wise flipping are
// checked against float64 transcriptions of the official code (tests/family-lbvim.test.ts).
// Not ported: `lbvim_528_patch16_224_atthead` (head_type: the attention heads of models_utils.py).
//
// Scan: `scan=` (default 'local-bidirectional', LBMamba's row-major order; its `window` option
// overrides the kernel's window) may be any registered strategy with one direction whose plan visits
// every patch once (hilbert with directions=1, ...): it sets the order every mixer reads, reversed
// on odd layers by layerwise_reverse_sq; `lbm` keeps choosing the local backward scan. Strategies
// with several directions do not fit: a plain Mamba layer has one set of scan parameters. With a
// class token the order stays the sequence order (the token sits at a sequence position).
import '../scans/index.ts'; // registers the strategies `scan=` can name
import { scans, type ScanOptions } from '../scans/registry.ts';
import type { MambaMixerConfig } from './mamba-mixer.ts';
import { VisionMamba, VIM_DEFAULTS, VIM_IGNORED_KWARGS, commonSpec, type VimConfig, type VimSpec, type SequenceOrders } from './vim.ts';
import { registerFamily, checkKwargs } from './registry.ts';

// ---- config (BiVisionMamba's keyword names and defaults) ----------------------------------------

const { if_bimamba: _vimOnly, ...VIM_SHARED } = VIM_DEFAULTS; // BiVisionMamba has no if_bimamba
export const LBVIM_DEFAULTS = {
  ...VIM_SHARED,
  use_thread_head_cls_token: false, thread_head_cls_token_len: 8,
  layerwise_reverse_sq: false, layerwise_reverse_cls: true, return_cls_token: true,
  lbm: true, last_n_layer_vim: 0, head_type: null as string | null, head_n_heads: 3,
  // ssm-vision additions: the order the mixers scan (see the header)
  scan: 'local-bidirectional', scan_options: {} as ScanOptions,
};
export type LBVimConfig = typeof LBVIM_DEFAULTS;

// ---- sequence orders ---------------------------------------------------------------------------

const identity = (L: number) => Int32Array.from({ length: L }, (_, j) => j);

function isIdentity(o: Int32Array): boolean {
  return o.every((v, j) => v === j);
}

/** The patch order of a one-direction strategy on a gh x gw grid: a permutation of 0..gh*gw-1, checked. */
function routeOf(c: LBVimConfig, gh: number, gw: number, layer: number): Int32Array {
  const strategy = scans.get(c.scan);
  const opts = { ...c.scan_options, ...('layer' in strategy.options ? { layer } : {}) };
  const K = strategy.directions(opts);
  if (K !== 1) throw new Error(`lbvim: scan '${c.scan}' has ${K} directions; a plain Mamba layer scans one (pick a one-direction strategy, e.g. hilbert with directions=1)`);
  const plan = strategy.plan(gh, gw, opts);
  const P = gh * gw;
  const seen = new Uint8Array(P);
  if (plan.L !== P) throw new Error(`lbvim: scan '${c.scan}' visits ${plan.L} steps on a ${gh}x${gw} grid; the sequence has ${P} tokens (no padding or sub-grids)`);
  for (const p of plan.index) {
    if (p < 0 || seen[p]) throw new Error(`lbvim: scan '${c.scan}' must visit every patch exactly once (position ${p})`);
    seen[p] = 1;
  }
  return Int32Array.from(plan.index);
}

/**
 * The official flip applied after every layer (`layerwise_reverse_sq`): the whole sequence, or, with
 * a leading class token and layerwise_reverse_cls=False, everything but that token.
 */
function flipOf(c: LBVimConfig, L: number, headCls: boolean): Int32Array {
  if (headCls && !c.layerwise_reverse_cls) return Int32Array.from({ length: L }, (_, j) => (j === 0 ? 0 : L - j));
  return Int32Array.from({ length: L }, (_, j) => L - 1 - j);
}

function ordersOf(c: LBVimConfig, hasCls: boolean, headCls: boolean, gh: number, gw: number, L: number): SequenceOrders {
  const flip = flipOf(c, L, headCls);
  // F^i: identity for even i, flip for odd i (the flips are involutions)
  const flipped = (i: number) => c.layerwise_reverse_sq && i % 2 === 1;
  const layers: Array<Int32Array | null> = [];
  for (let i = 0; i < c.depth; i++) {
    const route = hasCls ? identity(L) : routeOf(c, gh, gw, i);
    // the mixer of layer i reads our position route[F^i[j]] at its step j
    const order = flipped(i) ? Int32Array.from(flip, (f) => route[f]) : route;
    layers.push(isIdentity(order) ? null : order);
  }
  return { layers, final: flipped(c.depth) ? flip : null };
}

// ---- kwargs -> structure -----------------------------------------------------------------------

function lbvimSpec(kwargs: Record<string, unknown>): VimSpec {
  checkKwargs('lbvim', kwargs, LBVIM_DEFAULTS, VIM_IGNORED_KWARGS);
  const c = { ...LBVIM_DEFAULTS, ...kwargs } as LBVimConfig;
  if (c.use_thread_head_cls_token) throw new Error('lbvim: use_thread_head_cls_token=True is not supported (no released model uses it)');
  if (c.head_type !== null) throw new Error(`lbvim: head_type '${c.head_type}' (the attention heads of models_utils.py, lbvim_528_patch16_224_atthead) is not supported`);
  if (!Number.isInteger(c.last_n_layer_vim) || c.last_n_layer_vim < 0) throw new Error(`lbvim: last_n_layer_vim must be a non-negative integer, got ${c.last_n_layer_vim}`);
  // flip_img_sequences_ratio is stored but never read by BiVisionMamba.forward_features
  const { mixerBase, ...common } = commonSpec('lbvim', { ...c, if_bimamba: false, flip_img_sequences_ratio: -1 } as VimConfig);
  const cls = !c.if_cls_token ? 'none' : c.use_middle_cls_token ? 'middle' : 'head';
  const strategy = scans.get(c.scan);
  const scanOpts = strategy.resolve(c.scan_options);
  if (cls !== 'none' && (c.scan !== 'local-bidirectional' || scanOpts.alternate)) {
    throw new Error(`lbvim: scan='${c.scan}' reorders patch tokens, which a model with a class token does not allow (the token sits at a sequence position): keep the default 'local-bidirectional'`);
  }
  const window = c.scan === 'local-bidirectional' ? (scanOpts.window as number) : 0;
  const depth = c.depth;
  const spec: VimSpec = {
    ...common, family: 'lbvim', config: c, cls, returnCls: c.return_cls_token,
    mixer: (i) => (i < depth - c.last_n_layer_vim
      ? { ...mixerBase, bimamba_type: c.bimamba_type as MambaMixerConfig['bimamba_type'], lbm: c.lbm, lbm_window: window }
      : { ...mixerBase, bimamba_type: 'v2', lbm: false }), // the last n layers are Vim's
    orders: (gh, gw, L) => ordersOf(c, cls !== 'none', cls === 'head', gh, gw, L),
  };
  // surface a bad scan at construction, on the img_size grid
  const g = Math.floor((c.img_size - c.patch_size) / c.stride) + 1;
  if (g >= 1 && cls === 'none') routeOf(c, g, g, 0);
  return spec;
}

// ---- variants as data --------------------------------------------------------------------------

/** The released factories' keyword arguments (`lbvim_*_patch16_224`). */
const RELEASED = {
  patch_size: 16, depth: 24, rms_norm: true, residual_in_fp32: true, fused_add_norm: true, final_pool_type: 'mean', if_abs_pos_embed: true,
  if_rope: false, if_rope_residual: false, bimamba_type: 'none', if_cls_token: false, if_divide_out: true, use_middle_cls_token: true,
  lbm: true, layerwise_reverse_sq: true,
};

/** drop_path_rate 0.05: classification/scripts/train.sh (--drop-path) for all three. No released weights, no published FLOPs in the repo. */
const VARIANTS = {
  lbvim_tiny: { config: { ...RELEASED, embed_dim: 192, drop_path_rate: 0.05 }, officialParams: 6_419_560 },
  lbvim_300: { config: { ...RELEASED, embed_dim: 300, drop_path_rate: 0.05 }, officialParams: 14_897_200 },
  lbvim_small: { config: { ...RELEASED, embed_dim: 384, drop_path_rate: 0.05 }, officialParams: 23_897_320 },
  // the released structure at toy size: 4x4 patches (local backward window 4), an odd depth
  test_lbvim: { config: { ...RELEASED, img_size: 32, patch_size: 8, stride: 8, depth: 3, embed_dim: 32, d_state: 4, num_classes: 10, drop_path_rate: 0.1 } },
};

registerFamily('lbvim', {
  paper: 'LBMamba: Locally Bi-directional Mamba (Zhang et al., TMLR, arXiv 2506.15976)',
  upstream: 'cvlab-stonybrook/LBMamba@5215551 classification/models_mamba_bi.py (BiVisionMamba), classification/mamba_ssm/modules/mamba_simple.py (Mamba, lbm), LBMamba_kernel/selective_scan_fwd_kernel.cuh',
  defaults: LBVIM_DEFAULTS,
  create: (kwargs) => new VisionMamba(lbvimSpec(kwargs)),
}, VARIANTS);
