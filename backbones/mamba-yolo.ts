// Mamba-YOLO T / B / L: the ODMamba backbone, the PAFPN neck of XSSBlocks and the YOLOv8 Detect head,
// built as ultralytics' parse_model builds HZAI-ZJNU/Mamba-YOLO@b26cbda
// ultralytics/cfg/models/mamba-yolo/Mamba-YOLO-{T,B,L}.yaml (ultralytics/nn/tasks.py parse_model,
// DetectionModel). State-dict names are the DetectionModel's (`model.0.conv.0.weight`,
// `model.5.2.op.A_logs`, `model.21.cv2.0.2.bias`). Paper: Wang et al., AAAI 2025, arXiv 2406.05835.
//
// parse_model: channels c2 = make_divisible(min(arg, max_channels) * width, 8); repeats
// n = max(round(n * depth), 1) when n > 1; VSSBlock repeats are an nn.Sequential of n blocks (keys
// `model.5.0.*` ... only when n > 1), XSSBlock takes n as its third argument (n chained SS2D).
import { tf, type Tensor } from '../core/tf.ts';
import { Module, ModuleList, Sequential, type Layer } from '../core/nn/index.ts';
import type { Backbone, FeatureInfo, ForwardIntermediatesOptions } from './backbone.ts';
import { registerFamily, checkKwargs } from './registry.ts';
import { SimpleStem, VisionClueMerge, VSSBlock, XSSBlock, type BlockOptions } from './mamba-yolo-blocks.ts';
import { Concat, Conv, SPPF, Upsample } from '../heads/yolo/conv.ts';
import { Detect } from '../heads/yolo/detect.ts';

type ModuleName = 'SimpleStem' | 'VSSBlock' | 'VisionClueMerge' | 'SPPF' | 'Upsample' | 'Concat' | 'XSSBlock' | 'Conv' | 'Detect';

/** [from, repeats, module, args] of Mamba-YOLO-{T,B,L}.yaml (backbone + head; identical for all scales) */
export const MAMBA_YOLO_LAYERS: ReadonlyArray<readonly [number | number[], number, ModuleName, number[]]> = [
  [-1, 1, 'SimpleStem', [128, 3]], // 0 P2/4
  [-1, 3, 'VSSBlock', [128]], // 1
  [-1, 1, 'VisionClueMerge', [256]], // 2 P3/8
  [-1, 3, 'VSSBlock', [256]], // 3
  [-1, 1, 'VisionClueMerge', [512]], // 4 P4/16
  [-1, 9, 'VSSBlock', [512]], // 5
  [-1, 1, 'VisionClueMerge', [1024]], // 6 P5/32
  [-1, 3, 'VSSBlock', [1024]], // 7
  [-1, 1, 'SPPF', [1024, 5]], // 8
  [-1, 1, 'Upsample', [2]], // 9
  [[-1, 5], 1, 'Concat', []], // 10 cat backbone P4
  [-1, 3, 'XSSBlock', [512]], // 11
  [-1, 1, 'Upsample', [2]], // 12
  [[-1, 3], 1, 'Concat', []], // 13 cat backbone P3
  [-1, 3, 'XSSBlock', [256]], // 14 (P3/8-small)
  [-1, 1, 'Conv', [256, 3, 2]], // 15
  [[-1, 11], 1, 'Concat', []], // 16 cat head P4
  [-1, 3, 'XSSBlock', [512]], // 17 (P4/16-medium)
  [-1, 1, 'Conv', [512, 3, 2]], // 18
  [[-1, 8], 1, 'Concat', []], // 19 cat head P5
  [-1, 3, 'XSSBlock', [1024]], // 20 (P5/32-large)
  [[14, 17, 20], 1, 'Detect', []], // 21 Detect(P3, P4, P5)
];

/** the YAMLs' `scales`: [depth, width, max_channels] */
export const MAMBA_YOLO_SCALES: Readonly<Record<string, readonly [number, number, number]>> = {
  T: [0.33, 0.25, 1024],
  B: [0.33, 0.5, 1024],
  L: [0.67, 0.75, 768],
};

export const MAMBA_YOLO_DEFAULTS = {
  /** number of classes */
  nc: 80,
  /** 'T' | 'B' | 'L' (the YAML scales); depth/width/max_channels override it */
  scale: 'T',
  depth: null as number | null,
  width: null as number | null,
  max_channels: null as number | null,
  /** input channels */
  ch: 3,
  /** class names (optional; written into checkpoints and drawn by predict) */
  names: null as string[] | null,
  /** stochastic depth of the blocks (0 in the official configs) */
  drop_path: 0,
  /** scan strategy of every SS2D (ssm-vision addition; 'cross' is the official CrossScan) */
  scan: 'cross',
};
export type MambaYoloConfig = typeof MAMBA_YOLO_DEFAULTS;

/** make_divisible(x, 8) */
export const makeDivisible = (x: number, d = 8): number => Math.ceil(x / d) * d;

