// `ssmv bench data [--workers 0,1,2] [--kind thread,process] [--images 256] [--size 224] [--batch 32] [--epochs 2] [--dir D] [--json]`
// images/s of the classification train pipeline (decode + RandomResizedCrop + flip + normalise) on
// generated ImageNet-sized JPEGs, per worker count and worker kind; also images per CPU-second
// (all threads and worker processes), the per-core figure that other load on the machine does not
// distort.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, formatHelp, UsageError, type ArgSchema } from './args.ts';
import { WORKER_KINDS, type WorkerKind } from '../datasets/worker/kind.ts';

const SCHEMA: ArgSchema = {
  workers: { type: 'numbers', help: 'worker counts to measure (0 = in the main thread); default 0..cores' },
  kind: { type: 'list', default: ['thread', 'process'], help: 'worker kinds to measure: thread (worker threads), process (child processes)' },
  in_flight: { type: 'int', help: 'items each worker works on at once (a worker process gets a libuv pool of this size); default: the loader\'s (2 threads, 3 processes)' },
  images: { type: 'int', default: 256, help: 'distinct JPEGs (about 500x375) generated once into --dir' },
  size: { type: 'int', default: 224, help: 'crop size' },
  batch: { type: 'int', default: 32, help: 'batch size' },
  epochs: { type: 'int', default: 2, help: 'timed epochs over the images (after one warm-up epoch)' },
  dir: { type: 'string', help: 'where the benchmark JPEGs live (default: <tmp>/ssmv-bench-jpegs)' },
  json: { type: 'boolean', default: false, help: 'print the rows as JSON' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SCHEMA, 'bench data');
  if (args.help) {
    process.stdout.write(formatHelp('bench data', 'ssmv bench data [--workers 0,1,2] [--kind thread,process] [--images 256] [--json]', SCHEMA));
    return 0;
  }
  const v = args.values;
  const cores = availableParallelism();
  const counts = (v.workers as number[] | undefined) ?? Array.from({ length: cores + 1 }, (_, i) => i);
  if (counts.some((c) => !Number.isInteger(c) || c < 0)) throw new UsageError(`--workers: worker counts must be integers >= 0, got ${counts}`);
  const kinds = v.kind as string[];
  const inFlight = v.in_flight as number | undefined;
  if (inFlight !== undefined && (!Number.isInteger(inFlight) || inFlight < 1)) throw new UsageError(`--in_flight: expected an integer >= 1, got ${v.in_flight}`);
  const bad = kinds.filter((k) => !WORKER_KINDS.includes(k as WorkerKind));
  if (bad.length || !kinds.length) throw new UsageError(`--kind: expected thread and/or process, got '${kinds.join(',')}'`);
  // every worker thread keeps 2 items in flight on the process-wide libuv threadpool, whose size
  // libuv reads from the environment when Node starts: rerun this command in a child with a large
  // enough pool when needed (worker processes set their own pool size when they start)
  const need = Math.max(4, (inFlight ?? 2) * Math.max(...counts, 1));
  if (kinds.includes('thread') && !process.env.UV_THREADPOOL_SIZE && need > 4 && !process.env.SSMV_BENCH_CHILD) {
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
      stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: String(need), SSMV_BENCH_CHILD: '1' },
    });
    return r.status ?? 1;
  }
  const { benchImages, benchLoader, meanKiB } = await import('../datasets/bench.ts');
  const dir = (v.dir as string | undefined) ?? join(tmpdir(), 'ssmv-bench-jpegs');
  const t0 = performance.now();
  const files = await benchImages(dir, v.images as number);
  const kib = await meanKiB(files);
  const say = (s: string) => {
    if (!v.json) process.stdout.write(s);
  };
  say(`${files.length} JPEGs (about 500x375, mean ${kib.toFixed(0)} KiB) in ${dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  // the environment as this process started (bin/ssmv.mjs no longer sets the variable itself, which
  // never took effect): the pool size in force for workers = 0 and for worker threads
  say(`machine: ${cores} cores (${cpus()[0]?.model ?? 'unknown cpu'}), libuv threadpool of this process: ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'} threads; each worker process: ${inFlight ?? 3} (its items in flight)\n`);
  say(`pipeline: decode + RandomResizedCrop ${v.size} + flip + normalise, batch ${v.batch}\n\n`);
  say('workers  kind      images/s   images/s per core (images per CPU-second)   CPU ms/image (kernel part)   main-thread CPU ms/image\n');
  const rows = [];
  // workers = 0 is the main thread itself: measured once, whatever the kinds
  const runs: Array<[number, WorkerKind]> = counts.flatMap((w): Array<[number, WorkerKind]> => (w === 0 ? [[0, 'thread']] : kinds.map((k) => [w, k as WorkerKind])));
  for (const [w, kind] of runs) {
    const [r] = await benchLoader(files, [w], { size: v.size as number, batchSize: v.batch as number, epochs: v.epochs as number, kind, inFlight });
    rows.push(r);
    const cpuMs = (1000 * r.cpuSeconds) / r.images, sysMs = (1000 * r.systemSeconds) / r.images;
    const main = r.mainMsPerImage == null ? '       -' : r.mainMsPerImage.toFixed(2).padStart(8);
    say(`${String(w).padStart(7)}  ${(w === 0 ? 'main' : kind).padEnd(8)}  ${r.imagesPerSecond.toFixed(0).padStart(8)}   ${r.imagesPerCpuSecond.toFixed(0).padStart(8)}${' '.repeat(35)}${cpuMs.toFixed(2).padStart(5)} (${sysMs.toFixed(2)})${' '.repeat(19)}${main}\n`);
  }
  if (v.json) process.stdout.write(JSON.stringify({ cores, meanKiB: kib, rows }, null, 2) + '\n');
  return 0;
}
