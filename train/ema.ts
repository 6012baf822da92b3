// Exponential moving average of the weights, as timm's ModelEmaV3 (timm/utils/model_ema.py): every
// floating-point entry of the state dict (parameters and BatchNorm running stats) is lerped,
// ema <- decay * ema + (1 - decay) * model; integer buffers (num_batches_tracked) are copied.
// decay(step) = 0 for the first update (the EMA starts as a copy), then `decay`, or with warmup
// 1 - (1 + step / gamma)^-power clamped to [minDecay, decay]. The EMA lives in its own model
// instance (eval mode), so it is evaluated like the model.
import { tf } from '../core/tf.ts';
import type { Module } from '../core/nn/module.ts';

export interface EmaOptions {
  decay: number;
  warmup?: boolean;
  warmupGamma?: number;
  warmupPower?: number;
  minDecay?: number;
  updateAfterStep?: number;
}

/** timm ModelEmaV3.get_decay; `step` is the update count after the current update (1 for the first) */
export function emaDecay(o: EmaOptions, step?: number): number {
  if (step === undefined) return o.decay;
  const s = Math.max(0, step - (o.updateAfterStep ?? 0) - 1);
  if (s <= 0) return 0;
  if (!o.warmup) return o.decay;
  const d = 1 - (1 + s / (o.warmupGamma ?? 1)) ** -(o.warmupPower ?? 2 / 3);
  return Math.max(Math.min(d, o.decay), o.minDecay ?? 0);
}

export class ModelEma {
  private readonly pairs: Array<{ ema: tf.Variable; src: tf.Variable; lerp: boolean }> = [];

  /** `module` must be a separate instance of the same architecture; it is set to `model`'s values. */
  constructor(readonly module: Module, model: Module, readonly opts: EmaOptions) {
    const src = new Map<string, tf.Variable>();
    for (const p of model.namedParameters()) src.set(p.name, p.variable);
    for (const b of model.namedBuffers()) src.set(b.name, b.variable);
    const dst = [...module.namedParameters().map((p) => [p.name, p.variable] as const), ...module.namedBuffers().map((b) => [b.name, b.variable] as const)];
    if (dst.length !== src.size) throw new Error(`ModelEma: the EMA model has ${dst.length} tensors, the model ${src.size}`);
    for (const [name, ema] of dst) {
      const s = src.get(name);
      if (!s || s.shape.join() !== ema.shape.join()) throw new Error(`ModelEma: '${name}' differs between the EMA model and the model`);
      this.pairs.push({ ema, src: s, lerp: s.dtype === 'float32' });
    }
    module.eval();
    this.set();
  }

  /** ema <- model */
  set(): void {
    for (const { ema, src } of this.pairs) tf.tidy(() => ema.assign(src.clone()));
  }

  /** one EMA update after optimizer update number `step` (1-based); returns the decay used */
  update(step?: number): number {
    const d = emaDecay(this.opts, step);
    tf.tidy(() => {
      for (const { ema, src, lerp } of this.pairs) {
        if (!lerp) ema.assign(src.clone());
        else if (d === 0) ema.assign(src.clone());
        else ema.assign(tf.add(tf.mul(ema, d), tf.mul(src, 1 - d)));
      }
    });
    return d;
  }

  dispose(): void {
    this.module.dispose();
  }
}
