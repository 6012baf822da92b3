// The optimizer contract shared by AdamW and SGD: per-parameter state tensors named like PyTorch's
// optimizer state (`<param>.exp_avg`, `<param>.exp_avg_sq`, `<param>.momentum_buffer`) so a
// checkpoint stores them as one safetensors file, plus the update count.
import { tf, type Tensor } from '../../core/tf.ts';
import type { ParamGroup } from './param-groups.ts';

export interface Optimizer {
  readonly kind: 'adamw' | 'sgd';
  readonly groups: ParamGroup[];
  /** updates applied so far (torch's per-param `step`, shared) */
  updates: number;
  /**
   * One update of every parameter at learning rate `lr`. `grads` maps a parameter's state-dict
   * name to its gradient (same shape as the variable); parameters without a gradient are skipped.
   * Nothing is read back from the device.
   */
  step(grads: ReadonlyMap<string, Tensor>, lr: number): void;
  /** state tensors by name (owned by the optimizer; do not dispose) */
  stateTensors(): Map<string, tf.Variable>;
  /** restores state written by stateTensors() (+ `updates`); missing or misshaped entries throw */
  loadState(tensors: ReadonlyMap<string, Tensor>, updates: number): void;
  dispose(): void;
}

/** Lazily created state variable holder shared by the implementations. */
export class StateStore {
  readonly vars = new Map<string, tf.Variable>();

  get(name: string): tf.Variable | undefined {
    return this.vars.get(name);
  }

  /** creates (or replaces) a state variable from `init` (consumed) */
  set(name: string, init: Tensor): tf.Variable {
    const old = this.vars.get(name);
    if (old) {
      old.assign(init);
      init.dispose();
      return old;
    }
    const v = tf.variable(init, false);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }

  load(tensors: ReadonlyMap<string, Tensor>, expected: ReadonlyMap<string, number[]>): void {
    for (const name of tensors.keys()) {
      if (!expected.has(name)) throw new Error(`optimizer state: unexpected entry '${name}' (checkpoint of another model?)`);
    }
    for (const [name, t] of tensors) {
      const shape = expected.get(name)!;
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`optimizer state: '${name}' has shape [${t.shape}], the parameter has [${shape}]`);
      }
      this.set(name, t.clone());
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
