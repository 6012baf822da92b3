// Speed and memory of one model on the current backend:
// - throughput (images/s): `warmup` untimed steps, then `steps` timed ones; the clock stops when a
//   read of the last result returns (the device executes in submission order, so that read waits for
//   every timed step: GPU-completed timing, not dispatch timing).
// - peak memory of one step: tf.memory() sampled after every kernel the engine runs (and, on webgpu,
//   after every WebGPU program, which includes the internal programs of composite kernels). On webgpu
//   the sampled field is numBytesInGPU (bytes of GPU buffers in use); on the other backends it is
//   numBytes (bytes of all live tfjs tensors). The step's result is awaited inside the sampling.
import { tf, type Tensor } from '../../core/tf.ts';
import { paramGroups, AdamW, clipGradNorm } from '../../train/optim/index.ts';
import { crossEntropy } from '../../train/loss.ts';
import { variableGrads } from '../../core/autograd.ts'; // the trainer's: frees the tape during backprop
import type { Classifier } from '../../train/evaluate.ts';

export type MemoryField = 'numBytesInGPU' | 'numBytes';

export interface MemoryPeak {
  field: MemoryField;
  /** bytes in use before the step (weights, optimizer state, inputs) */
  before: number;
  /** highest sample during the step */
  peak: number;
  /** samples taken (kernels + programs) */
  samples: number;
}

export interface Throughput {
  imagesPerSecond: number;
  /** seconds of the timed steps */
  seconds: number;
  batch: number;
  steps: number;
  warmup: number;
}

/** the tf.memory() field that describes device memory on the current backend */
export function memoryField(): MemoryField {
  return tf.getBackend() === 'webgpu' ? 'numBytesInGPU' : 'numBytes';
}

function readMemory(field: MemoryField): number {
  const m = tf.memory() as unknown as Record<string, number>;
  const v = m[field];
  if (typeof v !== 'number') throw new Error(`tf.memory() has no '${field}' on backend '${tf.getBackend()}'`);
  return v;
}

type Patchable = Record<string, unknown>;

/** Replaces obj[name] (a method) by a wrapper that samples after each call; returns the restorer. */
function hook(obj: Patchable, name: string, after: () => void): () => void {
  const orig = obj[name];
  if (typeof orig !== 'function') throw new Error(`memory sampling: '${name}' is not a method of the ${obj.constructor?.name ?? 'object'} (tfjs internals changed?)`);
  const own = Object.prototype.hasOwnProperty.call(obj, name);
  obj[name] = function (this: unknown, ...args: unknown[]) {
    const r = (orig as (...a: unknown[]) => unknown).apply(this, args);
    after();
    return r;
  };
  return () => {
    if (own) obj[name] = orig;
    else delete obj[name];
  };
}

/**
 * Peak of tf.memory()[field] while `step` runs. Samples after every engine kernel (tfjs 4.22
 * Engine.runKernelFunc, through which every op and gradient passes) and, on webgpu, after every
 * WebGPUBackend.runWebGPUProgram. `step` returns the tensors to await (read inside the sampling).
 */
export async function measurePeakMemory(step: () => Tensor | Tensor[]): Promise<MemoryPeak> {
  const field = memoryField();
  const before = readMemory(field);
  let peak = before;
  let samples = 0;
  const sample = () => {
    samples++;
    const v = readMemory(field);
    if (v > peak) peak = v;
  };
  const restore = [hook(tf.engine() as unknown as Patchable, 'runKernelFunc', sample)];
  if (tf.getBackend() === 'webgpu') restore.push(hook(tf.backend() as unknown as Patchable, 'runWebGPUProgram', sample));
  try {
    const out = step();
    const list = Array.isArray(out) ? out : [out];
    await Promise.all(list.map((t) => t.data())); // GPU->CPU sync: the step has finished
    sample();
    tf.dispose(list);
  } finally {
    for (const r of restore.reverse()) r();
  }
  return { field, before, peak, samples };
}

