// Depthwise conv in tfjs ops (tf.depthwiseConv2d + bias, core/nn Conv2d's formula before fusion): the
// oracle of the kernel tests and the path on backends without the kernels.
import { tf, type Tensor } from '../../tf.ts';
import type { DwConvAttrs } from './depthwise-conv.ts';

export function depthwiseConvReference(x: Tensor, w: Tensor, bias: Tensor | null, a: DwConvAttrs): Tensor {
  return tf.tidy(() => {
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [a.pads[0], a.pads[0]], [a.pads[1], a.pads[1]], [0, 0]];
    const y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, a.strides, pad, 'NHWC', a.dilations);
    return bias ? tf.add(y, bias) : y;
  });
}
