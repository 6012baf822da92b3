// Process data workers (datasets/worker/pool-process.ts): the same batches as worker threads and
// the in-process path, value for value (a missing and a corrupt file skipped alike; detection items
// that come back over the IPC channel instead of a slot file); no child outlives close() or its
// parent; errors name the file.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../datasets/index.ts';
import { DataLoader, type LoaderOptions } from '../datasets/loader.ts';
import { classifyTrain, detectTrain } from '../datasets/pipeline/spec.ts';
import { writeSynthetic } from '../datasets/synth/write.ts';
import type { Batch, Dataset } from '../datasets/types.ts';
import type { WorkerKind } from '../datasets/worker/kind.ts';

let cls: Dataset, det: Dataset, root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ssmv-proc-'));
  const c = await writeSynthetic({ task: 'classify', out: join(root, 'c'), n: 24, size: 48, seed: 5 });
  const base = await openDataset(c.open.train.dataset, c.open.train.options);
  const corrupt = join(root, 'corrupt.jpg');
  await writeFile(corrupt, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3])); // a JPEG cut short
  // sample 3 is a missing file, sample 8 a truncated JPEG: both skipped and counted on every path
  const samples = base.samples.slice(0, 14).map((s, i) => (i === 3 ? { ...s, file: join(root, 'missing.jpg') } : i === 8 ? { ...s, file: corrupt } : s));
  cls = { ...base, samples };
  const d = await writeSynthetic({ task: 'detect', out: join(root, 'd'), n: 8, size: 64, seed: 2 });
  const dbase = await openDataset(d.open.train.dataset, d.open.train.options);
  det = { ...dbase, samples: dbase.samples.slice(0, 6) };
});

const clsSpec = classifyTrain({ size: 32, colorJitter: 0.4, autoAugment: null, reprob: 0.25, interpolation: 'random' });

async function run(o: Partial<LoaderOptions> & Pick<LoaderOptions, 'dataset' | 'pipeline'>, workers: number, workerKind: WorkerKind) {
  const skipped: string[] = [];
  const loader = new DataLoader({ batchSize: 4, shuffle: true, seed: 11, workers, workerKind, onReport: (r) => skipped.push(...r.skipped.map((s) => `${s.index} ${s.reason}`)), ...o });
  const out: Batch[] = [];
  try {
    for await (const b of loader.epoch(2)) out.push(b);
  } finally {
    await loader.close();
  }
  return { batches: out, skipped };
}

/** the batch without its buffer's kind (shared or not): values, shapes, labels, boxes, info */
const plain = (b: Batch) => ({ ...b, images: Array.from(b.images) });

test('process workers give the batches of worker threads and of the main thread, skipped samples included', async (t) => {
  const ref = await run({ dataset: cls, pipeline: clsSpec }, 0, 'thread');
  const threads = await run({ dataset: cls, pipeline: clsSpec }, 2, 'thread');
  const procs = await run({ dataset: cls, pipeline: clsSpec }, 2, 'process');
  t.is(ref.skipped.length, 2, 'the missing and the corrupt file');
  t.deepEqual(procs.skipped, ref.skipped);
  t.deepEqual(threads.skipped, ref.skipped);
  t.is(procs.batches.length, ref.batches.length);
  t.is(ref.batches.reduce((n, b) => n + b.shape[0], 0), 12);
  for (const [k, b] of ref.batches.entries()) {
    t.deepEqual(plain(procs.batches[k]), plain(b), `batch ${k}`);
    t.deepEqual(plain(threads.batches[k]), plain(b), `batch ${k}`);
  }
  // the numbers are images, not zeros left in an unread slot
  t.true(ref.batches[0].images.some((v) => v !== 0));
});

test('process workers: detection items (no batch slot: over the IPC channel) equal the in-process ones', async (t) => {
  const spec = detectTrain({ size: 64, mosaic: 0.5 });
  const ref = await run({ dataset: det, pipeline: spec, batchSize: 3 }, 0, 'thread');
  const procs = await run({ dataset: det, pipeline: spec, batchSize: 3 }, 2, 'process');
  t.is(procs.batches.length, ref.batches.length);
  for (const [k, b] of ref.batches.entries()) t.deepEqual(plain(procs.batches[k]), plain(b), `batch ${k}`);
  t.true(ref.batches.some((b) => (b.boxes?.length ?? 0) > 0));
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('close() ends every worker process; strict mode names the file', async (t) => {
  const loader = new DataLoader({ dataset: cls, pipeline: clsSpec, batchSize: 4, workers: 2, workerKind: 'process', strict: true });
  await loader.warmup();
  const pids = loader.workerPids;
  t.is(pids.length, 2);
  t.true(pids.every(alive));
  const err = await t.throwsAsync(async () => {
    for await (const _ of loader.epoch(0)) void _;
  });
  t.regex(err!.message, /missing\.jpg: missing file|corrupt\.jpg: cannot decode/);
  await loader.close();
  t.deepEqual(pids.filter(alive), []);
});

test('worker processes exit when their parent dies', async (t) => {
  // a parent that starts 2 worker processes, prints their ids, then is killed (no close())
  const script = join(root, 'parent.mts');
  const loaderUrl = new URL('../datasets/loader.ts', import.meta.url).href;
  await writeFile(script, `
    import { DataLoader } from ${JSON.stringify(loaderUrl)};
    const ds = ${JSON.stringify(cls)};
    const loader = new DataLoader({ dataset: ds, pipeline: ${JSON.stringify(clsSpec)}, batchSize: 4, workers: 2, workerKind: 'process' });
    await loader.warmup();
    process.stdout.write(JSON.stringify(loader.workerPids) + '\\n', () => process.kill(process.pid, 'SIGKILL'));
    setInterval(() => {}, 1000);
  `);
  const parent = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (d) => (out += d));
  await new Promise((r) => parent.once('exit', r));
  const pids = JSON.parse(out) as number[];
  t.is(pids.length, 2);
  const t0 = Date.now();
  while (pids.some(alive) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(pids.filter(alive), [], 'orphaned worker processes');
});
