// .pth reader: strided/shared/offset views and every storage dtype against values computed in Python
// (expected.json), byte order, DEFLATE/ZIP64 archives, lazy decoding, the golden checkpoints, bad files.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { loadTorchFile, readPth, readPthInfo, torchLoad } from '../core/io/pth.ts';
import { numel, type TensorRecord } from '../core/io/tensor-record.ts';

const dir = 'tests/fixtures/io/';
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8'));
const manifest = JSON.parse(readFileSync(`${dir}golden_manifest.json`, 'utf8'));
const goldenIndex = JSON.parse(readFileSync('tests/fixtures/golden/index.json', 'utf8'));
const familiesIndex = JSON.parse(readFileSync('tests/fixtures/golden/families/index.json', 'utf8'));

type Expect = { dtype: string; shape: number[]; values: Array<number | string> };
const num = (v: number | string): number => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v === '-0' ? -0 : (v as number));

function checkRecords(t: import('ava').ExecutionContext, dict: Map<string, TensorRecord>, want: Record<string, Expect>, label: string): void {
  t.deepEqual([...dict.keys()], Object.keys(want), `${label}: keys in file order`);
  for (const [key, e] of Object.entries(want)) {
    const rec = dict.get(key)!;
    t.is(rec.dtype as string, e.dtype, `${label} ${key} dtype`);
    t.deepEqual(rec.shape, e.shape, `${label} ${key} shape`);
    t.is(rec.data instanceof Float32Array, ['float32', 'float64', 'float16', 'bfloat16'].includes(e.dtype), `${label} ${key} widened array type`);
    const vals = e.values.map(num).map((v) => (e.dtype === 'float64' ? Math.fround(v) : v));
    t.true(vals.length === rec.data.length && vals.every((v, i) => Object.is(v, rec.data[i])), `${label} ${key}: [${[...rec.data]}] vs [${vals}]`);
  }
}

test('views.pth: non-contiguous strides, offsets, shared storage, every dtype, as Python computes them', (t) => {
  const sd = readPth(`${dir}views.pth`);
  checkRecords(t, sd, expected.views, 'views');
  t.is(sd.get('bn.num_batches_tracked')!.data[0], 7);
  t.deepEqual([...sd.get('i64')!.data], [0, -5, 2 ** 31 - 1, -(2 ** 31)]);
});

test('the same tensors from a big-endian archive, a DEFLATE archive, a ZIP64 archive and from bytes in memory', (t) => {
  checkRecords(t, readPth(`${dir}views_big_endian.pth`), expected.views, 'big-endian');
  checkRecords(t, readPth(`${dir}views_deflate.pth`), expected.views, 'deflate');
  checkRecords(t, readPth(`${dir}views_zip64.pth`), expected.views, 'zip64 (unaligned payloads)');
  checkRecords(t, readPth(readFileSync(`${dir}views_zip64.pth`), { name: 'zip64-in-memory' }), expected.views, 'zip64 from bytes');
});

test('torchLoad returns the whole object; only the chosen state dict is decoded by readPth', (t) => {
  const all = torchLoad(`${dir}wrap_model.pth`) as Map<string, unknown>;
  t.deepEqual([...all.keys()], ['model', 'model_ema', 'optimizer', 'lr_scheduler', 'max_accuracy', 'epoch', 'config']);
  t.is(all.get('epoch'), 3);
  const opt = all.get('optimizer') as Map<string, Map<number, Map<string, TensorRecord>>>;
  t.deepEqual([...opt.get('state')!.get(0)!.get('exp_avg')!.data], [0.5, 0.5, 0.5, 0.5]);

  const f = loadTorchFile(`${dir}wrap_model.pth`);
  const root = f.root as Map<string, Map<string, TensorRecord>>;
  const model = root.get('model')!;
  t.is(f.tensors().length, 5, '2 model + 2 ema + 1 optimizer tensors');
  t.true(f.tensors().every((r) => r.data.length === 0), 'nothing decoded before materialize');
  f.materialize(model.values());
  f.close();
  t.deepEqual([...model.get('fc.weight')!.data], [10, 11, 12, 13]);
  t.is(root.get('model_ema')!.get('fc.weight')!.data.length, 0, 'EMA weights were not decoded');
});

test('timm-style extras: argparse.Namespace record and a numpy float64 metric', (t) => {
  const all = torchLoad(`${dir}wrap_state_dict.pth`) as Map<string, unknown>;
  t.is(all.get('metric'), 82.6125);
  const args = all.get('args') as { pyClass: string; get(k: string): unknown };
  t.is(args.pyClass, 'argparse.Namespace');
  t.is(args.get('model'), 'vmamba_tiny_s2l5');
  t.deepEqual([...(args.get('input_size') as number[])], [3, 224, 224]);
  t.is(args.get('drop_path'), null);
});

const goldenFiles = ['vmamba_s2l5_cf.pth', ...familiesIndex.index.map((e: { file: string }) => `families/${e.file}`)];

