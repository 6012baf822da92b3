// The test_<family> variant's contract (forward shapes, featureInfo against the real outputs,
// gradients reach every parameter, export -> re-import, unknown names), as family-suite.ts's
// testVariantSuite, with two knobs the LocalVMamba / GroupMamba / PlainMamba variants need:
// the gradient check's input size (a 32x32 input leaves hierarchical models a 1x1 last stage, where
// A_logs cannot matter: A only scales the carried state, which is zero at the first step), and
// parameters whose true gradient is exactly zero by construction (named with the reason).
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setBackend } from './backends.ts';
import { namedGrads, deadParams } from './family-suite.ts';
import { tf } from '../../core/tf.ts';
import { createModel } from '../../backbones/index.ts';
import { loadCheckpoint } from '../../core/io/checkpoint.ts';
import { writeSafetensors } from '../../core/io/safetensors.ts';
import { manualSeed } from '../../core/rng.ts';
import type { Module } from '../../core/nn/index.ts';

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
