// nn.Conv2d on NHWC activations. Parameters in tfjs layout (HWIO, or (kh, kw, C, m) when depthwise)
// and exported in PyTorch's OIHW. groups: 1 (dense), in_channels (depthwise, channel multiplier
// out/in), or any divisor (run as `groups` dense convolutions on channel slices).
import { tf, type Tensor } from '../tf.ts';
import { Module } from './module.ts';
import { kaimingUniformA5 } from './init.ts';
import { depthwiseConv2d, DW_KERNELS } from '../kernels/depthwise-conv/index.ts';
import { hasKernel } from '../kernels/kernel-util.ts';
import { conv2d } from '../kernels/weight-grad/index.ts';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly depthwise: boolean;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | [number, number], opts: Conv2dOptions = {}) {
    super();
    this.kernel = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    const g = this.groups;
    if (inChannels % g || outChannels % g) throw new Error(`Conv2d: in_channels ${inChannels} and out_channels ${outChannels} must be divisible by groups ${g}`);
    this.depthwise = g > 1 && g === inChannels;
    const [kh, kw] = this.kernel;
    const fanIn = (inChannels / g) * kh * kw;
    if (this.depthwise) {
      this.weight = this.param('weight', kaimingUniformA5([kh, kw, inChannels, outChannels / inChannels], fanIn), { layout: 'dwconv' });
    } else {
      // grouped: HWIO with I = in/groups; group j owns output channels [j*out/g, (j+1)*out/g)
      this.weight = this.param('weight', kaimingUniformA5([kh, kw, inChannels / g, outChannels], fanIn), { layout: 'conv' });
    }
    this.bias = (opts.bias ?? true) ? this.param('bias', kaimingUniformA5([outChannels], fanIn), { noDecay: true }) : null;
  }

  /** x (B, H, W, Cin) -> (B, H', W', Cout) */
  forward(x: Tensor): Tensor {
    if (this.depthwise && this.outChannels === this.inChannels && hasKernel(DW_KERNELS.forward)) {
      // fused kernels with the bias (core/kernels/depthwise-conv): forward, input and filter gradients
      return depthwiseConv2d(x, this.weight, this.bias, { strides: this.stride, pads: this.padding, dilations: this.dilation });
    }
    return tf.tidy(() => {
      const x4 = x as tf.Tensor4D;
      const [ph, pw] = this.padding;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
      let y: Tensor;
      if (this.depthwise) {
        y = tf.depthwiseConv2d(x4, this.weight as tf.Tensor4D, this.stride, pad, 'NHWC', this.dilation);
      } else if (this.groups === 1) {
        // core/kernels/weight-grad conv2d: bias fused in the forward; implicit-im2col split-k filter gradient
        return conv2d(x4, this.weight, this.bias, { strides: this.stride, pads: this.padding, dilations: this.dilation });
      } else {
        const g = this.groups;
        const ci = this.inChannels / g;
        const co = this.outChannels / g;
        const xs = tf.split(x4, g, 3);
        const outs = xs.map((xi, j) => tf.conv2d(xi as tf.Tensor4D, tf.slice(this.weight, [0, 0, 0, j * co], [-1, -1, ci, co]) as tf.Tensor4D, this.stride, pad, 'NHWC', this.dilation));
        y = tf.concat(outs, 3);
      }
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
