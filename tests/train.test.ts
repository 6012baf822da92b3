// train/ math on the cpu backend: optimizer updates against hand-computed torch formulas, the timm
// cosine schedule at chosen steps, EMA decay and update, losses, top-k counts, gradient clipping,
// weight-decay groups and the config's lr scaling.
import test from 'ava';
import { tf, type Tensor } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { Module } from '../core/nn/module.ts';
import { AdamW, SGD, paramGroups, clipGradNorm, isNoDecay } from '../train/optim/index.ts';
import { lrAt, cosineFromEpochs } from '../train/schedule.ts';
import { emaDecay, ModelEma } from '../train/ema.ts';
import { crossEntropy, softTargetCrossEntropy, evalCounts } from '../train/loss.ts';
import { defaultTrainConfig, resolveLr, trainConfigFrom } from '../train/config.ts';

test.before(async () => {
  await setBackend('cpu');
});

/** w (1, 2) decays; b (2) and A_logs (1, 2) do not */
class Toy extends Module {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly a: tf.Variable;
  constructor(w = [1, -2], b = [0.5, 0.25], a = [0.1, 0.2]) {
    super();
    this.w = this.param('w', tf.tensor2d([w]));
    this.b = this.param('b', tf.tensor1d(b));
    this.a = this.param('A_logs', tf.tensor2d([a]));
  }
}

const close = (t: { true: (v: boolean, m?: string) => void }, got: ArrayLike<number>, want: number[], tol = 1e-6) => {
  for (let i = 0; i < want.length; i++) t.true(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])), `[${i}] ${got[i]} vs ${want[i]}`);
};
const grads = (m: Record<string, number[][] | number[]>) => new Map<string, Tensor>(Object.entries(m).map(([k, v]) => [k, tf.tensor(v)]));

test('weight-decay groups: 2-D weights decay; biases, 1-D params, A_logs and noDecay-flagged do not', (t) => {
  const m = new Toy();
  const [decay, noDecay] = paramGroups(m, 0.05);
  t.deepEqual(decay.params.map((p) => p.name), ['w']);
  t.deepEqual(noDecay.params.map((p) => p.name).sort(), ['A_logs', 'b']);
  t.is(decay.weightDecay, 0.05);
  t.is(noDecay.weightDecay, 0);
  t.true(isNoDecay({ name: 'pos_embed', noDecay: false, variable: m.w, layout: 'plain', torchShape: [1, 2] }));
  m.dispose();
});

test('AdamW: two updates equal torch.optim.AdamW by hand (decoupled decay on w only)', (t) => {
  const m = new Toy();
  const opt = new AdamW(paramGroups(m, 0.1), { betas: [0.9, 0.999], eps: 1e-8 });
  const g1 = { w: [[0.5, -1]], b: [0.2, 0.4], A_logs: [[1, 1]] };
  const g2 = { w: [[-0.25, 2]], b: [0.1, -0.3], A_logs: [[0, 2]] };
  const lr1 = 0.01, lr2 = 0.02;
  // hand-computed torch AdamW for w[0] = 1 and b[0] = 0.5:
  // step 1: p = 1*(1 - 0.01*0.1) = 0.999; m = 0.05; v = 0.00025; mhat = 0.5, vhat = 0.25 -> 0.999 - 0.01*0.5/(0.5+1e-8) = 0.989
  // step 2: p = 0.989*(1-0.002) = 0.987022; m = 0.045-0.025 = 0.02; v = 0.00024975+0.0000625 = 0.00031225
  //         step_size = 0.02/(1-0.81) = 0.105263158; denom = sqrt(0.00031225)/sqrt(1-0.998001) + 1e-8 = 0.395205...
  //         p = 0.987022 - 0.105263158 * 0.02 / 0.39520... = 0.98169513
  const gs1 = grads(g1), gs2 = grads(g2);
  opt.step(gs1, lr1);
  close(t, m.w.dataSync(), [0.989, -2 * (1 - 0.001) + 0.01], 1e-6);
  close(t, m.b.dataSync(), [0.5 - 0.01, 0.25 - 0.01], 1e-6); // no decay: 0.5 - lr * 1
  opt.step(gs2, lr2);
  const denom = Math.sqrt(0.00031225) / Math.sqrt(1 - 0.999 ** 2) + 1e-8;
  close(t, [m.w.dataSync()[0]], [0.987022 - (0.02 / (1 - 0.81)) * 0.02 / denom], 1e-6);
  t.true(Math.abs(m.w.dataSync()[0] - 0.98169513) < 2e-6);
  t.is(opt.updates, 2);
  const st = opt.stateTensors();
  t.deepEqual([...st.keys()].sort(), ['A_logs.exp_avg', 'A_logs.exp_avg_sq', 'b.exp_avg', 'b.exp_avg_sq', 'w.exp_avg', 'w.exp_avg_sq']);
  close(t, st.get('w.exp_avg')!.dataSync(), [0.02, 0.9 * -0.1 + 0.1 * 2], 1e-6);
  for (const g of [...gs1.values(), ...gs2.values()]) g.dispose();
  opt.dispose();
  m.dispose();
});

