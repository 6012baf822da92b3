// The README's code samples import from the package root ('ssm-vision' = index.ts): the names they use
// must be exported there, and the model sample must run (createModel -> stateDict -> loadCheckpoint
// round trip -> forward / forwardIntermediates).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as api from '../index.ts';

test('the names the README samples use are exported from the package root', (t) => {
  for (const name of ['setBackend', 'createModel', 'families', 'backbones', 'scans', 'heads', 'datasets', 'loadCheckpoint',
    'readCheckpoint', 'writeSafetensors', 'selectiveScan', 'tf', 'nn', 'openDataset', 'DataLoader', 'Trainer', 'AdamW', 'yolo']) {
    t.truthy((api as Record<string, unknown>)[name], `'${name}' is not exported from index.ts`);
  }
});

test('README model sample: createModel by name and by config, weights round trip, forward and intermediates', async (t) => {
  await api.setBackend('cpu');
  const model = api.createModel('test_vmamba');
  const x = api.tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 7);
  const dir = mkdtempSync(join(tmpdir(), 'ssmv-api-'));
  try {
    const file = join(dir, 'w.safetensors');
    await api.writeSafetensors(file, await model.stateDict());
    const again = api.createModel('test_vmamba');
    api.loadCheckpoint(again, file);
    model.eval();
    again.eval();
    const a = (await (model.forward(x) as api.tf.Tensor).data()) as Float32Array; // GPU->CPU sync (cpu here)
    const b = (await (again.forward(x) as api.tf.Tensor).data()) as Float32Array;
    t.deepEqual(Array.from(b), Array.from(a), 'same weights, same logits');
    const feats = model.forwardIntermediates(x);
    t.is(feats.length, model.featureInfo.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // the official constructor's keyword names (a small VSSM with 5 classes)
  const byConfig = api.createModel({ family: 'vmamba', depths: [1, 1, 1, 1], dims: 16, num_classes: 5 });
  byConfig.eval();
  t.deepEqual((byConfig.forward(x) as api.tf.Tensor).shape, [1, 5]);
  t.throws(() => api.createModel('vmamba_tiny_s2l6'), { message: /vmamba_tiny_s2l5/ }, 'unknown names suggest close matches');
});
