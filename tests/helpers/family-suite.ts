// The checks every backbone family gets, generated from the registry (one call per family test
// file): golden logits/stage features of the official code on every backend, parameter counts of
// every variant, and for the family's `test_` variant forward shapes, featureInfo against the real
// outputs, gradients reaching every parameter, export/re-import, unknown names.
import test, { type ExecutionContext } from 'ava';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testOnBackends, relErr, setBackend, TEST_BACKENDS } from './backends.ts';
import { tf, type Tensor } from '../../core/tf.ts';
import { createModel, backbones } from '../../backbones/index.ts';
import type { Backbone } from '../../backbones/backbone.ts';
import type { Module, Layer } from '../../core/nn/index.ts';
import { loadCheckpoint } from '../../core/io/checkpoint.ts';
import { readSafetensors, writeSafetensors } from '../../core/io/safetensors.ts';
import { manualSeed } from '../../core/rng.ts';
import { withoutInit } from '../../core/nn/init.ts';
import { countFlops } from '../../eval/flops.ts';

const GOLDEN_DIR = 'tests/fixtures/golden/families';

interface GoldenEntry {
  family: string;
  file: string;
  io: string;
  constructor: Record<string, unknown>;
  params: number;
  stage_shapes: number[][];
}

/** The official constructor arguments etc. of a family's golden checkpoint (index.json). */
export function goldenEntry(family: string): GoldenEntry {
  const index = JSON.parse(readFileSync(`${GOLDEN_DIR}/index.json`, 'utf8')) as { index: GoldenEntry[] };
  const e = index.index.find((x) => x.family === family);
  if (!e) throw new Error(`no golden entry for family '${family}' in ${GOLDEN_DIR}/index.json`);
  return e;
}

const nchwToNhwc = (r: { data: Float32Array | Int32Array; shape: number[] }) => tf.tensor(r.data, r.shape).transpose([0, 2, 3, 1]);

/**
 * loadCheckpoint(strict) of `<family>_test.pth` into createModel({ family, ...index.json constructor })
 * gives the official logits and stage features within 1e-4 (max|diff|/max|ref|) on every backend.
 */
export function goldenTest(family: string): void {
  const g = goldenEntry(family);
  testOnBackends(`${family}: golden checkpoint (official kwargs pasted in) gives the official logits and stage features`, async (t) => {
    const io = readSafetensors(`${GOLDEN_DIR}/${g.io}`).tensors;
    const model = createModel({ family, ...g.constructor });
    t.is(model.numParams(), g.params, 'parameter count of the golden config');
    const res = loadCheckpoint(model, `${GOLDEN_DIR}/${g.file}`, { strict: true });
    t.is(res.wrapper, 'model');
    model.eval();
    const x = nchwToNhwc(io.get('input')!);
    const logits = await model.forward(x).data(); // GPU->CPU sync (comparison)
    const e = relErr(logits, io.get('logits')!.data);
    t.log(`logits max|diff|/max|ref| = ${e.toExponential(2)}`);
    t.true(e <= 1e-4, `logits ${e}`);
    const feats = model.forwardIntermediates(x);
    t.deepEqual(feats.map((f) => [f.shape[0], f.shape[3], f.shape[1], f.shape[2]]), g.stage_shapes);
    for (let i = 0; i < feats.length; i++) {
      const es = relErr(await feats[i].transpose([0, 3, 1, 2]).data(), io.get(`stage${i}`)!.data); // GPU->CPU sync
      t.log(`stage${i} ${es.toExponential(2)}`);
      t.true(es <= 1e-4, `stage${i} ${es}`);
    }
    tf.dispose([x, ...feats]);
    model.dispose();
  });
}

/** Every registered variant of the family against its official (or released) parameter count. */
export function paramCountTest(family: string): void {
  test.serial(`${family}: parameter counts of every variant equal the table`, async (t) => {
    await setBackend('cpu');
    const names = backbones.names().filter((n) => backbones.get(n).family === family);
    t.true(names.length >= 2, 'released variants and a test_ variant are registered');
    for (const name of names) {
      const entry = backbones.get(name);
      const model = withoutInit(() => createModel(name));
      const n = model.numParams();
      model.dispose();
      t.true(entry.officialParams !== undefined || entry.approxParams !== undefined, `${name} has a count in the table`);
      if (entry.officialParams !== undefined) t.is(n, entry.officialParams, name);
      else t.true(Math.abs(n - entry.approxParams!.count) <= entry.approxParams!.tolerance, `${name}: ${n} vs ~${entry.approxParams!.count} (${entry.approxParams!.source})`);
      t.log(`${name}: ${n.toLocaleString('en')}`);
    }
  });
}

/** A weighted sum of the outputs, so no gradient vanishes by symmetry. */
function weightedLoss(y: Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', seed))) as tf.Scalar;
}

