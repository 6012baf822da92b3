// AdamW with decoupled weight decay, step for step as torch.optim.AdamW (amsgrad=False):
//   p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
import { tf, type Tensor } from '../../core/tf.ts';
import type { ParamGroup } from './param-groups.ts';
import { StateStore, type Optimizer } from './optimizer.ts';
import { adamwUpdate } from '../../core/kernels/adamw/index.ts';

export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
}

export class AdamW implements Optimizer {
  readonly kind = 'adamw';
  updates = 0;
  private readonly state = new StateStore();
  readonly betas: [number, number];
  readonly eps: number;

  constructor(readonly groups: ParamGroup[], { betas = [0.9, 0.999], eps = 1e-8 }: AdamWOptions = {}) {
    this.betas = betas;
    this.eps = eps;
  }

  step(grads: ReadonlyMap<string, Tensor>, lr: number): void {
    const t = ++this.updates;
    const [b1, b2] = this.betas;
    const stepSize = lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    for (const group of this.groups) {
      const decay = 1 - lr * group.weightDecay;
      for (const p of group.params) {
        const g = grads.get(p.name);
        if (!g) continue;
        const m = this.state.get(`${p.name}.exp_avg`) ?? this.state.set(`${p.name}.exp_avg`, tf.zerosLike(p.variable));
        const v = this.state.get(`${p.name}.exp_avg_sq`) ?? this.state.set(`${p.name}.exp_avg_sq`, tf.zerosLike(p.variable));
        // one fused kernel (core/kernels/adamw) instead of ~10 elementwise ops per parameter
        tf.tidy(() => {
          const [p1, m1, v1] = adamwUpdate(p.variable, g, m, v, { decay: group.weightDecay ? decay : 1, beta1: b1, beta2: b2, stepSize, bc2Sqrt, eps: this.eps });
          p.variable.assign(p1);
          m.assign(m1);
          v.assign(v1);
        });
      }
    }
  }

  stateTensors(): Map<string, tf.Variable> {
    return new Map(this.state.vars);
  }

  loadState(tensors: ReadonlyMap<string, Tensor>, updates: number): void {
    const expected = new Map<string, number[]>();
    for (const g of this.groups) for (const p of g.params) {
      expected.set(`${p.name}.exp_avg`, [...p.variable.shape]);
      expected.set(`${p.name}.exp_avg_sq`, [...p.variable.shape]);
    }
    this.state.load(tensors, expected);
    this.updates = updates;
  }

  dispose(): void {
    this.state.dispose();
  }
}