/** reproducible inputs: (B, S, S, 3) standard-normal images (the pipelines normalise) and labels */
function benchInputs(batch: number, size: number, numClasses: number): { x: Tensor; y: Tensor } {
  return {
    x: tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1234),
    y: tf.tensor1d(Array.from({ length: batch }, (_, i) => i % numClasses), 'int32'),
  };
}

async function timeSteps(step: () => Tensor, warmup: number, steps: number): Promise<number> {
  for (let i = 0; i < warmup; i++) {
    const t = step();
    await t.data(); // GPU->CPU sync: warm-up done before the clock starts
    t.dispose();
  }
  const t0 = performance.now();
  let last: Tensor | null = null;
  for (let i = 0; i < steps; i++) {
    last?.dispose();
    last = step();
  }
  await last!.data(); // GPU->CPU sync: in-order execution, so every timed step has completed
  const seconds = (performance.now() - t0) / 1000;
  last!.dispose();
  return seconds;
}

export interface BenchOptions {
  batch: number;
  size: number;
  numClasses: number;
  warmup: number;
  steps: number;
}

/** Inference: eval-mode forward of a (batch, size, size, 3) batch; images/s and peak memory. */
export async function benchInference(model: Classifier, o: BenchOptions): Promise<{ throughput: Throughput; memory: MemoryPeak }> {
  const wasTraining = model.training;
  model.eval();
  const { x, y } = benchInputs(o.batch, o.size, o.numClasses);
  try {
    const step = () => tf.tidy(() => model.forward(x));
    const seconds = await timeSteps(step, o.warmup, o.steps);
    const memory = await measurePeakMemory(step);
    return { throughput: { imagesPerSecond: (o.batch * o.steps) / seconds, seconds, batch: o.batch, steps: o.steps, warmup: o.warmup }, memory };
  } finally {
    x.dispose();
    y.dispose();
    model.train(wasTraining);
  }
}

/**
 * Training: one update as the trainer makes it (train-mode forward, label-smoothed cross-entropy,
 * gradients of every trainable parameter through core/autograd's variableGrads, global-norm clipping, AdamW with decoupled weight decay).
 * The updates change the weights: run it last on a model. The optimizer state exists before the
 * memory step (created by the warm-up/timed steps), as in a real run after its first update.
 */
export async function benchTraining(model: Classifier, o: BenchOptions & { lr: number; weightDecay: number; clipGrad: number; smoothing: number }): Promise<{ throughput: Throughput; memory: MemoryPeak }> {
  const wasTraining = model.training;
  model.train();
  const groups = paramGroups(model, o.weightDecay);
  const optimizer = new AdamW(groups);
  const vars = groups.flatMap((g) => g.params.map((p) => p.variable));
  const nameOf = new Map(groups.flatMap((g) => g.params.map((p) => [p.variable.name, p.name] as const)));
  const { x, y } = benchInputs(o.batch, o.size, o.numClasses);
  const step = (): Tensor => {
    const { value, grads } = variableGrads(() => crossEntropy(model.forward(x), y, o.smoothing) as tf.Scalar, vars);
    const named = new Map<string, Tensor>();
    for (const [v, g] of Object.entries(grads)) named.set(nameOf.get(v) ?? v, g);
    const { grads: clipped, norm } = clipGradNorm(named, o.clipGrad);
    for (const g of named.values()) g.dispose();
    optimizer.step(clipped, o.lr);
    for (const g of clipped.values()) g.dispose();
    norm.dispose();
    return value;
  };
  try {
    const seconds = await timeSteps(step, o.warmup, o.steps);
    const memory = await measurePeakMemory(step);
    return { throughput: { imagesPerSecond: (o.batch * o.steps) / seconds, seconds, batch: o.batch, steps: o.steps, warmup: o.warmup }, memory };
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
    model.train(wasTraining);
  }
}
