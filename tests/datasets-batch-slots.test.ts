// Items written straight into their batch slot (datasets/loader.ts makeBatch, collate's `into`):
// shared memory with worker threads, plain memory in-process, a copy only when a sample is skipped;
// the batches equal those of the copying path (a pipeline given no slot) value for value.
import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../core/rng.ts';
import { collate } from '../datasets/collate.ts';
import { openDataset } from '../datasets/index.ts';
import { DataLoader } from '../datasets/loader.ts';
import { buildPipeline, classifyTrain } from '../datasets/pipeline/index.ts';
import { mixSeed } from '../datasets/sampler.ts';
import { writeSynthetic } from '../datasets/synth/write.ts';
import type { Batch, Dataset } from '../datasets/types.ts';

let ds: Dataset;
test.before(async () => {
  const r = await writeSynthetic({ task: 'classify', out: join(await mkdtemp(join(tmpdir(), 'ssmv-slots-')), 'c'), n: 24, size: 48, seed: 5 });
  const base = await openDataset(r.open.train.dataset, r.open.train.options);
  // sample 5 is a missing file: its batch is collated by copying, the others in place
  const samples = base.samples.slice(0, 12).map((s, i) => (i === 5 ? { ...s, file: join(tmpdir(), 'ssmv-slots-missing.jpg') } : s));
  ds = { ...base, samples };
});

const spec = classifyTrain({ size: 32, colorJitter: 0.4, autoAugment: null, reprob: 0.25 });

async function batches(workers: number): Promise<Batch[]> {
  const loader = new DataLoader({ dataset: ds, pipeline: spec, batchSize: 4, shuffle: true, seed: 9, workers, workerKind: 'thread', onReport: () => {} });
  const out: Batch[] = [];
  try {
    for await (const b of loader.epoch(1)) out.push(b);
  } finally {
    await loader.close();
  }
  return out;
}

test('batch slots: worker threads write shared memory, in-process plain memory; both equal the copying path', async (t) => {
  const [inProc, viaWorkers] = [await batches(0), await batches(2)];
  const skippedBatch = inProc.findIndex((b) => b.skipped.length > 0);
  t.true(skippedBatch >= 0, 'one batch lost the missing file');
  // the copying path: every item run without a slot (its own array), then collated by copy
  const pipe = buildPipeline(spec);
  for (const [k, b] of inProc.entries()) {
    const items = await Promise.all(b.info.map((inf) => pipe.run([ds.samples[inf.index]], new Rng(mixSeed(9, 1, inf.index, 0x17e3)))));
    const ref = collate(items, b.info, b.skipped);
    t.deepEqual(b.images, ref.images, `in-process batch ${k}`);
    t.deepEqual(viaWorkers[k].images, ref.images, `worker batch ${k}`);
    t.deepEqual(viaWorkers[k].labels, ref.labels);
    const full = b.skipped.length === 0;
    t.is(viaWorkers[k].images.buffer instanceof SharedArrayBuffer, full, 'a full batch from workers is the shared buffer itself');
    t.true(b.images.buffer instanceof ArrayBuffer);
    t.is(b.images.length, b.shape[0] * 32 * 32 * 3);
  }
  t.is(inProc[skippedBatch].shape[0], 3);
});

test('collate: items already in their slots are not copied; one outside its slot is', (t) => {
  const px = 2 * 2 * 3;
  const into = new Float32Array(new SharedArrayBuffer(2 * px * 4));
  into.fill(1, 0, px);
  const own = new Float32Array(px).fill(7);
  const info = [0, 1].map((i) => ({ index: i, id: i, file: `f${i}` }));
  const b = collate([{ index: 0, image: into.subarray(0, px), height: 2, width: 2, label: 0 }, { index: 1, image: own, height: 2, width: 2, label: 1 }], info, [], into);
  t.is(b.images, into);
  t.deepEqual(Array.from(b.images), [...Array(px).fill(1), ...Array(px).fill(7)]);
});