/** Gradients of every parameter of `m` (by state-dict name) for a weighted sum of f(). */
export function namedGrads(m: Module, f: () => Tensor, seed = 3): Map<string, Tensor> {
  const params = m.namedParameters();
  const { value, grads } = tf.variableGrads(() => weightedLoss(f(), seed), params.map((p) => p.variable));
  value.dispose();
  return new Map(params.map((p) => [p.name, grads[p.variable.name]]));
}

/** Names of parameters whose gradient is missing or zero everywhere. */
export async function deadParams(grads: Map<string, Tensor>): Promise<string[]> {
  const dead: string[] = [];
  for (const [name, g] of grads) {
    if (!g || (await tf.max(tf.abs(g)).data())[0] === 0) dead.push(name); // GPU->CPU sync (check)
  }
  return dead;
}

/**
 * The `test_<family>` variant's contract: forward shapes, featureInfo against the real outputs
 * (channels, stride, module path), gradients reach every parameter, export -> re-import gives
 * identical outputs, unknown variant names and arguments fail with close matches. On cpu. Knobs:
 * the gradient check's input size (a 32x32 input leaves hierarchical models a 1x1 last stage, where
 * A_logs cannot matter: A only scales the carried state, which is zero at the first step), and
 * parameters whose true gradient is exactly zero by construction (named with the reason). The
 * gradient check runs in eval mode: with batch statistics, a bias right before a BatchNorm
 * (EfficientVMamba's conv_branch.0) has an exactly zero true gradient.
 */
export interface ContractOptions {
  /** a misspelt variant name and the name the error must suggest */
  typo: { variant: string; expect: string };
  /** a misspelt constructor argument and the argument the error must suggest */
  badKwarg: { key: string; expect: string };
  /** (H, W) of the gradient check's input (batch 1; default 64 x 64) */
  gradInput?: [number, number];
  /** parameters whose gradient is exactly zero by construction, and why (they must be zero) */
  zeroGrad?: { pattern: RegExp; reason: string };
  /** adjusts the model before the gradient check (e.g. to switch on ReLU units a random init leaves off) */
  prepareGrad?: (m: Module) => void;
  /** (H, W) of the shape check's input (default 64 x 96, not square) */
  shapeInput?: [number, number];
}

export function variantContract(family: string, o: ContractOptions): void {
  const name = `test_${family}`;

  test.serial(`${name}: forward shapes and featureInfo consistent with forwardIntermediates`, async (t) => {
    await setBackend('cpu');
    manualSeed(1);
    const model = createModel(name).eval();
    const [H, W] = o.shapeInput ?? [64, 96];
    const B = 2;
    const x = tf.randomNormal([B, H, W, 3], 0, 1, 'float32', 2);
    t.deepEqual(model.forward(x).shape, [B, model.numClasses]);
    const feats = model.forwardIntermediates(x);
    t.is(feats.length, model.featureInfo.length);
    const modules = new Set(model.namedModules().map(([p]) => p));
    model.featureInfo.forEach((fi, i) => {
      t.deepEqual(feats[i].shape, [B, H / fi.reduction, W / fi.reduction, fi.channels], `feature ${i}`);
      t.true(modules.has(fi.module), `featureInfo[${i}].module '${fi.module}' is a module path`);
    });
    const n = model.featureInfo.length;
    if (n >= 2) {
      const some = model.forwardIntermediates(x, { indices: [n - 1, 0] });
      t.deepEqual(some.map((f) => f.shape), [feats[n - 1].shape, feats[0].shape], 'outputs in the order asked');
      tf.dispose(some);
    }
    t.throws(() => model.forwardIntermediates(x, { indices: [n] }), { message: new RegExp(`feature index ${n} out of range`) });
    t.throws(() => model.forward(tf.zeros([1, 3, 32, 32])), { message: /NHWC \(B, H, W, 3\)/ });
    tf.dispose([x, ...feats]);
    model.dispose();
  });

  test.serial(`${name}: gradients reach every parameter`, async (t) => {
    await setBackend('cpu');
    manualSeed(2);
    const model = createModel(name).eval();
    o.prepareGrad?.(model);
    const [H, W] = o.gradInput ?? [64, 64];
    const x = tf.randomNormal([1, H, W, 3], 0, 1, 'float32', 4);
    const grads = namedGrads(model, () => model.forward(x));
    t.is(grads.size, model.namedParameters().length);
    const dead = await deadParams(grads);
    const expected = o.zeroGrad ? [...grads.keys()].filter((k) => o.zeroGrad!.pattern.test(k)) : [];
    t.deepEqual(dead, expected, o.zeroGrad ? `only ${o.zeroGrad.pattern} may be (and are) zero: ${o.zeroGrad.reason}` : undefined);
    t.log(`${grads.size} parameter tensors, ${grads.size - dead.length} with non-zero gradients` + (expected.length ? `, ${expected.length} zero by construction (${o.zeroGrad!.reason})` : ''));
    tf.dispose([x, ...grads.values()]);
    model.dispose();
  });

  test.serial(`${name}: export (stateDict -> safetensors) and re-import give identical outputs`, async (t) => {
    await setBackend('cpu');
    manualSeed(11);
    const a = createModel(name).eval();
    const file = join(mkdtempSync(join(tmpdir(), `ssmv-${family}-`)), 'm.safetensors');
    writeSafetensors(file, await a.stateDict());
    manualSeed(99); // a different init, overwritten by the import
    const b = createModel(name).eval();
    const x = tf.randomNormal([1, 48, 64, 3], 0, 1, 'float32', 5);
    const before = await b.forward(x).data();
    loadCheckpoint(b, file, { strict: true });
    const ya = await a.forward(x).data();
    const yb = await b.forward(x).data();
    t.notDeepEqual(Array.from(before), Array.from(ya), 'the second model started from different weights');
    t.deepEqual(Array.from(yb), Array.from(ya));
    x.dispose();
    a.dispose();
    b.dispose();
  });

  test.serial(`${family}: unknown variant names and constructor arguments fail with close matches`, async (t) => {
    await setBackend('cpu');
    t.throws(() => createModel(o.typo.variant), { message: new RegExp(`unknown backbone '${o.typo.variant}' \\(did you mean [^)]*\\b${o.typo.expect}\\b`) });
    t.throws(() => createModel({ family, [o.badKwarg.key]: 1 }), { message: new RegExp(`unknown constructor argument '${o.badKwarg.key}' \\(did you mean [^)]*\\b${o.badKwarg.expect}\\b`) });
  });
}

