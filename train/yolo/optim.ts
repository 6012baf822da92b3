// ultralytics' optimizer setup (engine/trainer.py `build_optimizer`, `_setup_train`, `_do_train`):
// three parameter groups walked module by module —
//   pg0: every parameter whose full name contains "bias" (no decay; dt_projs_bias included, as there)
//   pg1: other parameters of non-norm modules (weights, A_logs, Ds, x_proj_weight...): weight decay
//   pg2: weights of norm layers (BatchNorm, LayerNorm): no decay
// — and torch.optim.SGD(nesterov) with a learning rate and momentum per group, changed every
// iteration during the warmup: pg0's lr falls from warmup_bias_lr to lr0 * lf(epoch), the others rise
// from 0, momentum rises from warmup_momentum to momentum.
import { tf, type Tensor } from '../../core/tf.ts';
import type { Module, NamedParam } from '../../core/nn/module.ts';
import { BatchNorm2d, LayerNorm, RMSNorm } from '../../core/nn/norm.ts';
import { StateStore } from '../optim/optimizer.ts';
import { momentumBufferShapes, sgdUpdate } from '../optim/sgd.ts';

export interface YoloParamGroup {
  name: 'pg0' | 'pg1' | 'pg2';
  params: NamedParam[];
  weightDecay: number;
  /** torch's initial_lr (lr0) */
  initialLr: number;
  lr: number;
  momentum: number;
}

export function yoloParamGroups(model: Module, lr0: number, momentum: number, weightDecay: number): YoloParamGroup[] {
  const modules = new Map(model.namedModules());
  const g: NamedParam[][] = [[], [], []];
  for (const p of model.namedParameters()) {
    if (!p.variable.trainable) continue; // torch's SGD skips requires_grad=False (the DFL projection)
    const owner = modules.get(p.name.includes('.') ? p.name.slice(0, p.name.lastIndexOf('.')) : '');
    if (p.name.includes('bias')) g[0].push(p);
    else if (owner instanceof BatchNorm2d || owner instanceof LayerNorm || owner instanceof RMSNorm) g[2].push(p);
    else g[1].push(p);
  }
  return [
    { name: 'pg0', params: g[0], weightDecay: 0, initialLr: lr0, lr: lr0, momentum },
    { name: 'pg1', params: g[1], weightDecay, initialLr: lr0, lr: lr0, momentum },
    { name: 'pg2', params: g[2], weightDecay: 0, initialLr: lr0, lr: lr0, momentum },
  ];
}

/**
 * torch.optim.SGD(nesterov=True, dampening 0) over groups with their own lr / momentum / decay:
 * g <- g + wd p; b <- g (first update) else mu b + g; p <- p - lr (g + mu b) — train/optim/sgd.ts's
 * update with the lr and momentum that applySchedule set on each group. The state tensors are named
 * `<param>.momentum_buffer`, as the classification optimizers (train/optim), so the shared
 * checkpoint writer stores them.
 */
export class YoloSGD {
  readonly kind = 'sgd';
  updates = 0;
  private readonly state = new StateStore();

  constructor(readonly groups: YoloParamGroup[], readonly nesterov = true) {}

  step(grads: ReadonlyMap<string, Tensor>): void {
    this.updates++;
    for (const group of this.groups) {
      for (const p of group.params) {
        const g = grads.get(p.name);
        if (g) sgdUpdate(this.state, p, g, { lr: group.lr, momentum: group.momentum, weightDecay: group.weightDecay, nesterov: this.nesterov });
      }
    }
  }

  stateTensors(): Map<string, tf.Variable> {
    return new Map(this.state.vars);
  }

  loadState(tensors: ReadonlyMap<string, Tensor>, updates: number): void {
    this.state.load(tensors, momentumBufferShapes(this.groups));
    this.updates = updates;
  }

  dispose(): void {
    this.state.dispose();
  }
}

/** np.interp(x, [x0, x1], [y0, y1]) clamped */
export function interp1(x: number, x0: number, x1: number, y0: number, y1: number): number {
  if (x <= x0) return y0;
  if (x >= x1) return y1;
  return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
}

/** the LambdaLR factor of epoch e: linear (1 - e/E)(1 - lrf) + lrf, or one_cycle's cosine from 1 to lrf */
export function lrLambda(epoch: number, epochs: number, lrf: number, cos: boolean): number {
  if (cos) return ((1 - Math.cos((epoch * Math.PI) / epochs)) / 2) * (lrf - 1) + 1;
  return Math.max(1 - epoch / epochs, 0) * (1.0 - lrf) + lrf;
}

export interface WarmupState {
  /** iterations of warmup: max(round(warmup_epochs * nb), 100), or -1 when warmup_epochs is 0 */
  nw: number;
  /** accumulate (batches per optimizer step) at iteration ni */
  accumulate: number;
}

/**
 * Sets every group's lr and momentum for iteration ni (batches since the start) of `epoch`, as
 * _do_train does at the top of each batch; returns the accumulate in force.
 */
export function applySchedule(groups: YoloParamGroup[], o: { ni: number; nw: number; epoch: number; epochs: number; lrf: number; cosLr: boolean; warmupBiasLr: number; warmupMomentum: number; momentum: number; nbs: number; batch: number; accumulate: number }): number {
  const lf = lrLambda(o.epoch, o.epochs, o.lrf, o.cosLr);
  if (o.ni <= o.nw) {
    groups.forEach((g, j) => {
      g.lr = interp1(o.ni, 0, o.nw, j === 0 ? o.warmupBiasLr : 0, g.initialLr * lf);
      g.momentum = interp1(o.ni, 0, o.nw, o.warmupMomentum, o.momentum);
    });
    return Math.max(1, Math.round(interp1(o.ni, 0, o.nw, 1, o.nbs / o.batch)));
  }
  for (const g of groups) {
    g.lr = g.initialLr * lf;
    g.momentum = o.momentum;
  }
  return o.accumulate;
}
