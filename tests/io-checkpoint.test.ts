// readCheckpoint (wrappers, EMA, prefixes, module trees, safetensors) and loadCheckpoint into a small
// core/nn model: values and a forward pass against a hand computation from the file's PyTorch-layout
// weights, strict failures naming the key, keyMap and the model's checkpointFilter hook. cpu only.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setBackend } from '../core/backend.ts';
import { tf } from '../core/tf.ts';
import { BatchNorm2d, Conv2d, Linear, ReLU, Sequential } from '../core/nn/index.ts';
import { loadCheckpoint, readCheckpoint, readCheckpointInfo } from '../core/io/checkpoint.ts';
import { writeSafetensors } from '../core/io/safetensors.ts';
import type { StateDict, TensorRecord } from '../core/io/tensor-record.ts';

const dir = 'tests/fixtures/io/';
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'ssmv-io-'));

test.before(async () => {
  await setBackend('cpu');
});
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** Sequential(Conv2d(3, 4, 3), BatchNorm2d(4), ReLU(), Linear(4, 5)): keys 0.*, 1.*, 3.* */
const makeModel = () => new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4), new ReLU(), new Linear(4, 5));

function values(sd: StateDict): Record<string, number[]> {
  return Object.fromEntries([...sd].map(([k, r]) => [k, [...r.data]]));
}

function recordsOf(want: Record<string, { shape: number[]; values: number[] }>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(want).map(([k, e]) => [k, e.values.map((v) => Math.fround(v))]));
}

test.serial('loadCheckpoint: a torch.save .pth loads into core/nn layers and computes what PyTorch layouts define', async (t) => {
  const model = makeModel().eval();
  const res = loadCheckpoint(model, `${dir}small_model.pth`);
  t.like(res, { format: 'pth', wrapper: 'model', strippedPrefix: '', keys: 9, missing: [], unexpected: [], mismatched: [], filtered: false });
  const want = expected.small_model as Record<string, { shape: number[]; values: number[] }>;
  t.deepEqual(values(await model.stateDict()), recordsOf(want), 'export gives back the file values (OIHW conv round trip)');
  t.is((await model.stateDict()).get('1.num_batches_tracked')!.data[0], 123);

  // forward against a direct computation with the OIHW / (out, in) weights of the file
  const w = (k: string) => want[k].values;
  const H = 5;
  const x = Array.from({ length: H * H * 3 }, (_, i) => Math.sin(i * 0.37));
  const y = model.forward(tf.tensor4d(x, [1, H, H, 3]));
  const got = await y.data(); // GPU->CPU sync (test check)
  y.dispose();
  const ref: number[] = [];
  for (let i = 0; i < H - 2; i++) {
    for (let j = 0; j < H - 2; j++) {
      const h: number[] = [];
      for (let o = 0; o < 4; o++) {
        let s = w('0.bias')[o];
        for (let c = 0; c < 3; c++) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) s += w('0.weight')[((o * 3 + c) * 3 + a) * 3 + b] * x[((i + a) * H + (j + b)) * 3 + c];
        const bn = (s - w('1.running_mean')[o]) / Math.sqrt(w('1.running_var')[o] + 1e-5) * w('1.weight')[o] + w('1.bias')[o];
        h.push(Math.max(0, bn));
      }
      for (let o = 0; o < 5; o++) ref.push(w('3.bias')[o] + h.reduce((acc, v, c) => acc + v * w('3.weight')[o * 4 + c], 0));
    }
  }
  const err = Math.max(...ref.map((r, i) => Math.abs(r - got[i])));
  t.log(`forward max |diff| vs hand computation: ${err.toExponential(2)}`);
  t.true(err < 1e-5);
  model.dispose();
});