test('SGD: nesterov momentum with coupled weight decay equals torch.optim.SGD by hand', (t) => {
  const m = new Toy([1, 2]);
  const opt = new SGD(paramGroups(m, 0.01), { momentum: 0.9, nesterov: true });
  // w[0]: g1 = 0.5 + 0.01*1 = 0.51; buf = 0.51; d = 0.51 + 0.9*0.51 = 0.969; p = 1 - 0.1*0.969 = 0.9031
  //       g2 = -1 + 0.01*0.9031 = -0.990969; buf = 0.9*0.51 - 0.990969 = -0.531969
  //       d = -0.990969 + 0.9*(-0.531969) = -1.4697411; p = 0.9031 + 0.1*1.4697411 = 1.05007411
  const g1 = grads({ w: [[0.5, 0]] }), g2 = grads({ w: [[-1, 0]] });
  opt.step(g1, 0.1);
  close(t, [m.w.dataSync()[0]], [0.9031]);
  opt.step(g2, 0.1);
  close(t, [m.w.dataSync()[0]], [1.05007411]);
  close(t, [opt.stateTensors().get('w.momentum_buffer')!.dataSync()[0]], [-0.531969]);
  // parameters without a gradient are untouched, with or without decay
  close(t, m.b.dataSync(), [0.5, 0.25]);
  // plain momentum (no nesterov): p -= lr * buf
  const m2 = new Toy([1, 2]);
  const plain = new SGD(paramGroups(m2, 0), { momentum: 0.9, nesterov: false });
  plain.step(g1, 0.1);
  plain.step(g2, 0.1);
  close(t, [m2.w.dataSync()[0]], [1 - 0.05 - 0.1 * (0.9 * 0.5 - 1)]);
  for (const g of [...g1.values(), ...g2.values()]) g.dispose();
  opt.dispose(); plain.dispose(); m.dispose(); m2.dispose();
});

test('optimizer state round trip: loadState restores moments and the update count; wrong shapes are named', (t) => {
  const m = new Toy();
  const a = new AdamW(paramGroups(m, 0.05));
  const g = grads({ w: [[1, 2]], b: [1, 1], A_logs: [[1, 1]] });
  a.step(g, 0.1);
  const b = new AdamW(paramGroups(m, 0.05));
  b.loadState(a.stateTensors(), a.updates);
  t.is(b.updates, 1);
  close(t, b.stateTensors().get('w.exp_avg_sq')!.dataSync(), [0.001, 0.004]);
  const bad = new Map<string, Tensor>([['w.exp_avg', tf.zeros([3])]]);
  t.throws(() => b.loadState(bad, 1), { message: /'w.exp_avg' has shape \[3\], the parameter has \[1,2\]/ });
  const extra = new Map<string, Tensor>([['head.weight.exp_avg', tf.zeros([3])]]);
  t.throws(() => b.loadState(extra, 1), { message: /unexpected entry 'head.weight.exp_avg'/ });
  for (const x of [...g.values(), ...bad.values(), ...extra.values()]) x.dispose();
  a.dispose(); b.dispose(); m.dispose();
});

test('cosine schedule with warmup: values of timm CosineLRScheduler(warmup_prefix, t_in_epochs=False)', (t) => {
  // VMamba's build_scheduler with epochs 10, warmup 2, 5 updates per epoch: warmup_t 10, t_initial 40
  const s = cosineFromEpochs({ lr: 1e-3, warmupLr: 1e-6, minLr: 1e-5, epochs: 10, warmupEpochs: 2, stepsPerEpoch: 5 });
  t.is(s.warmupSteps, 10);
  t.is(s.decaySteps, 40);
  const cases: Array<[number, number]> = [
    [0, 1e-6], // warmup_lr_init
    [5, 5.005e-4], // 1e-6 + 5 * (1e-3 - 1e-6) / 10
    [9, 9.001e-4],
    [10, 1e-3], // cosine starts at the peak
    [20, 8.5501786e-4], // 1e-5 + 0.495e-3 * (1 + cos(pi/4))
    [30, 5.05e-4], // half way: (lr + min) / 2
    [49, 1.1526e-5], // 1e-5 + 0.495e-3 * (1 + cos(39 pi / 40))
    [50, 1e-5], // past the single cycle: lr_min
    [400, 1e-5],
  ];
  for (const [step, want] of cases) t.true(Math.abs(lrAt(s, step) - want) < 1e-9, `lr(${step}) = ${lrAt(s, step)}, want ${want}`);
  t.is(lrAt({ kind: 'constant', baseLr: 0.1, warmupLr: 0, warmupSteps: 4 }, 2), 0.05);
  t.is(lrAt({ kind: 'constant', baseLr: 0.1, warmupLr: 0, warmupSteps: 4 }, 9), 0.1);
  t.throws(() => cosineFromEpochs({ lr: 1, warmupLr: 0, minLr: 0, epochs: 2, warmupEpochs: 2, stepsPerEpoch: 3 }), { message: /warmup_epochs \(2\) must be smaller than epochs \(2\)/ });
});

