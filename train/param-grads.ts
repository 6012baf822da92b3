// Gradients keyed the way the optimizers and clipGradNorm key them (a parameter's state-dict name, not
// the tf variable name), computed with core/autograd's variableGrads (tf.variableGrads' values with
// the tape freed as the backward pass goes, and the custom kernels' gradients), and the on-device sum
// of micro-batch gradients for accumulation. Shared by train/trainer.ts and train/yolo/trainer.ts.
import { tf, type Tensor } from '../core/tf.ts';
import type { NamedParam } from '../core/nn/module.ts';
import { variableGrads } from '../core/autograd.ts';

export class ParamGrads {
  /** the variables of every group's parameters, in group order */
  readonly trainable: tf.Variable[] = [];
  private readonly names = new Map<string, string>();

  constructor(groups: ReadonlyArray<{ params: readonly NamedParam[] }>) {
    for (const g of groups) for (const p of g.params) {
      this.names.set(p.variable.name, p.name);
      this.trainable.push(p.variable);
    }
  }

  /** `f` (synchronous) returns the scalar loss; the loss and the gradient of each parameter it depends on */
  compute(f: () => tf.Scalar): { value: tf.Scalar; grads: Map<string, Tensor> } {
    const { value, grads } = variableGrads(f, this.trainable);
    const named = new Map<string, Tensor>();
    for (const [vname, g] of Object.entries(grads)) named.set(this.names.get(vname) ?? vname, g);
    return { value, grads: named };
  }
}

/** acc += grads per name (a new map when acc is null); consumes `grads` and the replaced sums */
export function addGradsInto(acc: Map<string, Tensor> | null, grads: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const out = acc ?? new Map<string, Tensor>();
  for (const [k, g] of grads) {
    const a = out.get(k);
    if (a) {
      out.set(k, tf.add(a, g));
      a.dispose();
      g.dispose();
    } else out.set(k, g);
  }
  return out;
}