test.serial('safetensors export -> import round trip, with a DataParallel prefix', async (t) => {
  const a = makeModel();
  const b = makeModel();
  const sd = await a.stateDict();
  const file = join(tmp, 'roundtrip.safetensors');
  writeSafetensors(file, new Map([...sd].map(([k, v]) => [`module.${k}`, v])));
  const res = loadCheckpoint(b, file);
  t.like(res, { format: 'safetensors', wrapper: '', strippedPrefix: 'module.', keys: 9 });
  t.deepEqual(values(await b.stateDict()), values(sd));
  t.throws(() => readCheckpoint(file, { ema: true }), { message: /roundtrip\.safetensors: a safetensors file holds a single state dict/ });
  a.dispose();
  b.dispose();
});

test.serial('strict loading names the missing, unexpected or misshaped key and the file, and changes nothing', async (t) => {
  const source = await makeModel().stateDict();
  const model = makeModel();
  const before = values(await model.stateDict());
  const write = (name: string, edit: (m: Map<string, TensorRecord>) => void): string => {
    const m = new Map(source);
    edit(m);
    const file = join(tmp, name);
    writeSafetensors(file, m);
    return file;
  };
  const missing = write('missing.safetensors', (m) => m.delete('3.bias'));
  t.throws(() => loadCheckpoint(model, missing), { message: /missing\.safetensors: loadStateDict \(strict\): missing key '3\.bias'/ });
  const unexpected = write('unexpected.safetensors', (m) => m.set('head.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) }));
  t.throws(() => loadCheckpoint(model, unexpected), { message: /unexpected\.safetensors: .*unexpected key 'head\.weight'/ });
  const misshaped = write('misshaped.safetensors', (m) => m.set('3.weight', { dtype: 'float32', shape: [4, 5], data: new Float32Array(20) }));
  t.throws(() => loadCheckpoint(model, misshaped), { message: /misshaped\.safetensors: .*size mismatch for '3\.weight': checkpoint has \[4,5\], the model expects \[5,4\]/ });
  t.deepEqual(values(await model.stateDict()), before, 'a failed strict load leaves the model unchanged');
  // the wrapper is reported with the error for a wrapped .pth
  t.throws(() => loadCheckpoint(model, `${dir}wrap_model.pth`), { message: /wrap_model\.pth: .*missing keys '0\.weight'.*unexpected keys 'fc\.weight', 'fc\.bias' \(state dict under 'model'\)/ });
  // strict: false loads what matches and reports the rest
  const res = loadCheckpoint(model, missing, { strict: false });
  t.deepEqual(res.missing, ['3.bias']);
  t.deepEqual((await model.stateDict()).get('0.weight')!.data, source.get('0.weight')!.data);
  model.dispose();
});

test.serial('keyMap and the model checkpointFilter hook rename keys before loading', async (t) => {
  const source = await makeModel().stateDict();
  const file = join(tmp, 'renamed.safetensors');
  // a checkpoint with an extra wrapper prefix and a legacy name for the head
  writeSafetensors(file, new Map([...source].map(([k, v]) => [`backbone.${k.replace(/^3\./, 'legacy_fc.')}`, v])));
  class Legacy extends Sequential {
    checkpointFilter(dict: StateDict): StateDict {
      return new Map([...dict].map(([k, v]) => [k.replace(/^legacy_fc\./, '3.'), v]));
    }
  }
  const model = new Legacy(new Conv2d(3, 4, 3), new BatchNorm2d(4), new ReLU(), new Linear(4, 5));
  t.throws(() => loadCheckpoint(model, file), { message: /missing keys '0\.weight'/ });
  const res = loadCheckpoint(model, file, { keyMap: (k) => k.replace(/^backbone\./, '') });
  t.true(res.filtered);
  t.deepEqual(values(await model.stateDict()), values(source));
  // a record keyMap maps exact keys and keeps the others; null drops
  const plain = makeModel();
  const file2 = join(tmp, 'exact.safetensors');
  const entries: Array<[string, TensorRecord]> = [...source].map(([k, v]) => [k === '3.bias' ? 'head.bias' : k, v]);
  writeSafetensors(file2, new Map([...entries, ['junk', source.get('3.bias')!]]));
  loadCheckpoint(plain, file2, { keyMap: (k) => (k === 'junk' ? null : k === 'head.bias' ? '3.bias' : k) });
  t.deepEqual(values(await plain.stateDict()), values(source));
  t.throws(() => loadCheckpoint(plain, file2, { keyMap: { 'head.bias': '0.bias' } }), { message: /keyMap maps two checkpoint keys onto '0\.bias'/ });
  model.dispose();
  plain.dispose();
});

test('readCheckpoint unwraps model / state_dict / EMA / module. / nested wrappers and reports which', (t) => {
  const cases: Array<[string, boolean, string, string, string]> = [
    ['wrap_model.pth', false, 'model', '', 'wrap_model.model'],
    ['wrap_model.pth', true, 'model_ema', '', 'wrap_model.model_ema'],
    ['wrap_state_dict.pth', false, 'state_dict', '', 'wrap_state_dict.state_dict'],
    ['wrap_state_dict.pth', true, 'state_dict_ema', '', 'wrap_state_dict.state_dict_ema'],
    ['dataparallel.pth', false, 'state_dict', 'module.', 'dataparallel'],
    ['nested.pth', false, 'model.state_dict', '', 'nested'],
    ['only_ema.pth', true, 'ema', '', 'only_ema'],
  ];
  for (const [file, ema, wrapper, prefix, key] of cases) {
    const info = readCheckpointInfo(`${dir}${file}`, { ema });
    t.is(info.wrapper, wrapper, file);
    t.is(info.strippedPrefix, prefix, file);
    t.deepEqual(values(info.stateDict), recordsOf(expected[key]), `${file} ema=${ema}`);
  }
  t.throws(() => readCheckpoint(`${dir}only_ema.pth`), { message: /only_ema\.pth: the checkpoint holds only EMA weights \(under 'ema'\): pass ema: true/ });
  t.throws(() => readCheckpoint(`${dir}dataparallel.pth`, { ema: true }), { message: /dataparallel\.pth: no EMA weights in this checkpoint .*top-level keys 'state_dict'/ });
  t.throws(() => readCheckpoint(`${dir}not_a_checkpoint.pth`), { message: /not_a_checkpoint\.pth: unrecognised checkpoint format \(first bytes 74 68/ });
  t.throws(() => readCheckpoint(`${dir}legacy.pth`), { message: /legacy\.pth: a PyTorch checkpoint in the legacy format/ });
});

test('full-model pickles (ultralytics style): allowClasses + module-tree walk gives the state dict', (t) => {
  t.throws(() => readCheckpoint(`${dir}module_tree.pth`, { ema: true }), { message: /disallowed global 'ultralytics\.nn\.tasks\.DetectionModel'/ });
  const info = readCheckpointInfo(`${dir}module_tree.pth`, {
    ema: true,
    allowClasses: { 'ultralytics.nn.tasks': ['DetectionModel'], 'torch.nn.modules.container': '*', 'torch.nn.modules.conv': ['Conv2d'], 'torch.nn.modules.batchnorm': ['BatchNorm2d'] },
  });
  t.is(info.wrapper, 'ema');
  t.deepEqual([...info.stateDict.keys()], expected.module_tree.keys, 'params then persistent buffers, children in order; None bias and the non-persistent buffer left out');
  const w = info.stateDict.get('model.0.weight')!;
  t.is(w.dtype, 'float16');
  t.deepEqual([...w.data], expected.module_tree['ema.model.0.weight']);
  t.is(info.stateDict.get('model.1.num_batches_tracked')!.data[0], 5);
  // package wildcards: 'torch.nn.modules.*' covers torch.nn.modules.conv, .batchnorm, .container
  const wild = readCheckpoint(`${dir}module_tree.pth`, { ema: true, allowClasses: { 'ultralytics.*': '*', 'torch.nn.modules.*': '*' } });
  t.deepEqual([...wild.keys()], expected.module_tree.keys);
  t.throws(() => readCheckpoint(`${dir}module_tree.pth`, { ema: true, allowClasses: { 'ultralytics.*': '*', 'torch.nn.modules.conv': '*' } }),
    { message: /disallowed global 'torch\.nn\.modules\.container\.Sequential'/ });
});
