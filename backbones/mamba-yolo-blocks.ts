// Mamba-YOLO blocks (Wang et al., "Mamba YOLO: A Simple Baseline for Object Detection with State Space
// Model", AAAI 2025, arXiv 2406.05835). Port of HZAI-ZJNU/Mamba-YOLO@b26cbda
// ultralytics/nn/modules/mamba_yolo.py (SS2D, RGBlock, LSBlock, XSSBlock, VSSBlock = the paper's
// ODSSBlock, SimpleStem, VisionClueMerge) and common_utils_mbyolo.py (LayerNorm2d, cross_selective_scan).
// NHWC activations; the official channel-first 1x1 Conv2d layers keep their (out, in, 1, 1) weights.
import { YConv2d } from '../heads/yolo/fast-conv.ts';
import { tf, type Tensor } from '../core/tf.ts';
import { Module, LayerNorm, BatchNorm2d, DropPath, Sequential, gelu, silu, normal, type Layer } from '../core/nn/index.ts';
import '../scans/index.ts';
import { SS2DCore, type ParamSink } from '../scans/core.ts';
import { yoloBatchNorm } from '../heads/yolo/conv.ts';

/** common_utils_mbyolo.LayerNorm2d: a wrapper whose nn.LayerNorm(C, eps=1e-6) is the child `norm` (keys norm.norm.*) */
export class LayerNorm2dWrap extends Module implements Layer {
  readonly norm: LayerNorm;
  constructor(c: number, eps = 1e-6) {
    super();
    this.norm = this.child('norm', new LayerNorm(c, eps));
  }
  forward(x: Tensor): Tensor {
    return this.norm.forward(x);
  }
}

/** Conv2d 1x1 (+ BN + SiLU): the `proj_conv` / `in_proj` / `pw_linear` Sequentials */
class ConvBnSiLU extends Sequential {
  constructor(c1: number, c2: number, bias: boolean) {
    super(new YConv2d(c1, c2, 1, { bias }), yoloBatchNorm(c2), new SiLUModule());
  }
}

class SiLUModule extends Module implements Layer {
  forward(x: Tensor): Tensor { return silu(x); }
}

class GELUModule extends Module implements Layer {
  forward(x: Tensor): Tensor { return gelu(x); }
}

export interface SS2DArgs {
  d_model: number;
  d_state?: number;
  ssm_ratio?: number;
  dt_rank?: number | 'auto';
  d_conv?: number;
  conv_bias?: boolean;
  /** scan strategy of the core (default 'cross', the official CrossScan/CrossMerge) */
  scan?: string;
}

/**
 * SS2D as Mamba-YOLO builds it (forward_type v2, ssm_rank_ratio = ssm_ratio so no low-rank path):
 * in_proj 1x1 conv (C -> 2 d_expand, no bias) -> split x, z; z = GELU(z); x = GELU(dwconv3x3(x));
 * y = cross-scan selective scan (K = 4, summed) -> out_norm LayerNorm(d_expand, eps 1e-5) -> y * z ->
 * out_proj 1x1 conv (d_expand -> C, no bias). Both activations are the module's `nn.GELU()`,
 * whatever act_layer says. "Simple init": A_logs = 0 (A = -1), Ds = 1, dt_projs_* ~ N(0, 1).
 */
export class MYSS2D extends Module implements Layer {
  readonly in_proj: YConv2d;
  readonly conv2d: YConv2d | null;
  readonly out_norm: LayerNorm;
  readonly out_proj: YConv2d;
  readonly core: SS2DCore;
  readonly dExpand: number;

  constructor(a: SS2DArgs) {
    super();
    const C = a.d_model;
    const D = Math.trunc((a.ssm_ratio ?? 2) * C);
    this.dExpand = D;
    const R = (a.dt_rank ?? 'auto') === 'auto' ? Math.ceil(C / 16) : (a.dt_rank as number);
    const dConv = a.d_conv ?? 3;
    // the official init of these four replaces Mamba's (VMamba's mamba_init is not called here)
    const simpleInit: Record<string, (shape: number[]) => Tensor> = {
      A_logs: (s) => tf.zeros(s),
      Ds: (s) => tf.ones(s),
      dt_projs_weight: (s) => normal(s, 1),
      dt_projs_bias: (s) => normal(s, 1),
    };
    const sink: ParamSink = {
      param: (n, v, o) => {
        const f = simpleInit[n];
        if (!f) return this.param(n, v, o);
        const shape = v.shape;
        v.dispose();
        return this.param(n, f(shape), o);
      },
      child: (n, m) => this.child(n, m),
    };
    this.core = new SS2DCore(sink, { scan: a.scan ?? 'cross', dInner: D, dState: a.d_state ?? 16, dtRank: R });
    this.out_norm = this.child('out_norm', new LayerNorm(D));
    this.in_proj = this.child('in_proj', new YConv2d(C, 2 * D, 1, { bias: false }));
    this.conv2d = dConv > 1 ? this.child('conv2d', new YConv2d(D, D, dConv, { groups: D, padding: (dConv - 1) >> 1, bias: a.conv_bias ?? true })) : null;
    this.out_proj = this.child('out_proj', new YConv2d(D, C, 1, { bias: false }));
  }

