// `ssmv bench model`: inference and training images/s of one backbone at a batch size, peak device
// memory, and a per-kernel time breakdown. Timing is GPU-completed: after the timed steps a tiny
// tensor that depends on the last step is read (the device runs in submission order), and warm-up
// steps (pipeline compilation, buffer pool growth) come first, untimed.
// Training = train-mode forward, cross-entropy, gradients of every trainable parameter (core/autograd variableGrads,
// which frees the tape during the backward pass),
// optional global-norm clipping, AdamW (train/optim) with decoupled weight decay.
import { tf, type Tensor } from '../../core/tf.ts';
import { createModel } from '../../backbones/registry.ts';
import '../../backbones/index.ts';
import type { Module } from '../../core/nn/module.ts';
import { AdamW, paramGroups, clipGradNorm } from '../../train/optim/index.ts';
import { crossEntropy } from '../../train/loss.ts';
import { variableGrads } from '../../core/autograd.ts';
import { measurePeakMemory, type MemoryPeak } from '../ablate/metrics.ts';
import { profileStep, type Breakdown } from './breakdown.ts';

export interface ModelBenchOptions {
  model: string;
  batch: number;
  img: number;
  numClasses: number;
  warmup: number;
  iters: number;
  infer: boolean;
  train: boolean;
  profile: boolean;
  lr: number;
  weightDecay: number;
  clipGrad: number;
  /** false: tfjs composites instead of core/kernels and tf.variableGrads instead of core/autograd (the baseline) */
  customKernels?: boolean;
  /** progress lines (stderr) */
  log?: (s: string) => void;
  /** called as soon as a phase is measured (print it before a later phase can fail) */
  onPhase?: (name: 'inference' | 'training', p: PhaseResult) => void;
}

export interface PhaseResult {
  imagesPerSecond: number;
  msPerStep: number;
  steps: number;
  memory: MemoryPeak & { pool: number };
  breakdown?: Breakdown;
}

export interface ModelBenchResult {
  model: string;
  params: number;
  batch: number;
  img: number;
  backend: string;
  /** bytes of weights (and, after training, optimizer state) resident */
  residentBytes: number;
  inference?: PhaseResult;
  training?: PhaseResult;
  /** pool size (numBytesAllocatedInGPU) at the end: what the device holds */
  poolBytes?: number;
}

interface Classifier extends Module {
  forward(x: Tensor): Tensor;
}

function poolBytes(): number {
  const m = tf.memory() as unknown as Record<string, number>;
  return m.numBytesAllocatedInGPU ?? m.numBytes;
}

/** Device errors (out of memory, validation) are printed by Dawn, not thrown: catch them in a scope. */
async function checked<T>(what: string, f: () => Promise<T>): Promise<T> {
  const device = tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as { device: GPUDevice }).device : null;
  device?.pushErrorScope('out-of-memory');
  device?.pushErrorScope('validation');
  let r: T;
  try {
    r = await f();
  } finally {
    const v = await device?.popErrorScope();
    const o = await device?.popErrorScope();
    if (o) throw new Error(`${what}: the GPU ran out of memory (${o.message}); try a smaller batch`);
    if (v) throw new Error(`${what}: WebGPU validation error: ${v.message}`);
  }
  return r!;
}

async function timeSteps(step: () => Tensor, probe: () => Tensor, warmup: number, iters: number): Promise<number> {
  for (let i = 0; i < warmup; i++) {
    step().dispose();
    const p = probe();
    await p.data(); // GPU->CPU sync: warm-up finished before the clock starts
    p.dispose();
  }
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) step().dispose();
  const p = probe();
  await p.data(); // GPU->CPU sync: in-order execution, every timed step has completed
  const ms = performance.now() - t0;
  p.dispose();
  return ms;
}

export async function runModelBench(o: ModelBenchOptions): Promise<ModelBenchResult> {
  const log = o.log ?? (() => {});
  const custom = o.customKernels ?? true;
  if (!custom) process.env.SSMV_CUSTOM_KERNELS = '0';
  const grad = custom ? variableGrads : (tf.variableGrads as typeof variableGrads);
  const model = createModel(o.model, { num_classes: o.numClasses }) as unknown as Classifier;
  const params = model.numParams();
  const x = tf.randomNormal([o.batch, o.img, o.img, 3], 0, 1, 'float32', 1234);
  const y = tf.tensor1d(Array.from({ length: o.batch }, (_, i) => i % o.numClasses), 'int32');
  const firstVar = model.parameters()[0];
  const probe = () => tf.tidy(() => tf.slice(firstVar.reshape([-1]), [0], [1]));
  const result: ModelBenchResult = { model: o.model, params, batch: o.batch, img: o.img, backend: tf.getBackend(), residentBytes: 0 };
  try {
    if (o.infer) {
      model.eval();
      const step = () => tf.tidy(() => model.forward(x));
      const probeOut = (): Tensor => tf.tidy(() => tf.slice(step().reshape([-1]), [0], [1]));
      log(`inference: ${o.warmup} warm-up + ${o.iters} timed steps of batch ${o.batch}`);
      const ms = await checked('inference', () => timeSteps(step, probe, o.warmup, o.iters));
      const memory = await checked('inference memory', () => measurePeakMemory(step));
      result.inference = { imagesPerSecond: (o.batch * o.iters) / (ms / 1000), msPerStep: ms / o.iters, steps: o.iters, memory: { ...memory, pool: poolBytes() } };
      if (o.profile) {
        log('inference: profiled step');
        result.inference.breakdown = await checked('inference profile', () => profileStep(probeOut));
      }
      o.onPhase?.('inference', result.inference);
    }
    if (o.train) {
      model.train();
      const groups = paramGroups(model, o.weightDecay);
      const optimizer = new AdamW(groups);
      const vars = groups.flatMap((g) => g.params.map((p) => p.variable));
      const nameOf = new Map(groups.flatMap((g) => g.params.map((p) => [p.variable.name, p.name] as const)));
      const step = (): Tensor => {
        const { value, grads } = grad(() => crossEntropy(model.forward(x), y) as tf.Scalar, vars);
        const named = new Map<string, Tensor>();
        for (const [v, g] of Object.entries(grads)) named.set(nameOf.get(v) ?? v, g);
        let update = named;
        if (o.clipGrad > 0) {
          const c = clipGradNorm(named, o.clipGrad);
          for (const g of named.values()) g.dispose();
          c.norm.dispose();
          update = c.grads;
        }
        optimizer.step(update, o.lr);
        for (const g of update.values()) g.dispose();
        return value;
      };
      try {
        log(`training: ${o.warmup} warm-up + ${o.iters} timed steps of batch ${o.batch}`);
        const ms = await checked('training', () => timeSteps(step, probe, o.warmup, o.iters));
        const memory = await checked('training memory', () => measurePeakMemory(() => [step(), probe()]));
        result.training = { imagesPerSecond: (o.batch * o.iters) / (ms / 1000), msPerStep: ms / o.iters, steps: o.iters, memory: { ...memory, pool: poolBytes() } };
        if (o.profile) {
          log('training: profiled step');
          result.training.breakdown = await checked('training profile', () => profileStep(() => [step(), probe()]));
        }
        result.residentBytes = (tf.memory() as unknown as Record<string, number>).numBytesInGPU ?? tf.memory().numBytes;
        o.onPhase?.('training', result.training);
      } finally {
        optimizer.dispose();
      }
    }
    result.poolBytes = poolBytes();
    return result;
  } finally {
    x.dispose();
    y.dispose();
    model.dispose();
  }
}
