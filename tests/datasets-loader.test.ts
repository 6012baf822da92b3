// The loader: seeded order, sharding, drop_last, prefetch, worker threads producing the very same
// batches as the in-process path, bad samples skipped / counted / fatal; synthetic data written and
// read back through the real loaders; toTensors.
import test from 'ava';
import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epochIndices, toBatches } from '../datasets/sampler.ts';
import { DataLoader, type EpochReport } from '../datasets/loader.ts';
import { openDataset } from '../datasets/index.ts';
import { writeSynthetic, type SynthResult } from '../datasets/synth/write.ts';
import { classifyEval, classifyTrain, detectTrain } from '../datasets/pipeline/spec.ts';
import { decodeIndexPng } from '../datasets/io/png.ts';
import { DataError, SampleError } from '../datasets/common.ts';
import type { Batch, Dataset } from '../datasets/types.ts';

let root = '';
const synth: Record<string, SynthResult> = {};
const synthSeconds: Record<string, number> = {};

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ssmv-loader-'));
  for (const task of ['classify', 'detect', 'segment'] as const) {
    const t0 = performance.now();
    synth[task] = await writeSynthetic({ task, out: join(root, task), n: 200, size: 64, seed: 3 });
    synthSeconds[task] = (performance.now() - t0) / 1000;
  }
});

const open = (r: SynthResult, split: 'train' | 'val' = 'train') => openDataset(r.open[split].dataset, r.open[split].options);

async function collect(loader: DataLoader, epoch: number, start = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, start)) out.push(b);
  return out;
}

