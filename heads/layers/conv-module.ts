// mmcv ConvModule: conv (bias only without a norm: bias='auto') -> optional BatchNorm ('bn') -> ReLU,
// with mmcv's child names so state dicts map (`lateral_convs.0.conv.weight`, `bottleneck.bn.running_mean`).
// Default init as mmcv: kaiming normal (fan_out, relu), bias 0; 'xavier' for FPN's init_cfg.
import type { Tensor } from '../../core/tf.ts';
import { tf } from '../../core/tf.ts';
import { Module, Conv2d, BatchNorm2d } from '../../core/nn/index.ts';
import { kaimingNormalFanOut, reinit, xavierUniform, zeroInit } from './init.ts';

export interface ConvModuleOptions {
  padding?: number;
  stride?: number;
  norm?: 'bn' | null;
  act?: 'relu' | null;
  init?: 'kaiming' | 'xavier';
}

export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d | null;
  readonly relu: boolean;

  constructor(cin: number, cout: number, k: number, o: ConvModuleOptions = {}) {
    super();
    const norm = o.norm ?? null;
    this.conv = this.child('conv', new Conv2d(cin, cout, k, { padding: o.padding ?? 0, stride: o.stride ?? 1, bias: norm === null }));
    const torchShape = [cout, cin, k, k];
    const shape = [...this.conv.weight.shape];
    reinit(this.conv.weight, o.init === 'xavier' ? xavierUniform(shape, torchShape) : kaimingNormalFanOut(shape, torchShape));
    zeroInit(this.conv.bias);
    this.bn = norm === 'bn' ? this.child('bn', new BatchNorm2d(cout)) : null;
    this.relu = (o.act === undefined ? 'relu' : o.act) === 'relu';
  }

  /** (B, H, W, cin) -> (B, H', W', cout) */
  forward(x: Tensor): Tensor {
    return tf.tidy(() => {
      let y = this.conv.forward(x);
      if (this.bn) y = this.bn.forward(y);
      return this.relu ? tf.relu(y) : y;
    });
  }
}