/** Python's round() (banker's rounding at .5), as parse_model's depth gain uses it */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface BuiltLayer {
  index: number;
  from: number | number[];
  type: ModuleName;
  module: Module;
  /** output channels and stride */
  c2: number;
  stride: number;
  repeats: number;
}

/** parse_model over MAMBA_YOLO_LAYERS: modules with their channels and strides */
export function buildLayers(cfg: MambaYoloConfig): { layers: BuiltLayer[]; depth: number; width: number; maxChannels: number } {
  const scale = MAMBA_YOLO_SCALES[cfg.scale];
  if (!scale && (cfg.depth === null || cfg.width === null)) throw new Error(`mamba_yolo: unknown scale '${cfg.scale}' (T, B, L) and no depth/width given`);
  const depth = cfg.depth ?? scale[0], width = cfg.width ?? scale[1], maxChannels = cfg.max_channels ?? scale?.[2] ?? Infinity;
  for (const [k, v] of Object.entries({ depth, width })) if (!(v > 0)) throw new Error(`mamba_yolo: ${k} must be > 0, got ${v}`);
  const blockOpts: BlockOptions = { drop_path: cfg.drop_path, scan: cfg.scan };
  const ch: number[] = [];
  const strides: number[] = [];
  const layers: BuiltLayer[] = [];
  const prev = (f: number, i: number) => (f < 0 ? i + f : f);
  MAMBA_YOLO_LAYERS.forEach(([from, n0, type, args], i) => {
    const n = n0 > 1 ? Math.max(pyRound(n0 * depth), 1) : n0;
    const f = typeof from === 'number' ? prev(from, i) : from.map((x) => prev(x, i));
    const c1 = i === 0 ? cfg.ch : ch[f as number];
    const s1 = i === 0 ? 1 : strides[f as number];
    const c2of = (a: number) => makeDivisible(Math.min(a, maxChannels) * width, 8);
    let module: Module;
    let c2: number, stride = s1;
    switch (type) {
      case 'SimpleStem': c2 = c2of(args[0]); module = new SimpleStem(c1, c2, args[1]); stride = 4; break;
      case 'VisionClueMerge': c2 = c2of(args[0]); module = new VisionClueMerge(c1, c2); stride = s1 * 2; break;
      case 'VSSBlock': {
        c2 = c2of(args[0]);
        const make = () => new VSSBlock(c1, c2, blockOpts);
        module = n > 1 ? new Sequential(...Array.from({ length: n }, make)) : make();
        break;
      }
      case 'XSSBlock': c2 = c2of(args[0]); module = new XSSBlock(c1, c2, n, blockOpts); break;
      case 'SPPF': c2 = c2of(args[0]); module = new SPPF(c1, c2, args[1]); break;
      case 'Conv': c2 = c2of(args[0]); module = new Conv(c1, c2, args[1], args[2]); stride = s1 * args[2]; break;
      case 'Upsample': c2 = c1; module = new Upsample(args[0]); stride = s1 / args[0]; break;
      case 'Concat': {
        const fs = f as number[];
        c2 = fs.reduce((a, k) => a + ch[k], 0);
        stride = strides[fs[0]];
        if (fs.some((k) => strides[k] !== stride)) throw new Error(`mamba_yolo: layer ${i} concatenates maps of strides ${fs.map((k) => strides[k])}`);
        module = new Concat();
        break;
      }
      case 'Detect': {
        const fs = f as number[];
        const det = new Detect(cfg.nc, fs.map((k) => ch[k]));
        det.stride = fs.map((k) => strides[k]);
        c2 = 0;
        module = det;
        break;
      }
      default: throw new Error(`mamba_yolo: unknown module ${type as string}`);
    }
    layers.push({ index: i, from: f, type, module, c2, stride, repeats: n });
    ch.push(c2);
    strides.push(stride);
  });
  return { layers, depth, width, maxChannels };
}

/** The DetectionModel: `model.0` ... `model.21`. */
export class MambaYOLO extends Module implements Backbone {
  readonly family = 'mamba_yolo';
  readonly config: MambaYoloConfig;
  readonly numClasses: number;
  readonly names: string[];
  readonly featureInfo: FeatureInfo[];
  readonly model: ModuleList;
  readonly head: Detect;
  /** strides of the Detect inputs (8, 16, 32) */
  readonly stride: number[];
  private readonly built: BuiltLayer[];
  /** outputs kept for later layers (parse_model's `save`) */
  private readonly save: Set<number>;

  constructor(cfg: MambaYoloConfig) {
    super();
    this.config = cfg;
    if (!Number.isInteger(cfg.nc) || cfg.nc < 1) throw new Error(`mamba_yolo: nc must be a positive integer, got ${cfg.nc}`);
    if (cfg.names && cfg.names.length !== cfg.nc) throw new Error(`mamba_yolo: ${cfg.names.length} names for nc = ${cfg.nc} classes`);
    this.numClasses = cfg.nc;
    this.names = cfg.names ? [...cfg.names] : Array.from({ length: cfg.nc }, (_, i) => String(i));
    const { layers } = buildLayers(cfg);
    this.built = layers;
    this.model = this.child('model', new ModuleList(layers.map((l) => l.module)));
    this.head = layers[layers.length - 1].module as Detect;
    this.stride = [...this.head.stride];
    this.save = new Set(layers.flatMap((l) => (typeof l.from === 'number' ? (l.from === l.index - 1 ? [] : [l.from]) : l.from.filter((k) => k !== l.index - 1))));
    const detFrom = layers[layers.length - 1].from as number[];
    this.featureInfo = detFrom.map((k) => ({ channels: layers[k].c2, reduction: layers[k].stride, module: `model.${k}` }));
    this.head.biasInit();
  }