test('lr scaling as VMamba main.py: 5e-4 per 512 images, warmup lr/1000, min lr/100', (t) => {
  const c = defaultTrainConfig();
  t.deepEqual(resolveLr({ ...c, batch: 128, accum: 8 }), { lr: 1e-3, warmupLr: 1e-6, minLr: 1e-5 });
  t.deepEqual(resolveLr({ ...c, batch: 64, lr: 0.01 }), { lr: 0.01, warmupLr: 1e-5, minLr: 1e-4 });
  t.is(resolveLr({ ...c, batch: 64, min_lr: 0 }).minLr, 0);
  t.throws(() => trainConfigFrom({ betas: [0.9] }), { message: /^betas: needs two values/ });
  t.throws(() => trainConfigFrom({ epochs: 0 }), { message: /^epochs: must be >= 1/ });
});

test('EMA decay (timm ModelEmaV3.get_decay) and update math', (t) => {
  t.is(emaDecay({ decay: 0.9999 }), 0.9999); // no step: constant (ModelEma/V2)
  t.is(emaDecay({ decay: 0.9999 }, 1), 0); // first update copies
  t.is(emaDecay({ decay: 0.9999 }, 2), 0.9999);
  t.true(Math.abs(emaDecay({ decay: 0.9999, warmup: true }, 2) - (1 - 2 ** (-2 / 3))) < 1e-12); // 0.37004
  t.true(Math.abs(emaDecay({ decay: 0.9999, warmup: true }, 1001) - (1 - 1001 ** (-2 / 3))) < 1e-12);
  t.is(emaDecay({ decay: 0.99, warmup: true }, 1e9), 0.99); // clamped to decay
  t.is(emaDecay({ decay: 0.99, warmup: true, minDecay: 0.5 }, 2), 0.5);
  const model = new Toy([3, 6]);
  const ema = new ModelEma(new Toy([1, 2]), model, { decay: 0.9 });
  close(t, (ema.module as Toy).w.dataSync(), [3, 6]); // starts as a copy of the model
  model.w.assign(tf.tensor2d([[13, 26]]));
  t.is(ema.update(5), 0.9);
  close(t, (ema.module as Toy).w.dataSync(), [0.9 * 3 + 0.1 * 13, 0.9 * 6 + 0.1 * 26]); // 4, 8
  t.false(ema.module.training, 'the EMA model is in eval mode');
  t.throws(() => new ModelEma(new Toy(), new (class extends Module { constructor() { super(); this.param('w', tf.zeros([1, 2])); } })(), { decay: 0.9 }), { message: /ModelEma: the EMA model has 3 tensors, the model 1/ });
  ema.dispose(); model.dispose();
});

test('losses: label smoothing CE and soft-target CE by hand; top-1/top-5 counts', (t) => {
  const logits = tf.tensor2d([[2, 1, 0]]);
  // log-softmax = [-0.40761, -1.40761, -2.40761]; 0.9 * 0.40761 + 0.1 * 1.40761 = 0.50761
  close(t, crossEntropy(logits, tf.tensor1d([0], 'int32'), 0.1).dataSync(), [0.5076059], 1e-5);
  close(t, crossEntropy(logits, tf.tensor1d([2], 'int32')).dataSync(), [2.4076059], 1e-5);
  close(t, softTargetCrossEntropy(logits, tf.tensor2d([[0.5, 0.5, 0]])).dataSync(), [0.9076059], 1e-5);
  const l7 = tf.tensor2d([
    [7, 6, 5, 4, 3, 2, 1], // label 0: rank 0
    [7, 6, 5, 4, 3, 2, 1], // label 4: rank 4 (top-5 hit)
    [7, 6, 5, 4, 3, 2, 1], // label 6: rank 6 (miss)
  ]);
  const [lossSum, top1, top5] = evalCounts(l7, tf.tensor1d([0, 4, 6], 'int32')).dataSync();
  t.is(top1, 1);
  t.is(top5, 2);
  t.true(lossSum > 0);
  // fewer than 5 classes: top-5 is every sample (timm: maxk = min(5, C))
  t.is(evalCounts(logits, tf.tensor1d([2], 'int32')).dataSync()[2], 1);
});

test('clipGradNorm: global L2 norm, scaled only above the limit (torch clip_grad_norm_)', (t) => {
  const g = new Map<string, Tensor>([['a', tf.tensor1d([3])], ['b', tf.tensor1d([4])]]);
  const { grads: c, norm } = clipGradNorm(g, 1);
  close(t, norm.dataSync(), [5]);
  close(t, c.get('a')!.dataSync(), [3 / (5 + 1e-6)]);
  close(t, c.get('b')!.dataSync(), [4 / (5 + 1e-6)]);
  const { grads: same } = clipGradNorm(g, 10);
  close(t, same.get('b')!.dataSync(), [4]);
  const { grads: off } = clipGradNorm(g, 0);
  close(t, off.get('a')!.dataSync(), [3]);
});
