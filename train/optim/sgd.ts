// SGD as torch.optim.SGD (dampening 0): g <- g + wd p (coupled decay); with momentum mu the buffer
// is b <- g on the first update, then b <- mu b + g; nesterov uses g + mu b, else b; p <- p - lr d.
import { tf, type Tensor } from '../../core/tf.ts';
import type { NamedParam } from '../../core/nn/module.ts';
import type { ParamGroup } from './param-groups.ts';
import { StateStore, type Optimizer } from './optimizer.ts';

export interface SGDOptions {
  momentum?: number;
  nesterov?: boolean;
}

export class SGD implements Optimizer {
  readonly kind = 'sgd';
  updates = 0;
  private readonly state = new StateStore();
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(readonly groups: ParamGroup[], { momentum = 0.9, nesterov = true }: SGDOptions = {}) {
    if (nesterov && momentum <= 0) throw new Error('SGD: nesterov momentum requires momentum > 0');
    this.momentum = momentum;
    this.nesterov = nesterov;
  }

  step(grads: ReadonlyMap<string, Tensor>, lr: number): void {
    this.updates++;
    for (const group of this.groups) {
      for (const p of group.params) {
        const g = grads.get(p.name);
        if (g) sgdUpdate(this.state, p, g, { lr, momentum: this.momentum, weightDecay: group.weightDecay, nesterov: this.nesterov });
      }
    }
  }

  stateTensors(): Map<string, tf.Variable> {
    return new Map(this.state.vars);
  }

  loadState(tensors: ReadonlyMap<string, Tensor>, updates: number): void {
    this.state.load(tensors, this.momentum > 0 ? momentumBufferShapes(this.groups) : new Map());
    this.updates = updates;
  }

  dispose(): void {
    this.state.dispose();
  }
}

/**
 * One torch SGD update of `p` with gradient `g0`; the buffer is `<param>.momentum_buffer` in `state`
 * (created on the first update with momentum). Shared with the YOLO optimizer (train/yolo/optim.ts),
 * whose lr and momentum are per parameter group.
 */
export function sgdUpdate(state: StateStore, p: NamedParam, g0: Tensor, o: { lr: number; momentum: number; weightDecay: number; nesterov: boolean }): void {
  const mu = o.momentum;
  const name = `${p.name}.momentum_buffer`;
  tf.tidy(() => {
    const g = o.weightDecay ? tf.add(g0, tf.mul(p.variable, o.weightDecay)) : g0;
    let d = g;
    if (mu > 0) {
      const buf = state.get(name);
      const b = buf ? tf.add(tf.mul(buf, mu), g) : g;
      if (buf) buf.assign(b);
      else state.set(name, tf.keep(b.clone()));
      d = o.nesterov ? tf.add(g, tf.mul(b, mu)) : b;
    }
    p.variable.assign(tf.sub(p.variable, tf.mul(d, o.lr)));
  });
}

/** the momentum buffer of every parameter, by state name, with its shape (loadState's check) */
export function momentumBufferShapes(groups: ReadonlyArray<{ params: readonly NamedParam[] }>): Map<string, number[]> {
  const expected = new Map<string, number[]>();
  for (const g of groups) for (const p of g.params) expected.set(`${p.name}.momentum_buffer`, [...p.variable.shape]);
  return expected;
}
