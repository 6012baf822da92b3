// Module system with PyTorch state-dict names. A parameter's name is its path in the module tree
// (`layers.0.blocks.1.op.x_proj_weight`), built from the names children are registered under, so
// weight import is a key lookup plus the per-parameter layout change recorded here:
//   'plain'  : same layout in PyTorch and here (Linear keeps PyTorch's (out, in) and multiplies with
//              transposeB, norms, raw SSM parameters)
//   'conv'   : PyTorch OIHW  <-> tfjs HWIO
//   'dwconv' : PyTorch (C*m, 1, kh, kw) <-> tfjs depthwise (kh, kw, C, m)
// Activations are NHWC (tfjs convention); channel-first PyTorch modules map onto the same parameters.
import { tf, type Tensor, type Variable } from '../tf.ts';
import { numel, type StateDict, type TensorRecord } from '../io/tensor-record.ts';

export type ParamLayout = 'plain' | 'conv' | 'dwconv';

export interface ParamOptions {
  layout?: ParamLayout;
  /** excluded from weight decay (timm's no_weight_decay: norms, biases, A_logs, Ds, pos embeds) */
  noDecay?: boolean;
}

export interface NamedParam {
  name: string;
  variable: Variable;
  layout: ParamLayout;
  noDecay: boolean;
  /** shape in the PyTorch state dict */
  torchShape: number[];
}

export interface NamedBuffer {
  name: string;
  variable: Variable;
  /** how the value is written to a checkpoint (PyTorch keeps num_batches_tracked as int64) */
  torchDtype: 'float32' | 'int64';
}

export interface LoadResult {
  missing: string[];
  unexpected: string[];
  mismatched: Array<{ key: string; expected: number[]; actual: number[] }>;
}

/** Something that maps one tensor to one tensor (what Sequential chains). */
export interface Layer {
  forward(x: Tensor): Tensor;
}

export function torchShapeOf(shape: readonly number[], layout: ParamLayout): number[] {
  if (layout === 'conv') return [shape[3], shape[2], shape[0], shape[1]]; // HWIO -> OIHW
  if (layout === 'dwconv') return [shape[2] * shape[3], 1, shape[0], shape[1]]; // (kh,kw,C,m) -> (C*m,1,kh,kw)
  return [...shape];
}

/** PyTorch-layout values -> a tensor in our layout. */
export function fromTorchLayout(rec: TensorRecord, layout: ParamLayout, ourShape: readonly number[]): Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(rec.data, rec.shape, rec.data instanceof Int32Array ? 'int32' : 'float32');
    if (layout === 'conv') return t.transpose([2, 3, 1, 0]);
    if (layout === 'dwconv') {
      const [kh, kw, C, m] = ourShape;
      return t.reshape([C, m, kh, kw]).transpose([2, 3, 0, 1]);
    }
    return t;
  });
}

/** A tensor in our layout -> PyTorch layout (still a tensor). */
export function toTorchLayout(t: Tensor, layout: ParamLayout): Tensor {
  return tf.tidy(() => {
    if (layout === 'conv') return t.transpose([3, 2, 0, 1]);
    if (layout === 'dwconv') {
      const [kh, kw, C, m] = t.shape;
      return t.transpose([2, 3, 0, 1]).reshape([C * m, 1, kh, kw]);
    }
    return t.clone();
  });
}

export abstract class Module {
  training = true;
  private readonly ownParams = new Map<string, { variable: Variable; layout: ParamLayout; noDecay: boolean }>();
  private readonly ownBuffers = new Map<string, { variable: Variable; torchDtype: 'float32' | 'int64' }>();
  private readonly children = new Map<string, Module>();

  /** Registers a trainable parameter under `name` (a PyTorch attribute name). */
  protected param(name: string, value: Tensor, opts: ParamOptions = {}): Variable {
    this.checkName(name);
    const variable = tf.variable(value, true);
    value.dispose();
    this.ownParams.set(name, { variable, layout: opts.layout ?? 'plain', noDecay: opts.noDecay ?? false });
    return variable;
  }

  /** Registers a non-trainable buffer (BatchNorm running stats). */
  protected buffer(name: string, value: Tensor, torchDtype: 'float32' | 'int64' = 'float32'): Variable {
    this.checkName(name);
    const variable = tf.variable(value, false);
    value.dispose();
    this.ownBuffers.set(name, { variable, torchDtype });
    return variable;
  }

