// nn.Conv2d for the YOLO models: core/nn Conv2d (same parameters, names and layouts; dense k x k
// convolutions through core/kernels/weight-grad's conv2d, depthwise ones through the depthwise
// kernels, on cpu and webgpu) plus one YOLO-specific path for 1x1 stride-1 convolutions:
//  - they run as one matMul on (B*H*W, Cin) on every backend;
//  - `forwardSplit` returns the output channel groups from slices of the weight, so no split of a
//    large activation is needed (tfjs-cpu slices non-contiguous data element by element), as the
//    C2f-style blocks of Mamba-YOLO want (in_proj -> x, z; fc1 -> h, v).
import { tf, type Tensor } from '../../core/tf.ts';
import { Conv2d } from '../../core/nn/conv2d.ts';

export class YConv2d extends Conv2d {
  get pointwise(): boolean {
    return this.kernel[0] === 1 && this.kernel[1] === 1 && this.stride[0] === 1 && this.stride[1] === 1 && this.groups === 1 && this.padding[0] === 0 && this.padding[1] === 0;
  }

  /** 1x1 conv output split into channel groups of `sizes` (a matMul per group on a weight slice) */
  forwardSplit(x: Tensor, sizes: number[]): Tensor[] {
    if (!this.pointwise) throw new Error('YConv2d.forwardSplit: only for 1x1 stride-1 convolutions');
    if (sizes.reduce((a, b) => a + b, 0) !== this.outChannels) throw new Error(`YConv2d.forwardSplit: sizes ${sizes} do not add up to ${this.outChannels}`);
    return tf.tidy(() => {
      const [B, H, W] = x.shape;
      const x2 = x.reshape([-1, this.inChannels]);
      const w2 = this.weight.reshape([this.inChannels, this.outChannels]);
      let off = 0;
      return sizes.map((n) => {
        let y = tf.matMul(x2, tf.slice(w2, [0, off], [-1, n]));
        if (this.bias) y = tf.add(y, tf.slice(this.bias, [off], [n]));
        off += n;
        return y.reshape([B, H, W, n]);
      });
    });
  }

  override forward(x: Tensor): Tensor {
    return this.pointwise ? this.forwardSplit(x, [this.outChannels])[0] : super.forward(x);
  }
}