test('order: same seed same order, another seed or epoch another order, no shuffle keeps it', (t) => {
  const o = { length: 50, shuffle: true, seed: 7 };
  t.deepEqual(epochIndices(o, 0), epochIndices({ ...o }, 0));
  t.notDeepEqual(epochIndices(o, 0), epochIndices({ ...o, seed: 8 }, 0));
  t.notDeepEqual(epochIndices(o, 0), epochIndices(o, 1));
  t.deepEqual([...epochIndices(o, 0)].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  t.deepEqual([...epochIndices({ ...o, shuffle: false }, 3)], Array.from({ length: 50 }, (_, i) => i));
});

test('sharding by (rank, worldSize): a partition, padded as DistributedSampler or truncated with dropLast', (t) => {
  const shard = (n: number, world: number, dropLast = false) =>
    Array.from({ length: world }, (_, rank) => [...epochIndices({ length: n, shuffle: true, seed: 1, rank, worldSize: world, dropLast }, 2)]);
  const even = shard(12, 3);
  t.deepEqual(even.flat().sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
  t.true(even.every((s) => s.length === 4));
  const padded = shard(10, 3);
  t.true(padded.every((s) => s.length === 4));
  t.deepEqual([...new Set(padded.flat())].sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i));
  const cut = shard(10, 3, true);
  t.true(cut.every((s) => s.length === 3));
  t.is(new Set(cut.flat()).size, 9);
  t.throws(() => epochIndices({ length: 5, shuffle: false, seed: 0, rank: 3, worldSize: 3 }, 0), { message: /rank must be in \[0, 2\]/ });
  t.deepEqual(toBatches(Int32Array.from([0, 1, 2, 3, 4]), 2, true).map((b) => [...b]), [[0, 1], [2, 3]]);
  t.deepEqual(toBatches(Int32Array.from([0, 1, 2, 3, 4]), 2, false).map((b) => [...b]), [[0, 1], [2, 3], [4]]);
});

test('synthetic data: n = 200 at 64 px well under 10 s per task, real layouts read back by the loaders', async (t) => {
  for (const [task, s] of Object.entries(synthSeconds)) t.true(s < 10, `${task} took ${s.toFixed(1)} s`);
  t.log(`synth seconds: ${JSON.stringify(Object.fromEntries(Object.entries(synthSeconds).map(([k, v]) => [k, +v.toFixed(2)])))}`);
  const cls = await open(synth.classify);
  t.deepEqual(cls.classes, ['arrow', 'circle', 'cross', 'diamond']);
  t.is(cls.samples.length, 160);
  const perClass = [0, 0, 0, 0];
  for (const s of cls.samples) perClass[(s.target as { label: number }).label]++;
  t.deepEqual(perClass, [40, 40, 40, 40]);
  t.is((await open(synth.classify, 'val')).samples.length, 40);
  // detect: the COCO file and the YOLO labels describe the same objects
  const coco = await open(synth.detect);
  const yolo = await openDataset('yolo', { data: synth.detect.yaml!, split: 'train' });
  t.is(coco.samples.length, yolo.samples.length);
  for (let i = 0; i < coco.samples.length; i++) {
    const a = coco.samples[i].target as { boxes: number[]; classes: number[]; polygons?: unknown[] };
    const b = yolo.samples[i].target as { boxes: number[]; classes: number[] };
    t.deepEqual(a.classes, b.classes);
    a.boxes.forEach((v, k) => t.true(Math.abs(v / 64 - b.boxes[k]) < 1e-3));
    t.is(a.polygons!.length, a.classes.length);
  }
  // segment: masks hold background 0 and classes 1..4 (reduced to ignore, 0..3 by the loader)
  const seg = await open(synth.segment);
  t.deepEqual(seg.classes, ['arrow', 'circle', 'cross', 'diamond']);
  const values = new Set<number>();
  for (const s of seg.samples.slice(0, 20)) {
    for (const v of decodeIndexPng(await readFile((s.target as { file: string }).file)).data) values.add(v);
  }
  t.deepEqual([...values].sort(), [0, 1, 2, 3, 4]);
});

test('loader: in-process batches are reproducible; resume at a batch gives the same rest of the epoch', async (t) => {
  const ds = await open(synth.classify);
  const spec = classifyTrain({ size: 32, autoAugment: 'rand-m9-mstd0.5-inc1', reprob: 0.25, interpolation: 'random' });
  const mk = (seed: number) => new DataLoader({ dataset: ds, pipeline: spec, batchSize: 32, shuffle: true, seed, workers: 0, dropLast: true });
  const a = await collect(mk(5), 0), b = await collect(mk(5), 0), c = await collect(mk(6), 0);
  t.is(a.length, 5);
  t.deepEqual(a.map((x) => x.images), b.map((x) => x.images));
  t.deepEqual(a.map((x) => [...x.labels!]), b.map((x) => [...x.labels!]));
  t.notDeepEqual(a.map((x) => x.info.map((i) => i.index)), c.map((x) => x.info.map((i) => i.index)));
  const rest = await collect(mk(5), 0, 3);
  t.deepEqual(rest.map((x) => x.images), a.slice(3).map((x) => x.images));
  t.deepEqual(a[0].shape, [32, 32, 32, 3]);
  t.is(mk(5).length, 5);
});

test('loader: worker threads produce exactly the in-process batches (classification with RandAugment, detection with mosaic)', async (t) => {
  const cls = await open(synth.classify);
  const det = await open(synth.detect);
  const cases: Array<[Dataset, ReturnType<typeof classifyTrain> | ReturnType<typeof detectTrain>]> = [
    [cls, classifyTrain({ size: 32, autoAugment: 'rand-m9-mstd0.5-inc1', reprob: 0.25 })],
    [det, detectTrain({ size: 64 })],
  ];
  for (const [dataset, pipeline] of cases) {
    const opts = { dataset, pipeline, batchSize: 24, shuffle: true, seed: 9 };
    const inproc = new DataLoader({ ...opts, workers: 0 });
    const pooled = new DataLoader({ ...opts, workers: 2, prefetch: 3 });
    try {
      const a = (await collect(inproc, 1)).slice(0, 3);
      const b: Batch[] = [];
      for await (const x of pooled.epoch(1)) {
        b.push(x);
        if (b.length === 3) break; // stopping early must not leave errors behind
      }
      t.is(b.length, 3);
      for (let k = 0; k < 3; k++) {
        t.deepEqual(b[k].images, a[k].images, `${pipeline.kind} batch ${k} images`);
        t.deepEqual(b[k].labels, a[k].labels);
        t.deepEqual(b[k].boxes, a[k].boxes);
        t.deepEqual(b[k].boxBatchIndex, a[k].boxBatchIndex);
      }
    } finally {
      await pooled.close();
    }
  }
});

test('loader: an error inside a worker thread arrives with its type, file and field; a bad sample there is skipped', async (t) => {
  const det = await open(synth.detect);
  const cls = await open(synth.classify, 'val');
  // a detection sample given to a classification pipeline is a data error, not a bad image
  const mixed: Dataset = { ...cls, samples: [cls.samples[0], { ...det.samples[0], index: 1 }, { ...cls.samples[1], index: 2, file: join(root, 'nope.jpg') }] };
  const loader = new DataLoader({ dataset: mixed, pipeline: classifyEval({ size: 16 }), batchSize: 3, workers: 1 });
  try {
    const e = await t.throwsAsync(() => collect(loader, 0), { instanceOf: DataError });
    t.regex(e!.message, /000000\.jpg: target: a classification pipeline needs a class label, got 'boxes' annotations/);
    t.regex(e!.stack!, /in a data worker thread/);
    const ok = new DataLoader({ dataset: { ...mixed, samples: [mixed.samples[0], { ...mixed.samples[2], index: 1 }] }, pipeline: classifyEval({ size: 16 }), batchSize: 2, workers: 1, onReport: () => {} });
    const [b] = await collect(ok, 0);
    t.deepEqual(b.skipped, [1]);
    t.is(ok.lastReport!.skipped[0].reason, 'missing file');
    await ok.close();
  } finally {
    await loader.close();
  }
});

test('loader: a truncated JPEG and a missing file are skipped, counted and reported; strict makes them fatal', async (t) => {
  const base = await open(synth.classify, 'val');
  const dir = await mkdtemp(join(tmpdir(), 'ssmv-bad-'));
  const good = await readFile(base.samples[0].file);
  const truncated = join(dir, 'truncated.jpg');
  await writeFile(truncated, good.subarray(0, good.length >> 1));
  const junk = join(dir, 'junk.jpg');
  await writeFile(junk, 'this is not a JPEG');
  const samples = [
    ...base.samples.slice(0, 6),
    { index: 0, file: truncated, id: 'truncated', target: { kind: 'class' as const, label: 0 } },
    { index: 0, file: join(dir, 'missing.jpg'), id: 'missing', target: { kind: 'class' as const, label: 1 } },
    { index: 0, file: junk, id: 'junk', target: { kind: 'class' as const, label: 2 } },
  ].map((s, i) => ({ ...s, index: i }));
  const dataset: Dataset = { ...base, samples };
  const reports: EpochReport[] = [];
  const loader = new DataLoader({ dataset, pipeline: classifyEval({ size: 32 }), batchSize: 4, workers: 0, onReport: (r) => reports.push(r) });
  const batches = await collect(loader, 0);
  // batch 3 lost its only sample: it is not yielded at all
  t.deepEqual(batches.map((b) => b.shape[0]), [4, 2]);
  t.deepEqual(batches.flatMap((b) => b.skipped), [6, 7]);
  t.is(reports.length, 1);
  const r = reports[0];
  t.is(r.loaded, 6);
  t.deepEqual(r.skipped.map((s) => s.reason.replace(/:.*/, '')), ['cannot decode', 'missing file', 'cannot decode']);
  t.regex(r.skipped[0].reason, /^cannot decode: .+/); // libvips' words vary: 'premature end' or 'warning treated as error'
  const strict = new DataLoader({ dataset, pipeline: classifyEval({ size: 32 }), batchSize: 4, workers: 0, strict: true });
  const e = await t.throwsAsync(() => collect(strict, 0), { instanceOf: SampleError });
  t.regex(e!.message, /truncated\.jpg: cannot decode/);
});

test('loader: Mixup/CutMix at batch level gives soft targets; toTensors builds the tensors', async (t) => {
  const ds = await open(synth.classify);
  const loader = new DataLoader({
    dataset: ds, pipeline: classifyTrain({ size: 16 }), batchSize: 8, shuffle: true, workers: 0,
    mixup: { mixupAlpha: 0.8, cutmixAlpha: 1, numClasses: 4, labelSmoothing: 0.1 },
  });
  const { toTensors } = await import('../datasets/tensors.ts');
  for await (const b of loader.epoch(0)) {
    t.is(b.targets!.length, 8 * 4);
    for (let i = 0; i < 8; i++) t.true(Math.abs(b.targets!.subarray(i * 4, i * 4 + 4).reduce((s, v) => s + v, 0) - 1) < 1e-5);
    const tt = toTensors(b);
    t.deepEqual(tt.images.shape, [8, 16, 16, 3]);
    t.deepEqual(tt.targets!.shape, [8, 4]);
    t.is(tt.labels!.dtype, 'int32');
    Object.values(tt).forEach((x) => x?.dispose());
    break;
  }
});

test('cli: ssmv data synth writes a dataset and prints how to open it', async (t) => {
  const { run } = await import('../cli/data.ts');
  const out = join(root, 'cli-synth');
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (chunks.push(String(s)), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await run(['synth', '--task', 'segment', '--out', out, '--n', '20', '--size', '32', '--classes', '3']);
  } finally {
    process.stdout.write = write;
  }
  t.is(code, 0);
  t.regex(chunks.join(''), /wrote 16 train \+ 4 val segment images .*\n  train: dataset=ade20k root=.* split=training/);
  t.is((await readdir(join(out, 'annotations', 'validation'))).length, 4);
  await t.throwsAsync(() => run(['synt']), { message: /unknown command 'synt' \(did you mean synth\?\)/ });
});