  /** Registers a child module under `name` (`'op'`, `'0'`, ...). */
  protected child<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.children.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`invalid module attribute name '${name}'`);
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.children.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is registered twice`);
    }
  }

  namedChildren(): Array<[string, Module]> {
    return [...this.children.entries()];
  }

  /** Every module in the tree with its path ('' for this one), depth first in registration order. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  namedParameters(): NamedParam[] {
    const out: NamedParam[] = [];
    for (const [path, m] of this.namedModules()) {
      for (const [n, p] of m.ownParams) {
        out.push({ name: path ? `${path}.${n}` : n, variable: p.variable, layout: p.layout, noDecay: p.noDecay, torchShape: torchShapeOf(p.variable.shape, p.layout) });
      }
    }
    return out;
  }

  namedBuffers(): NamedBuffer[] {
    const out: NamedBuffer[] = [];
    for (const [path, m] of this.namedModules()) {
      for (const [n, b] of m.ownBuffers) out.push({ name: path ? `${path}.${n}` : n, variable: b.variable, torchDtype: b.torchDtype });
    }
    return out;
  }

  parameters(): Variable[] {
    return this.namedParameters().map((p) => p.variable);
  }

  numParams(): number {
    return this.namedParameters().reduce((a, p) => a + numel(p.variable.shape), 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers in PyTorch layout, keyed by state-dict path. Reads the GPU (async). */
  async stateDict(): Promise<StateDict> {
    const out: StateDict = new Map();
    const entries: Array<[string, Tensor, boolean, 'float32' | 'int64']> = [];
    for (const p of this.namedParameters()) entries.push([p.name, toTorchLayout(p.variable, p.layout), false, 'float32']);
    for (const b of this.namedBuffers()) entries.push([b.name, b.variable.clone(), b.variable.dtype === 'int32', b.torchDtype]);
    for (const [name, t, isInt, torchDtype] of entries) {
      const data = await t.data(); // GPU->CPU sync (checkpoint export only)
      out.set(name, {
        dtype: isInt ? (torchDtype === 'int64' ? 'int64' : 'int32') : 'float32',
        shape: [...t.shape],
        data: isInt ? Int32Array.from(data) : Float32Array.from(data),
      });
      t.dispose();
    }
    return out;
  }

  /**
   * Loads PyTorch-layout tensors. strict (default): a missing, unexpected or misshaped key throws,
   * naming it, and nothing is changed. strict: false loads what matches and returns the lists.
   */
  loadStateDict(dict: StateDict, { strict = true }: { strict?: boolean } = {}): LoadResult {
    const targets = new Map<string, { variable: Variable; layout: ParamLayout; torchShape: number[] }>();
    for (const p of this.namedParameters()) targets.set(p.name, { variable: p.variable, layout: p.layout, torchShape: p.torchShape });
    for (const b of this.namedBuffers()) targets.set(b.name, { variable: b.variable, layout: 'plain', torchShape: [...b.variable.shape] });
    const result: LoadResult = { missing: [], unexpected: [], mismatched: [] };
    for (const key of targets.keys()) if (!dict.has(key)) result.missing.push(key);
    for (const key of dict.keys()) if (!targets.has(key)) result.unexpected.push(key);
    for (const [key, t] of targets) {
      const rec = dict.get(key);
      if (rec && !sameShape(rec.shape, t.torchShape)) result.mismatched.push({ key, expected: t.torchShape, actual: rec.shape });
    }
    if (strict) {
      const problems: string[] = [];
      if (result.mismatched.length) {
        const m = result.mismatched[0];
        problems.push(`size mismatch for '${m.key}': checkpoint has [${m.actual}], the model expects [${m.expected}]` + (result.mismatched.length > 1 ? ` (and ${result.mismatched.length - 1} more)` : ''));
      }
      if (result.missing.length) problems.push(`missing key${result.missing.length > 1 ? 's' : ''} ${listKeys(result.missing)}`);
      if (result.unexpected.length) problems.push(`unexpected key${result.unexpected.length > 1 ? 's' : ''} ${listKeys(result.unexpected)}`);
      if (problems.length) throw new Error(`loadStateDict (strict): ${problems.join('; ')}`);
    }
    const bad = new Set(result.mismatched.map((m) => m.key));
    for (const [key, t] of targets) {
      const rec = dict.get(key);
      if (!rec || bad.has(key)) continue;
      const value = fromTorchLayout(rec, t.layout, t.variable.shape);
      t.variable.assign(t.variable.dtype === value.dtype ? value : value.cast(t.variable.dtype));
      value.dispose();
    }
    return result;
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const p of this.namedParameters()) p.variable.dispose();
    for (const b of this.namedBuffers()) b.variable.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function listKeys(keys: string[]): string {
  const shown = keys.slice(0, 5).map((k) => `'${k}'`).join(', ');
  return keys.length > 5 ? `${shown} (and ${keys.length - 5} more)` : shown;
}
