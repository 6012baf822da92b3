// Containers. Sequential names its children '0', '1', ... as PyTorch does, so parameter-free entries
// (a Permute that is a no-op in NHWC, an activation) keep the numbering of the official state dicts.
import type { Tensor } from '../tf.ts';
import { Module, type Layer } from './module.ts';

export type LayerModule = Module & Layer;

export class Sequential extends Module implements Layer {
  readonly layers: LayerModule[];

  constructor(...layers: LayerModule[]) {
    super();
    this.layers = layers.map((l, i) => this.child(String(i), l));
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

/** nn.ModuleList: children '0', '1', ... with no forward of its own. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];

  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }

  get length(): number {
    return this.items.length;
  }
}
