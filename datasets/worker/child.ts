// A data worker child process (pool-process.ts): rebuilds the pipeline from its spec and runs the
// items the parent sends, over the IPC channel (advanced serialisation). An item whose image the
// pipeline writes into an `out` buffer (classification: normalised float32 (H, W, 3)) goes back
// through the in-flight slot's file (tmpfs): one write here, one read into the batch slot in the
// parent, about a third of the parent's CPU that the same image costs through the IPC channel.
// The process exits when the channel closes (the loader closed, or the parent died).
import { openSync, writeSync } from 'node:fs';
import { Rng } from '../../core/rng.ts';
import { configureSharp } from '../io/decode.ts';
import { buildPipeline, type Pipeline } from '../pipeline/index.ts';
import { toWire, type FromChild, type ToChild } from './protocol.ts';

if (!process.send) throw new Error('datasets/worker/child.ts must run in a child process with an IPC channel');
const send = (m: FromChild) => process.send!(m);
configureSharp();
let pipeline: Pipeline | null = null;
let fds: number[] = [];
/** per slot: the float buffer the pipeline writes into (reused while the length stays the same) */
const bufs: Float32Array[] = [];

process.on('disconnect', () => process.exit(0));

function writeAll(fd: number, a: Float32Array): void {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, done);
}

process.on('message', async (m: ToChild) => {
  if (m.type === 'init') {
    pipeline = buildPipeline(m.spec);
    fds = m.files.map((f) => openSync(f, 'r+')); // the parent unlinks them once every child is ready
    send({ type: 'ready' });
    return;
  }
  try {
    if (!pipeline) throw new Error('data worker process: run before init');
    const rng = new Rng(m.rng);
    let out: Float32Array | undefined;
    if (m.slot !== undefined && m.length) {
      if (bufs[m.slot]?.length !== m.length) bufs[m.slot] = new Float32Array(m.length);
      out = bufs[m.slot];
    }
    const item = await pipeline.run(m.samples, rng, out);
    if (out && item.image === out) {
      writeAll(fds[m.slot!], out);
      const { image: _, ...rest } = item;
      send({ type: 'done', id: m.id, item: rest, inPlace: true });
    } else send({ type: 'done', id: m.id, item });
  } catch (e) {
    send({ type: 'fail', id: m.id, error: toWire(e) });
  }
});
