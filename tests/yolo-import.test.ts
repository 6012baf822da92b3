// Importing an official-format Mamba-YOLO checkpoint: an ultralytics pickle of whole modules
// (fixture built by tests/fixtures/yolo/make_checkpoint.py: DetectionModel in fp16, SS2D.forward_core
// as functools.partial of a bound method, timm DropPath, the shared SiLU), read with the allow-listed
// unpickler into a state dict that loads strictly into test_mamba_yolo; model config (scale, width,
// nc, names) recovered from the pickled DetectionModel. Also: our own checkpoints and safetensors,
// and the errors for a foreign global and a mismatched model.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { createModel } from '../backbones/index.ts';
import { withoutInit } from '../core/nn/init.ts';
import { readYoloWeights, readTorchYoloWeights } from '../backbones/mamba-yolo-import.ts';
import { encodeSafetensors } from '../core/io/safetensors.ts';
import { saveCheckpoint } from '../train/checkpoint.ts';
import type { MambaYOLO } from '../backbones/mamba-yolo.ts';

const FIX = join(import.meta.dirname, 'fixtures', 'yolo');
const PT = join(FIX, 'ultralytics_test_mamba_yolo.pt');
// make_checkpoint.py writes -0 as the string '-0' (JSON has no negative zero)
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8'), (_k, v) => (v === '-0' ? -0 : v)) as {
  keys: string[]; names: string[]; nc: number; tensors: Record<string, { shape: number[]; values: number[] }>;
};

test.before(async () => {
  await setBackend('cpu');
});

test('ultralytics whole-module pickle -> state dict, config and a strict load', async (t) => {
  const w = readYoloWeights(PT);
  t.regex(w.source, /ultralytics pickle \('model': ultralytics\.nn\.tasks\.DetectionModel\)/);
  t.deepEqual([...w.stateDict.keys()], expected.keys);
  t.deepEqual(w.config, { scale: 'T', depth: 0.33, width: 0.0625, max_channels: 1024, nc: 4, names: expected.names });
  for (const [k, e] of Object.entries(expected.tensors)) {
    const r = w.stateDict.get(k)!;
    t.deepEqual(r.shape, e.shape, k);
    t.deepEqual(Array.from(r.data.subarray(0, e.values.length)), e.values, `${k}: fp16 values widened exactly`);
  }
  const model = withoutInit(() => createModel('mamba_yolo_t', w.config)) as unknown as MambaYOLO;
  const ref = withoutInit(() => createModel('test_mamba_yolo'));
  t.is(model.numParams(), ref.numParams(), 'the recovered config builds test_mamba_yolo');
  t.deepEqual(model.loadStateDict(w.stateDict), { missing: [], unexpected: [], mismatched: [] });
  t.deepEqual(model.names, expected.names);
  model.eval();
  const y = model.forward(tf.zeros([1, 64, 64, 3]));
  t.deepEqual(y.shape, [1, 84, 8]);
  t.true(Array.from(await y.data()).every(Number.isFinite));
  tf.dispose(y);
  model.dispose();
  ref.dispose();
});

test('ultralytics checkpoint during training: model None, the weights under ema', (t) => {
  // attempt_load_weights: ckpt.get('ema') or ckpt['model']
  const last = readYoloWeights(join(FIX, 'ultralytics_last_test_mamba_yolo.pt'));
  t.regex(last.source, /'ema'/);
  t.deepEqual([...last.stateDict.keys()], expected.keys);
  const stripped = readTorchYoloWeights(PT, true);
  t.regex(stripped.source, /'model'/, "ema is None in a stripped checkpoint: 'model' is used");
  const k = 'model.5.2.op.A_logs';
  t.deepEqual(Array.from(last.stateDict.get(k)!.data), Array.from(stripped.stateDict.get(k)!.data));
});

test('a foreign global in the pickle is refused, naming it', (t) => {
  // the same archive with one class renamed to a module outside the allow-list
  const bytes = readFileSync(PT);
  const i = bytes.indexOf(Buffer.from('timm.layers.drop'));
  t.true(i > 0);
  const bad = Buffer.from(bytes);
  Buffer.from('evil.layers.drop').copy(bad, i);
  const dir = mkdtempSync(join(tmpdir(), 'ssmv-yolo-import-'));
  writeFileSync(join(dir, 'bad.pt'), bad);
  t.throws(() => readYoloWeights(join(dir, 'bad.pt')), { message: /disallowed global 'evil\.layers\.drop\.DropPath'/ });
});

test('ssmv checkpoints (EMA weights preferred) and safetensors; mismatched models fail strictly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ssmv-yolo-ckpt-'));
  const model = createModel('test_mamba_yolo', { names: ['a', 'b', 'c', 'd'] }) as unknown as MambaYOLO;
  const ema = createModel('test_mamba_yolo') as unknown as MambaYOLO;
  const state = { epoch: 1, batch: 0, step: 3, epochLossSum: 0, epochLossCount: 0, bestMetric: 0, bestEpoch: 1, history: [], elapsed: 0 };
  await saveCheckpoint(join(dir, 'weights', 'last'), { model, ema: { module: ema, decay: 0.9999 }, meta: { model: 'test_mamba_yolo', reason: 'epoch', state, rng: [1, 2, 3, 4], config: { nc: 4, names: ['a', 'b', 'c', 'd'] } } });
  const w = readYoloWeights(join(dir, 'weights', 'last'));
  t.is(w.model, 'test_mamba_yolo');
  t.regex(w.source, /EMA weights/);
  t.deepEqual(w.config, { nc: 4, names: ['a', 'b', 'c', 'd'] });
  const emaSd = await ema.stateDict();
  const k = 'model.3.op.x_proj_weight';
  t.deepEqual(Array.from(w.stateDict.get(k)!.data), Array.from(emaSd.get(k)!.data));
  const plain = readYoloWeights(join(dir, 'weights', 'last.safetensors'), { ema: false });
  t.regex(plain.source, /\(weights\)/);
  // a bare safetensors file: nc from the class-branch bias
  writeFileSync(join(dir, 'bare.safetensors'), encodeSafetensors(emaSd, {}));
  const bare = readYoloWeights(join(dir, 'bare.safetensors'));
  t.is(bare.config.nc, 4);
  const wrong = withoutInit(() => createModel('mamba_yolo_t', { nc: 4 }));
  t.throws(() => wrong.loadStateDict(bare.stateDict), { message: /size mismatch/ });
  t.throws(() => readYoloWeights(join(dir, 'nope.pt')), { message: /does not exist/ });
  model.dispose();
  ema.dispose();
  wrong.dispose();
});