  /** (B, H, W, C) -> (B, H, W, C) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [h0, z] = this.in_proj.forwardSplit(x, [this.dExpand, this.dExpand]);
      const z1 = gelu(z);
      let h = this.conv2d ? this.conv2d.forward(h0) : h0;
      h = gelu(h);
      const y = this.out_norm.forward(this.core.forward(h, { preConv: h0 }));
      return this.out_proj.forward(tf.mul(y, z1));
    });
  }
}

/** RGBlock(C, 4C): hf = int(2 * 4C / 3); fc1 1x1 (C -> 2 hf) -> (x, v); x = GELU(dwconv3x3(x) + x) * v; fc2 1x1 (hf -> C) */
export class RGBlock extends Module implements Layer {
  readonly fc1: YConv2d;
  readonly dwconv: YConv2d;
  readonly fc2: YConv2d;
  readonly hidden: number;

  constructor(inFeatures: number, hiddenFeatures: number) {
    super();
    const hf = Math.trunc((2 * hiddenFeatures) / 3);
    this.hidden = hf;
    this.fc1 = this.child('fc1', new YConv2d(inFeatures, hf * 2, 1));
    this.dwconv = this.child('dwconv', new YConv2d(hf, hf, 3, { padding: 1, groups: hf }));
    this.fc2 = this.child('fc2', new YConv2d(hf, inFeatures, 1));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const [h, v] = this.fc1.forwardSplit(x, [this.hidden, this.hidden]);
      return this.fc2.forward(tf.mul(gelu(tf.add(this.dwconv.forward(h), h)), v));
    });
  }
}

/** LSBlock(C, C): fc1 dw3x3 (bias) -> BN -> fc2 1x1 -> GELU -> fc3 1x1 -> + input */
export class LSBlock extends Module implements Layer {
  readonly fc1: YConv2d;
  readonly norm: BatchNorm2d;
  readonly fc2: YConv2d;
  readonly fc3: YConv2d;

  constructor(inFeatures: number, hidden: number) {
    super();
    this.fc1 = this.child('fc1', new YConv2d(inFeatures, hidden, 3, { padding: 1, groups: hidden }));
    this.norm = this.child('norm', yoloBatchNorm(hidden));
    this.fc2 = this.child('fc2', new YConv2d(hidden, hidden, 1));
    this.child('act', new GELUModule());
    this.fc3 = this.child('fc3', new YConv2d(hidden, inFeatures, 1));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(x, this.fc3.forward(gelu(this.fc2.forward(this.norm.forward(this.fc1.forward(x)))))));
  }
}

export interface BlockOptions {
  drop_path?: number;
  mlp_ratio?: number;
  ssm_d_state?: number;
  ssm_ratio?: number;
  ssm_dt_rank?: number | 'auto';
  ssm_conv?: number;
  ssm_conv_bias?: boolean;
  scan?: string;
}

/**
 * What VSSBlock and XSSBlock share: x0 = proj(x); X1 = LSBlock(x0); x = x0 + drop_path(mixer(LN2d(X1)));
 * x = x + drop_path(RGBlock(LN2d(x))) when mlp_ratio > 0. Submodules are registered in the official
 * order: the block's projection (by the subclass, first), norm, the mixer, drop_path, lsblock, norm2, mlp.
 */
abstract class LSSBlock extends Module implements Layer {
  norm!: LayerNorm2dWrap;
  lsblock!: LSBlock;
  norm2: LayerNorm2dWrap | null = null;
  mlp: RGBlock | null = null;
  private dropPath!: DropPath;
  private mixer!: Layer;

  /** the projection into hiddenDim (identity where there is none) */
  protected abstract project(x: Tensor): Tensor;

  /** registers norm, the mixer under `mixerName`, drop_path, lsblock, norm2 and mlp; returns the mixer */
  protected body<M extends Module & Layer>(hiddenDim: number, o: BlockOptions, mixerName: string, mixer: M): M {
    this.norm = this.child('norm', new LayerNorm2dWrap(hiddenDim));
    this.mixer = this.child(mixerName, mixer);
    this.dropPath = this.child('drop_path', new DropPath(o.drop_path ?? 0));
    this.lsblock = this.child('lsblock', new LSBlock(hiddenDim, hiddenDim));
    const mlpRatio = o.mlp_ratio ?? 4;
    if (mlpRatio > 0) {
      this.norm2 = this.child('norm2', new LayerNorm2dWrap(hiddenDim));
      this.mlp = this.child('mlp', new RGBlock(hiddenDim, Math.trunc(hiddenDim * mlpRatio)));
    }
    return mixer;
  }

