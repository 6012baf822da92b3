// A data worker thread: rebuilds the pipeline from its spec and runs items as the loader sends
// them (several may be in flight: sharp decodes on the libuv threadpool while this thread runs the
// typed-array transforms of another item).
import { parentPort } from 'node:worker_threads';
import { Rng } from '../../core/rng.ts';
import { configureSharp } from '../io/decode.ts';
import { buildPipeline, type Pipeline } from '../pipeline/index.ts';
import { toWire, transferList, type FromWorker, type ToWorker } from './protocol.ts';

if (!parentPort) throw new Error('datasets/worker/worker.ts must run in a worker thread');
const port = parentPort;
configureSharp();
let pipeline: Pipeline | null = null;

const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

port.on('message', async (m: ToWorker) => {
  if (m.type === 'init') {
    pipeline = buildPipeline(m.spec);
    send({ type: 'ready' });
    return;
  }
  try {
    if (!pipeline) throw new Error('data worker: run before init');
    const rng = new Rng(m.rng);
    // m.out is a view of the batch's SharedArrayBuffer (cloned without a copy): an image written
    // there needs no transfer, and the loader already holds it in place
    const item = await pipeline.run(m.samples, rng, m.out);
    if (m.out && item.image === m.out) {
      const { image: _, ...rest } = item;
      send({ type: 'done', id: m.id, item: rest, inPlace: true }, transferList(item));
    } else send({ type: 'done', id: m.id, item }, transferList(item));
  } catch (e) {
    send({ type: 'fail', id: m.id, error: toWire(e) });
  }
});
