// ultralytics building blocks shared by the YOLO neck and head (ultralytics/nn/modules/conv.py `Conv`,
// `Concat`; block.py `SPPF`; torch.nn.Upsample nearest). NHWC activations, PyTorch state-dict names.
// Every BatchNorm2d of an ultralytics DetectionModel gets eps 1e-3 and momentum 0.03 from
// `initialize_weights` (utils/torch_utils.py); eps is not in the state dict, so it is fixed here.
import { YConv2d } from './fast-conv.ts';
import { tf, type Tensor } from '../../core/tf.ts';
import { Module, BatchNorm2d, type Layer } from '../../core/nn/index.ts';
import { silu } from '../../core/nn/activation.ts';

export const YOLO_BN_EPS = 1e-3;
export const YOLO_BN_MOMENTUM = 0.03;

/** nn.BatchNorm2d as an ultralytics model configures it (eps 1e-3, momentum 0.03) */
export function yoloBatchNorm(c: number): BatchNorm2d {
  return new BatchNorm2d(c, YOLO_BN_EPS, YOLO_BN_MOMENTUM);
}

/** autopad(k, p=None, d=1): 'same' padding for odd kernels */
export const autopad = (k: number): number => Math.floor(k / 2);

/** ultralytics Conv(c1, c2, k, s): Conv2d (no bias, autopad) -> BN -> SiLU. Keys conv.weight, bn.* */
export class Conv extends Module implements Layer {
  readonly conv: YConv2d;
  readonly bn: BatchNorm2d;

  constructor(c1: number, c2: number, k = 1, s = 1, readonly act = true) {
    super();
    this.conv = this.child('conv', new YConv2d(c1, c2, k, { stride: s, padding: autopad(k), bias: false }));
    this.bn = this.child('bn', yoloBatchNorm(c2));
  }

  /** (B, H, W, c1) -> (B, H/s, W/s, c2) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const y = this.bn.forward(this.conv.forward(x));
      return this.act ? silu(y) : y;
    });
  }
}

/** SPPF(c1, c2, k=5): cv1 Conv(c1, c1/2, 1) -> three chained MaxPool2d(k, 1, k/2) -> concat 4 -> cv2 Conv(2 c1, c2, 1) */
export class SPPF extends Module implements Layer {
  readonly cv1: Conv;
  readonly cv2: Conv;

  constructor(c1: number, c2: number, readonly k = 5) {
    super();
    const c = Math.floor(c1 / 2);
    this.cv1 = this.child('cv1', new Conv(c1, c, 1, 1));
    this.cv2 = this.child('cv2', new Conv(c * 4, c2, 1, 1));
  }

  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      const ys = [this.cv1.forward(x)];
      // torch pads max pooling with -inf; TF's 'same' max pooling ignores the padding the same way
      for (let i = 0; i < 3; i++) ys.push(tf.maxPool(ys[i] as tf.Tensor4D, this.k, 1, 'same'));
      return this.cv2.forward(tf.concat(ys, 3));
    });
  }
}

/** nn.Upsample(None, scale, 'nearest'): out[i] = in[floor(i / scale)] (no parameters) */
export class Upsample extends Module implements Layer {
  constructor(readonly scale = 2) {
    super();
  }

  forward(x: Tensor): Tensor {
    const [, H, W] = x.shape;
    return tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [H * this.scale, W * this.scale], false, false);
  }
}

/** ultralytics Concat(dimension=1): channel concat (NHWC axis 3), inputs in the YAML's `from` order */
export class Concat extends Module {
  forwardMany(xs: Tensor[]): Tensor {
    return tf.concat(xs, 3);
  }
}