  forward(input: Tensor): Tensor {
    return tf.tidy(() => {
      const x0 = this.project(input);
      const x1 = this.lsblock.forward(x0);
      let x = tf.add(x0, this.dropPath.forward(this.mixer.forward(this.norm.forward(x1))));
      if (this.mlp) x = tf.add(x, this.dropPath.forward(this.mlp.forward(this.norm2!.forward(x))));
      return x;
    });
  }
}

/** VSSBlock (the paper's ODSSBlock): proj_conv [1x1 conv (bias) + BN + SiLU], mixer `op` = one SS2D. */
export class VSSBlock extends LSSBlock {
  readonly proj_conv: Sequential;
  readonly op: MYSS2D;

  constructor(inChannels: number, hiddenDim: number, o: BlockOptions = {}) {
    super();
    this.proj_conv = this.child('proj_conv', new ConvBnSiLU(inChannels, hiddenDim, true));
    this.op = this.body(hiddenDim, o, 'op', new MYSS2D(ss2dArgs(hiddenDim, o)));
  }

  protected project(x: Tensor): Tensor {
    return this.proj_conv.forward(x);
  }
}

/**
 * XSSBlock (neck): in_proj [1x1 conv (no bias) + BN + SiLU] when c_in != c_out (else identity), mixer
 * `ss2d` = n chained SS2D (no residual between them).
 */
export class XSSBlock extends LSSBlock {
  readonly in_proj: Sequential | null;
  readonly ss2d: Sequential;

  constructor(inChannels: number, hiddenDim: number, n = 1, o: BlockOptions = {}) {
    super();
    this.in_proj = inChannels !== hiddenDim ? this.child('in_proj', new ConvBnSiLU(inChannels, hiddenDim, false)) : null;
    this.ss2d = this.body(hiddenDim, o, 'ss2d', new Sequential(...Array.from({ length: n }, () => new MYSS2D(ss2dArgs(hiddenDim, o)))));
  }

  protected project(x: Tensor): Tensor {
    return this.in_proj ? this.in_proj.forward(x) : x;
  }
}

function ss2dArgs(dim: number, o: BlockOptions): SS2DArgs {
  return { d_model: dim, d_state: o.ssm_d_state ?? 16, ssm_ratio: o.ssm_ratio ?? 2, dt_rank: o.ssm_dt_rank ?? 'auto', d_conv: o.ssm_conv ?? 3, conv_bias: o.ssm_conv_bias ?? true, scan: o.scan };
}

/** SimpleStem(inp, C, ks=3): conv ks s2 (inp -> C/2, no bias) -> BN -> GELU -> conv ks s2 (C/2 -> C, no bias) -> BN -> SiLU */
export class SimpleStem extends Module implements Layer {
  readonly conv: Sequential;
  constructor(inp: number, embedDim: number, ks = 3) {
    super();
    const h = Math.floor(embedDim / 2);
    const pad = Math.floor(ks / 2);
    this.conv = this.child('conv', new Sequential(
      new YConv2d(inp, h, ks, { stride: 2, padding: pad, bias: false }), yoloBatchNorm(h), new GELUModule(),
      new YConv2d(h, embedDim, ks, { stride: 2, padding: pad, bias: false }), yoloBatchNorm(embedDim), new SiLUModule(),
    ));
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

/**
 * VisionClueMerge(dim, out): concat [x(::2, ::2), x(1::2, ::2), x(::2, 1::2), x(1::2, 1::2)] (rows, cols)
 * on channels (4 dim) -> 1x1 conv (bias) -> BN -> SiLU. H and W must be even.
 */
export class VisionClueMerge extends Module implements Layer {
  readonly pw_linear: Sequential;
  constructor(dim: number, outDim: number) {
    super();
    this.pw_linear = this.child('pw_linear', new ConvBnSiLU(dim * 4, outDim, true));
  }
  forward(x: Tensor): Tensor {
    const [B, H, W, C] = x.shape;
    if (H % 2 || W % 2) throw new Error(`VisionClueMerge: the map must have even sides, got ${H}x${W} (the input size must be a multiple of 32)`);
    return tf.tidy(() => {
      // (B, H/2, hp, W/2, wp, C) -> (B, H/2, W/2, wp, hp, C): channel block wp*2 + hp is the official order
      const y = x.reshape([B, H / 2, 2, W / 2, 2, C]).transpose([0, 1, 3, 4, 2, 5]).reshape([B, H / 2, W / 2, 4 * C]);
      return this.pw_linear.forward(y);
    });
  }
}