test('golden checkpoints: keys, shapes, dtypes and values equal an independent Python reading', (t) => {
  for (const rel of goldenFiles) {
    const info = readPthInfo(`tests/fixtures/golden/${rel}`);
    t.is(info.wrapper, 'model', rel);
    const want = manifest[rel].entries as Array<{ key: string; dtype: string; shape: number[]; sum: number; abssum: number; first: number }>;
    t.deepEqual([...info.stateDict.keys()], want.map((e) => e.key), `${rel}: keys`);
    for (const e of want) {
      const rec = info.stateDict.get(e.key)!;
      t.is(rec.dtype as string, e.dtype, `${rel} ${e.key}`);
      t.deepEqual(rec.shape, e.shape, `${rel} ${e.key}`);
      let sum = 0;
      let abs = 0;
      for (const v of rec.data) { sum += v; abs += Math.abs(v); }
      t.true(Math.abs(abs - e.abssum) <= 1e-9 * Math.max(1, e.abssum) && Math.abs(sum - e.sum) <= 1e-9 * Math.max(1, e.abssum), `${rel} ${e.key}: sums ${sum}/${abs} vs ${e.sum}/${e.abssum}`);
      t.is(rec.data[0], e.first, `${rel} ${e.key} first value`);
    }
  }
});

test('golden checkpoints: first keys and parameter counts equal the golden index files', (t) => {
  const cases = [
    { rel: 'vmamba_s2l5_cf.pth', keys: goldenIndex.index.find((e: { file?: string }) => e.file === 'vmamba_s2l5_cf.pth').keys, params: 458138, entries: undefined },
    ...familiesIndex.index.map((e: { file: string; keys_first40: string[]; params: number; state_dict_entries: number }) =>
      ({ rel: `families/${e.file}`, keys: e.keys_first40, params: e.params, entries: e.state_dict_entries })),
  ];
  for (const c of cases) {
    const sd = readPth(`tests/fixtures/golden/${c.rel}`);
    t.deepEqual([...sd.keys()].slice(0, 40), c.keys, c.rel);
    if (c.entries !== undefined) t.is(sd.size, c.entries, `${c.rel}: state-dict entries`);
    // `params` counts parameters only (sum(p.numel() for p in model.parameters())): BatchNorm running
    // statistics and the int64 num_batches_tracked are buffers
    let params = 0;
    for (const [k, r] of sd) if (r.dtype !== 'int64' && !/\.running_(mean|var)$/.test(k)) params += numel(r.shape);
    t.is(params, c.params, `${c.rel}: parameter count`);
    for (const [k, r] of sd) {
      if (k.endsWith('num_batches_tracked')) {
        t.is(r.dtype, 'int64');
        t.true(r.data instanceof Int32Array && r.data.length === 1 && r.data[0] === 0, `${c.rel} ${k} decoded`);
      }
    }
  }
});

test('bad files: each a clear error naming the file and the problem', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['truncated.pth', /truncated\.pth: truncated zip archive/],
    ['not_a_checkpoint.pth', /not_a_checkpoint\.pth: not a PyTorch checkpoint: wrong magic \(first bytes 74 68 69 73/],
    ['legacy.pth', /legacy\.pth: a PyTorch checkpoint in the legacy format .* torch\.save\(torch\.load\(f\), g\)/],
    ['legacy_tar.pth', /legacy_tar\.pth: a PyTorch checkpoint in the legacy tar format/],
    ['torchscript.pt', /torchscript\.pt: a TorchScript archive/],
    ['missing_storage.pth', /missing_storage\.pth \(archive\/data\.pkl\): storage '1' \(FloatStorage, on cpu\) is missing from the archive: no record 'archive\/data\/1'/],
    ['out_of_bounds.pth', /out_of_bounds\.pth \(archive\/data\.pkl\): tensor of size \[2,3\], stride \[3,1\], offset 0 reads element 5 of storage '0' \(FloatStorage\), which has 4 float32 elements/],
    ['evil_os_system.pth', /evil_os_system\.pth \(archive\/data\.pkl\): disallowed global 'os\.system'/],
    ['evil_builtins_eval.pth', /evil_builtins_eval\.pth \(archive\/data\.pkl\): disallowed global 'builtins\.eval'/],
    ['module_tree.pth', /module_tree\.pth \(archive\/data\.pkl\): disallowed global 'ultralytics\.nn\.tasks\.DetectionModel'/],
  ];
  for (const [file, re] of cases) {
    const err = t.throws(() => readPth(`${dir}${file}`), { message: re }, file);
    t.false(/\n\s+at /.test(err?.message ?? ''), `${file}: no stack in the message`);
  }
  t.false(existsSync(expected.evil_marker), 'the os.system payload never ran');
  t.throws(() => readPth(`${dir}nope.pth`), { message: /nope\.pth: cannot open \(ENOENT\)/ });
});

test('randomly corrupted archives fail with an Error naming the file, never a crash or a raw exception', (t) => {
  const base = readFileSync(`${dir}views.pth`);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let failures = 0;
  for (let i = 0; i < 600; i++) {
    const b = Uint8Array.from(base);
    // mostly the pickle (bytes 64..1780), sometimes anywhere (headers, central directory)
    const [lo, hi] = rnd() < 0.7 ? [64, 1780] : [0, b.length];
    for (let j = 1 + Math.floor(rnd() * 4); j > 0; j--) b[lo + Math.floor(rnd() * (hi - lo))] = Math.floor(rnd() * 256);
    try {
      readPth(b, { name: 'fuzzed.pth' });
    } catch (e) {
      failures++;
      if (!(e instanceof Error) || !e.message.startsWith('fuzzed.pth')) {
        t.fail(`mutation ${i}: ${String(e)}`);
        return;
      }
    }
  }
  t.log(`${failures}/600 corrupted archives rejected with named errors, the rest decoded`);
  t.true(failures > 300);
});
