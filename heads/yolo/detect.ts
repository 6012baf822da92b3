// The YOLOv8 Detect head (ultralytics/nn/modules/head.py `Detect`, block.py `DFL`), NHWC.
// Per level i with input channels ch_i: cv2[i] = Conv(ch_i, c2, 3) -> Conv(c2, c2, 3) -> Conv2d(c2, 4*reg_max, 1)
// (box distribution), cv3[i] = Conv(ch_i, c3, 3) -> Conv(c3, c3, 3) -> Conv2d(c3, nc, 1) (class logits),
// c2 = max(16, ch_0/4, 4*reg_max), c3 = max(ch_0, min(nc, 100)). Level outputs are concatenated
// [box 64 | cls nc] and flattened row-major over (y, x), levels in order: (B, A, 64 + nc).
// Inference: DFL (softmax over 16 bins, expectation with the fixed weights 0..15) -> ltrb distances
// in grid units -> (cx, cy, w, h) * stride, with sigmoid class scores: (B, A, 4 + nc).
import { YConv2d } from './fast-conv.ts';
import { tf, type Tensor } from '../../core/tf.ts';
import { Module, Sequential, ModuleList } from '../../core/nn/index.ts';
import { initSkipped } from '../../core/nn/init.ts';
import { Conv } from './conv.ts';
import { dist2bbox, makeAnchors, type Anchors } from './boxes.ts';
import { heads } from '../registry.ts';

export const REG_MAX = 16;

/** DFL(c1=16): a 1x1 conv with fixed weights 0..c1-1 (requires_grad False, but a state-dict entry) */
export class DFL extends Module {
  readonly conv: YConv2d;

  constructor(readonly c1 = REG_MAX) {
    super();
    this.conv = this.child('conv', new YConv2d(c1, 1, 1, { bias: false }));
    this.conv.weight.assign(tf.range(0, c1, 1, 'float32').reshape([1, 1, c1, 1]));
    this.conv.weight.trainable = false;
  }

  /** (..., 4 * c1) box logits -> (..., 4) expected distances */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const p = tf.softmax(x.reshape([-1, this.c1])); // (N*4, c1), side-major: channel = side * c1 + bin
      return tf.matMul(p, this.conv.weight.reshape([this.c1, 1])).reshape([...lead, 4]);
    });
  }
}

export class Detect extends Module {
  readonly nl: number;
  readonly no: number;
  readonly cv2: ModuleList<Sequential>;
  readonly cv3: ModuleList<Sequential>;
  readonly dfl: DFL;
  /** strides of the levels (8, 16, 32), set by the model that owns the head */
  stride: number[];
  private anchorCache: { key: string; anchors: Anchors; points: Tensor; strides: Tensor } | null = null;

  constructor(readonly nc: number, readonly ch: readonly number[], readonly regMax = REG_MAX) {
    super();
    if (!Number.isInteger(nc) || nc < 1) throw new Error(`Detect: nc must be a positive integer, got ${nc}`);
    this.nl = ch.length;
    this.no = nc + 4 * regMax;
    this.stride = new Array(this.nl).fill(0);
    const c2 = Math.max(16, Math.floor(ch[0] / 4), 4 * regMax);
    const c3 = Math.max(ch[0], Math.min(nc, 100));
    this.cv2 = this.child('cv2', new ModuleList(ch.map((x) => new Sequential(new Conv(x, c2, 3), new Conv(c2, c2, 3), new YConv2d(c2, 4 * regMax, 1)))));
    this.cv3 = this.child('cv3', new ModuleList(ch.map((x) => new Sequential(new Conv(x, c3, 3), new Conv(c3, c3, 3), new YConv2d(c3, nc, 1)))));
    this.dfl = this.child('dfl', new DFL(regMax));
  }

  /** Detect.bias_init: box biases 1.0, class biases log(5 / nc / (640 / s)^2) (needs the strides) */
  biasInit(): void {
    if (initSkipped()) return;
    this.stride.forEach((s, i) => {
      if (!(s > 0)) throw new Error('Detect.biasInit: the strides are not set');
      const box = this.cv2.items[i].layers[2] as YConv2d;
      const cls = this.cv3.items[i].layers[2] as YConv2d;
      box.bias!.assign(tf.onesLike(box.bias!));
      cls.bias!.assign(tf.fill([this.nc], Math.log(5 / this.nc / (640 / s) ** 2)));
    });
  }

  /** per level (B, H_i, W_i, ch_i) -> (B, H_i, W_i, 64 + nc), the training output */
  forwardLevels(xs: Tensor[]): Tensor[] {
    if (xs.length !== this.nl) throw new Error(`Detect: expected ${this.nl} feature maps, got ${xs.length}`);
    return xs.map((x, i) => tf.tidy(() => tf.concat([this.cv2.items[i].forward(x), this.cv3.items[i].forward(x)], 3)));
  }

  /** levels -> (B, A, 64 + nc) */
  flatten(levels: Tensor[]): Tensor {
    return tf.tidy(() => tf.concat(levels.map((l) => l.reshape([l.shape[0], -1, this.no])), 1));
  }

  /** anchor points (A, 2) and strides (A, 1) of these level sizes, kept on the device between calls */
  anchors(sizes: Array<[number, number]>): { anchors: Anchors; points: Tensor; strides: Tensor } {
    const key = sizes.map((s) => s.join('x')).join(',') + `|${this.stride.join(',')}`;
    if (this.anchorCache?.key !== key) {
      this.anchorCache?.points.dispose();
      this.anchorCache?.strides.dispose();
      const anchors = makeAnchors(sizes, this.stride, 0.5);
      this.anchorCache = { key, anchors, points: tf.keep(tf.tensor2d(anchors.points, [anchors.count, 2])), strides: tf.keep(tf.tensor2d(anchors.strides, [anchors.count, 1])) };
    }
    return this.anchorCache;
  }

  /** flat (B, A, 64 + nc) -> (B, A, 4 + nc): (cx, cy, w, h) in input pixels, sigmoid scores */
  decode(flat: Tensor, sizes: Array<[number, number]>): Tensor {
    const { points, strides } = this.anchors(sizes);
    return tf.tidy(() => {
      const [box, cls] = tf.split(flat, [4 * this.regMax, this.nc], 2);
      const dbox = tf.mul(dist2bbox(this.dfl.forward(box), points, true), strides);
      return tf.concat([dbox, tf.sigmoid(cls)], 2);
    });
  }

  /** inference: per-level features -> (B, A, 4 + nc) */
  forward(xs: Tensor[]): Tensor {
    const levels = this.forwardLevels(xs);
    const sizes = levels.map((l) => [l.shape[1], l.shape[2]] as [number, number]);
    const flat = this.flatten(levels);
    tf.dispose(levels);
    const out = this.decode(flat, sizes);
    flat.dispose();
    return out;
  }

  override dispose(): void {
    this.anchorCache?.points.dispose();
    this.anchorCache?.strides.dispose();
    this.anchorCache = null;
    super.dispose();
  }
}

heads.register('yolo_detect', {
  description: 'YOLOv8 Detect head (DFL reg_max 16, decoupled box/class branches): create(nc, channels per level)',
  create: (...args: unknown[]) => new Detect(args[0] as number, args[1] as number[]),
});
