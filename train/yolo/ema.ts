// ultralytics ModelEMA (utils/torch_utils.py): ema <- d * ema + (1 - d) * model over every floating
// point entry of the state dict (parameters and BatchNorm running stats; integer entries such as
// num_batches_tracked keep the EMA copy's value, as there), d = decay * (1 - exp(-updates / tau)) with decay 0.9999 and tau 2000, updated after every
// optimizer step. The EMA model is a separate instance in eval mode; it is what is validated and saved.
import { tf } from '../../core/tf.ts';
import type { Module } from '../../core/nn/module.ts';

export class YoloEma {
  updates: number;
  private readonly pairs: Array<{ ema: tf.Variable; src: tf.Variable; lerp: boolean }> = [];

  constructor(readonly module: Module, model: Module, readonly decay = 0.9999, readonly tau = 2000, updates = 0) {
    this.updates = updates;
    const src = new Map<string, tf.Variable>();
    for (const p of model.namedParameters()) src.set(p.name, p.variable);
    for (const b of model.namedBuffers()) src.set(b.name, b.variable);
    for (const [name, ema] of [...module.namedParameters().map((p) => [p.name, p.variable] as const), ...module.namedBuffers().map((b) => [b.name, b.variable] as const)]) {
      const s = src.get(name);
      if (!s || s.shape.join() !== ema.shape.join()) throw new Error(`YoloEma: '${name}' differs between the EMA model and the model`);
      this.pairs.push({ ema, src: s, lerp: s.dtype === 'float32' });
    }
    if (this.pairs.length !== src.size) throw new Error(`YoloEma: the EMA model has ${this.pairs.length} tensors, the model ${src.size}`);
    module.eval();
    for (const { ema, src: s } of this.pairs) tf.tidy(() => ema.assign(s.clone()));
  }

  /** the decay of update number `updates` (1 for the first) */
  static decayAt(updates: number, decay = 0.9999, tau = 2000): number {
    return decay * (1 - Math.exp(-updates / tau));
  }

  update(): number {
    this.updates++;
    const d = YoloEma.decayAt(this.updates, this.decay, this.tau);
    tf.tidy(() => {
      for (const { ema, src, lerp } of this.pairs) if (lerp) ema.assign(tf.add(tf.mul(ema, d), tf.mul(src, 1 - d)));
    });
    return d;
  }

  dispose(): void {
    this.module.dispose();
  }
}
