// tf.variableGrads with PyTorch's memory behaviour in the backward pass. tfjs 4.22's engine keeps
// every tensor saved for the backward pass and every intermediate gradient alive until backprop
// ends (tape.js backpropagateGradients; engine.gradients disposes the saved tensors afterwards),
// so a training step's peak is (saved activations + all activation gradients). This driver walks
// the same tape but frees each node's saved tensors and the gradients of its outputs as soon as the
// node has been processed (each tape tensor is the output of exactly one node, and saved tensors are
// private clones), and frees the saved tensors of nodes that are not on an x -> y path before the
// walk starts. Values are identical to tf.variableGrads (same tape, same gradient functions, same order).
import { tf, type Tensor, type Variable } from './tf.ts';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  saved?: Tensor[];
  gradient?: (dys: Array<Tensor | null>) => Record<string, () => Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/** Nodes on a path from xs to y, with inputs pruned to those that depend on xs (tfjs getFilteredNodesXToY). */
function filterTape(tape: TapeNode[], xs: Tensor[], y: Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id);
      nodesToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    out.push({ ...node, inputs });
  }
  return out;
}

/**
 * Same contract as tf.variableGrads(f, varList): `f` returns a scalar loss; returns the loss and the
 * gradient of every trainable variable in `varList` that the loss depends on, keyed by variable name.
 */
export function variableGrads(f: () => tf.Scalar, varList: Variable[]): { value: tf.Scalar; grads: Record<string, Tensor> } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth !== 0) return tf.variableGrads(f, varList) as { value: tf.Scalar; grads: Record<string, Tensor> };
  const xs = varList.filter((v) => v.trainable);
  if (!xs.length) throw new Error(`variableGrads: none of the ${varList.length} variables is trainable`);
  const y = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy('forward', f));
  if (!(y instanceof tf.Tensor) || y.rank !== 0) throw new Error(`variableGrads: f must return a scalar tensor, got ${y instanceof tf.Tensor ? `rank ${y.rank}` : typeof y}`);
  const tape = engine.state.activeTape!;
  engine.state.activeTape = null;
  const filtered = filterTape(tape, xs, y);
  const keep = new Set(filtered.map((n) => n.id));
  for (const node of tape) if (!keep.has(node.id)) for (const t of node.saved ?? []) t.dispose();
  const isX = new Set(xs.map((x) => x.id));
  const result = engine.tidy('backward', () => {
    // gradient of each tape tensor (by id); `refs` counts map entries per tensor object (a gradient
    // function may hand its dy through unchanged, so one object can be the gradient of two tensors)
    const acc = new Map<number, Tensor>();
    const refs = new Map<Tensor, number>();
    const put = (id: number, g: Tensor) => {
      acc.set(id, g);
      refs.set(g, (refs.get(g) ?? 0) + 1);
    };
    const drop = (id: number) => {
      const g = acc.get(id);
      if (!g) return;
      acc.delete(id);
      const r = (refs.get(g) ?? 1) - 1;
      if (r > 0) refs.set(g, r);
      else {
        refs.delete(g);
        g.dispose();
      }
    };
    put(y.id, tf.onesLike(y));
    for (let i = filtered.length - 1; i >= 0; i--) {
      const node = filtered[i];
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
      const inputGrads = node.gradient(dys);
      for (const [name, x] of Object.entries(node.inputs)) {
        if (!(name in inputGrads)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGrads)}.`);
        const dx = tf.tidy(() => inputGrads[name]());
        if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        if (!tf.util.arraysEqual(dx.shape, x.shape)) throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
        const cur = acc.get(x.id);
        if (!cur) put(x.id, dx);
        else {
          const sum = tf.add(cur, dx);
          drop(x.id);
          if (!refs.has(dx)) dx.dispose();
          put(x.id, sum);
        }
      }
      // this node is done: its saved tensors and the gradients of its outputs are no longer needed
      for (const t of node.saved ?? []) t.dispose();
      for (const o of node.outputs) if (!isX.has(o.id)) drop(o.id);
    }
    const grads: Record<string, Tensor> = {};
    for (const v of xs) {
      const g = acc.get(v.id);
      if (g) grads[v.name] = g;
    }
    return grads;
  });
  if (!Object.keys(result).length) throw new Error('variableGrads: the loss does not depend on any of the variables');
  return { value: y as tf.Scalar, grads: result };
}