  /** the neck outputs feeding Detect: [(B, H/8, W/8, c3), (B, H/16, W/16, c4), (B, H/32, W/32, c5)] */
  forwardIntermediates(x: Tensor, opts: ForwardIntermediatesOptions = {}): Tensor[] {
    const [, H, W] = x.shape;
    const m = 32;
    if (x.rank !== 4 || x.shape[3] !== this.config.ch) throw new Error(`mamba_yolo: input must be (B, H, W, ${this.config.ch}), got [${x.shape}]`);
    if (H % m || W % m) throw new Error(`mamba_yolo: input sides must be multiples of ${m} (the stride of P5), got ${H}x${W}`);
    const feats = tf.tidy(() => {
      const outs = new Map<number, Tensor>();
      let y = x;
      for (const l of this.built.slice(0, -1)) {
        if (l.type === 'Concat') y = (l.module as Concat).forwardMany((l.from as number[]).map((k) => (k === l.index - 1 ? y : outs.get(k)!)));
        else y = (l.module as unknown as Layer).forward(y);
        if (this.save.has(l.index)) outs.set(l.index, y);
      }
      outs.set(this.built.length - 2, y);
      return (this.built[this.built.length - 1].from as number[]).map((k) => outs.get(k)!);
    });
    const idx = opts.indices ?? feats.map((_, i) => i);
    const out = idx.map((i) => feats[i]);
    tf.dispose(feats.filter((_, i) => !idx.includes(i)));
    return out;
  }

  /** training output: per level (B, H_i, W_i, 64 + nc) raw box distributions and class logits */
  forwardTrain(x: Tensor): Tensor[] {
    const feats = this.forwardIntermediates(x);
    const out = this.head.forwardLevels(feats);
    tf.dispose(feats);
    return out;
  }

  /** inference: (B, A, 4 + nc) = (cx, cy, w, h) in input pixels and sigmoid class scores */
  forward(x: Tensor): Tensor {
    const feats = this.forwardIntermediates(x);
    const out = this.head.forward(feats);
    tf.dispose(feats);
    return out;
  }
}

// ---- variants ----------------------------------------------------------------------------------

const IGNORED_KWARGS = ['pretrained'];

function createMambaYolo(kwargs: Record<string, unknown>): MambaYOLO {
  if ('num_classes' in kwargs) {
    throw new Error("mamba_yolo: a detector takes 'nc' (classes), not 'num_classes': train it with task=detect (ssmv train task=detect model=mamba_yolo_t data=...)");
  }
  checkKwargs('mamba_yolo', kwargs, MAMBA_YOLO_DEFAULTS, IGNORED_KWARGS);
  const cfg = { ...MAMBA_YOLO_DEFAULTS, ...kwargs } as MambaYoloConfig;
  return new MambaYOLO(cfg);
}

const UPSTREAM = 'HZAI-ZJNU/Mamba-YOLO@b26cbda ultralytics/nn/modules/mamba_yolo.py, head.py (Detect), cfg/models/mamba-yolo/Mamba-YOLO-{T,B,L}.yaml';
const COUNT_SOURCE = 'DetectionModel built from the official YAML with nc=80 (../shared/reference/models.md 8.1, printed to 3 decimals in M)';

registerFamily('mamba_yolo', {
  paper: 'Mamba YOLO: A Simple Baseline for Object Detection with State Space Model (Wang et al., AAAI 2025, arXiv 2406.05835)',
  upstream: UPSTREAM,
  create: createMambaYolo,
  defaults: MAMBA_YOLO_DEFAULTS,
}, {
  mamba_yolo_t: { config: { scale: 'T' }, approxParams: { count: 6_132_000, tolerance: 500, source: COUNT_SOURCE } },
  mamba_yolo_b: { config: { scale: 'B' }, approxParams: { count: 21_828_000, tolerance: 500, source: COUNT_SOURCE } },
  mamba_yolo_l: { config: { scale: 'L' }, approxParams: { count: 57_631_000, tolerance: 500, source: COUNT_SOURCE } },
  // tiny variant for the fast tests: the same layer list at width 1/16 (channels 8, 16, 32, 64)
  test_mamba_yolo: { config: { scale: 'T', width: 0.0625, nc: 4 } },
});

/** 'mamba_yolo_t' and friends (and anything built from the mamba_yolo family) */
export function isMambaYolo(name: string): boolean {
  return /^(test_)?mamba_yolo/.test(name.split('.')[0]);
}
