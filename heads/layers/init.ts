// The initialisers mmdet / mmseg heads use (mmengine.model.weight_init), drawn on the host from the
// seeded generator; zeros inside withoutInit (weights loaded right after). `reinit` overwrites a
// parameter a core/nn layer already drew with its PyTorch default.
import { tf, type Tensor, type Variable } from '../../core/tf.ts';
import { normal, uniform } from '../../core/nn/init.ts';

/** (fan_in, fan_out) as torch computes them: dim 1 / dim 0 of the PyTorch shape times the kernel area. */
export function fans(torchShape: readonly number[]): [number, number] {
  const rf = torchShape.slice(2).reduce((a, b) => a * b, 1);
  return [torchShape[1] * rf, torchShape[0] * rf];
}

/** xavier_init(distribution='uniform', gain 1): U(+-sqrt(6 / (fan_in + fan_out))). */
export function xavierUniform(shape: number[], torchShape: readonly number[]): Tensor {
  const [fi, fo] = fans(torchShape);
  const a = Math.sqrt(6 / (fi + fo));
  return uniform(shape, -a, a);
}

/** kaiming_init(mode='fan_out', nonlinearity='relu', distribution='normal'): N(0, 2 / fan_out). */
export function kaimingNormalFanOut(shape: number[], torchShape: readonly number[]): Tensor {
  return normal(shape, Math.sqrt(2 / fans(torchShape)[1]));
}

export function normalInit(shape: number[], std: number): Tensor {
  return normal(shape, std);
}

/** Replaces a parameter's value (keeps the variable, so optimizers and names are unaffected). */
export function reinit(v: Variable, value: Tensor): void {
  v.assign(value);
  value.dispose();
}

export function zeroInit(v: Variable | null): void {
  if (v) reinit(v, tf.zerosLike(v));
}
