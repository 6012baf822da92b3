// SGD as torch.optim.SGD (dampening 0): g <- g + wd p (coupled decay); with momentum mu the buffer
// is b <- g on the first update, then b <- mu b + g; nesterov uses g + mu b, else b; p <- p - lr d.
import { tf, type Tensor } from '../../core/tf.ts';
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
    const mu = this.momentum;
    for (const group of this.groups) {
      for (const p of group.params) {
        const g0 = grads.get(p.name);
        if (!g0) continue;
        const name = `${p.name}.momentum_buffer`;
        tf.tidy(() => {
          const g = group.weightDecay ? tf.add(g0, tf.mul(p.variable, group.weightDecay)) : g0;
          let d = g;
          if (mu > 0) {
            const buf = this.state.get(name);
            const b = buf ? tf.add(tf.mul(buf, mu), g) : g;
            if (buf) buf.assign(b);
            else this.state.set(name, tf.keep(b.clone()));
            d = this.nesterov ? tf.add(g, tf.mul(b, mu)) : b;
          }
          p.variable.assign(tf.sub(p.variable, tf.mul(d, lr)));
        });
      }
    }
  }

  stateTensors(): Map<string, tf.Variable> {
    return new Map(this.state.vars);
  }

  loadState(tensors: ReadonlyMap<string, Tensor>, updates: number): void {
    const expected = new Map<string, number[]>();
    if (this.momentum > 0) for (const g of this.groups) for (const p of g.params) expected.set(`${p.name}.momentum_buffer`, [...p.variable.shape]);
    this.state.load(tensors, expected);
    this.updates = updates;
  }

  dispose(): void {
    this.state.dispose();
  }
}