/**
 * A small model of the family's blocks on every backend: gradients reach every parameter and the
 * input, and the webgpu values agree with the cpu ones (the cpu run, which goes first, records
 * them). Eval mode, for the reason given in testVariantSuite.
 */
export function blockGradTest(title: string, build: () => Module & Layer, inputShape: number[]): void {
  const ref = new Map<string, Float32Array>();
  testOnBackends(title, async (t, backend) => {
    manualSeed(5);
    const block = build().eval();
    const x = tf.randomNormal(inputShape, 0, 1, 'float32', 6);
    const grads = namedGrads(block, () => block.forward(x));
    const gx = tf.grad((xx: Tensor) => weightedLoss(block.forward(xx), 3))(x);
    grads.set('<input>', gx);
    t.deepEqual(await deadParams(grads), []);
    let worst = 0;
    for (const [name, g] of grads) {
      const v = (await g.data()) as Float32Array; // GPU->CPU sync (comparison)
      if (backend === 'cpu') ref.set(name, Float32Array.from(v));
      else if (ref.has(name)) worst = Math.max(worst, relErr(v, ref.get(name)!));
    }
    if (backend !== 'cpu' && ref.size) {
      t.log(`${backend} vs cpu gradients: worst max|diff|/max|ref| = ${worst.toExponential(2)} over ${grads.size} tensors`);
      t.true(worst <= 1e-4, `gradients differ from cpu by ${worst}`);
    } else if (backend !== 'cpu') t.log(`cpu not in SSMV_TEST_BACKENDS (${TEST_BACKENDS}): gradients checked non-zero only`);
    tf.dispose([x, ...grads.values()]);
    block.dispose();
  });
}

/**
 * Every released variant's FLOPs at 224x224 (eval/flops.ts, fvcore convention) within 5% of the
 * published figure. A 224 forward of every variant on tfjs-cpu takes minutes, so each variant is
 * counted on a 32x32 and a 32x64 image and extrapolated with F = A + B*H*W: exact when every FLOP is either
 * per image (heads, squeeze-excite) or per pixel of maps that halve evenly at every stage, which
 * `exactness` states for the family.
 */
export function flopsTest(family: string, exactness: string): void {
  test.serial(`${family}: FLOPs at 224 (extrapolated from 32x32 and 32x64) within 5% of the published figures`, async (t) => {
    await setBackend('cpu');
    t.log(`extrapolation: ${exactness}`);
    const names = backbones.names().filter((n) => backbones.get(n).family === family && !n.startsWith('test_'));
    for (const name of names) {
      const published = backbones.get(name).publishedFlops;
      if (published === undefined) { t.fail(`${name} has no published FLOPs`); continue; }
      const model = withoutInit(() => createModel(name)).eval();
      const at = async (h: number, w: number) => {
        const x = tf.zeros([1, h, w, 3]);
        const f = await countFlops(() => model.forward(x));
        x.dispose();
        return f.total;
      };
      // F = A + B*H*W from a 32x32 and a 32x64 image (every side still halves evenly: 8/4/2/1 and 16/8/4/2)
      const [f1, f2] = [await at(32, 32), await at(32, 64)];
      const B = (f2 - f1) / (32 * 64 - 32 * 32);
      const flops = f1 + B * (224 * 224 - 32 * 32);
      model.dispose();
      const ratio = flops / published;
      t.log(`${name}: ${(flops / 1e9).toFixed(4)} G vs published ${published / 1e9} G (${((ratio - 1) * 100).toFixed(1)}%)`);
      t.true(Math.abs(ratio - 1) <= 0.05, `${name}: ${flops} vs ${published}`);
    }
  });
}

export type { ExecutionContext, Backbone };
