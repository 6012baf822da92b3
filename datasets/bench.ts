// Input-pipeline benchmark: images/s of decode + RandomResizedCrop 224 + flip + normalise on
// ImageNet-sized JPEGs (about 500x375, photo-like content so the files have ImageNet-like sizes),
// per worker count and kind (threads of this process or child processes). Used by `ssmv bench data`.
import { readFileSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../core/rng.ts';
import { configureSharp, encodeJpeg } from './io/decode.ts';
import { DataLoader } from './loader.ts';
import { classifyTrain } from './pipeline/spec.ts';
import type { WorkerKind } from './worker/kind.ts';
import { background, paint, placeShape } from './synth/shapes.ts';
import type { Dataset, RgbImage, Sample } from './types.ts';

/** A textured image: gradient + blobs + shapes + fine noise (JPEG size close to ImageNet's ~110 KB). */
function photoLike(w: number, h: number, rng: Rng): RgbImage {
  const side = Math.max(w, h);
  const bg = background(side, rng);
  const shapes = Array.from({ length: 6 }, () => {
    const r = rng.uniform(0.05, 0.2) * side;
    return placeShape(rng.int(8), rng.uniform(0, side), rng.uniform(0, side), r, rng);
  });
  paint(bg, shapes);
  // separable texture (sin tables) + per-pixel noise, for JPEG sizes near ImageNet's
  const tx = Float32Array.from({ length: w }, (_, x) => 14 * Math.sin(x * 0.21));
  const ty = Float32Array.from({ length: h }, (_, y) => 14 * Math.sin(y * 0.17));
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3, s = (y * side + x) * 3;
      const tex = tx[x] + ty[y];
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, Math.round(bg.data[s + c] + tex + (rng.random() - 0.5) * 48)));
    }
  }
  return { data, width: w, height: h };
}

/** Writes `n` JPEGs of about 500x375 (sizes varied as ImageNet's) into `dir` once; returns their paths. */
export async function benchImages(dir: string, n: number, seed = 0): Promise<string[]> {
  configureSharp();
  await mkdir(dir, { recursive: true });
  const have = new Set((await readdir(dir)).filter((f) => f.endsWith('.JPEG')));
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `bench_${String(i).padStart(5, '0')}.JPEG`;
    files.push(join(dir, name));
    if (have.has(name)) continue;
    const rng = new Rng([seed, i, 0xbe, 0x4c]);
    const portrait = rng.random() < 0.25;
    const w = portrait ? 375 : 500 - rng.int(3) * 50, h = portrait ? 500 : 375 - rng.int(2) * 42;
    await writeFile(join(dir, name), await encodeJpeg(photoLike(w, h, rng), 90));
  }
  return files;
}

export interface BenchRow {
  workers: number;
  /** 'thread' or 'process' ('thread' for workers = 0: the main thread itself) */
  kind: WorkerKind;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** CPU seconds of the whole process (all threads: main, workers, libuv/libvips) and of its worker processes */
  cpuSeconds: number;
  /** images per CPU-second: the per-core rate, robust to other load on the machine */
  imagesPerCpuSecond: number;
  /** of cpuSeconds, the part spent in the kernel (page faults, futexes, reads) */
  systemSeconds: number;
  /** CPU ms of the main thread per image (Linux; null elsewhere): the loader's serial part */
  mainMsPerImage: number | null;
}

/** CPU seconds (user, system) of a process or thread so far, from /proc (Linux; null where there is none). */
function procCpuSeconds(path: string): [number, number] | null {
  try {
    const stat = readFileSync(path, 'utf8');
    // fields after "(comm)": state is the 3rd field, utime and stime the 14th and 15th (clock ticks, 100 Hz)
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(f[11]) / 100, Number(f[12]) / 100];
  } catch {
    return null;
  }
}

/** CPU seconds of the main thread so far (Linux; null elsewhere). */
function mainThreadCpuSeconds(): number | null {
  const c = procCpuSeconds(`/proc/self/task/${process.pid}/stat`);
  return c && c[0] + c[1];
}

/** User and system CPU seconds of the worker processes so far (zero without any; Linux only). */
function childrenCpu(pids: number[]): { user: number; system: number } {
  let user = 0, system = 0;
  for (const pid of pids) {
    const c = procCpuSeconds(`/proc/${pid}/stat`);
    if (!c) throw new Error(`bench: cannot read the CPU time of worker process ${pid} (/proc/${pid}/stat): process workers are measured on Linux only`);
    user += c[0];
    system += c[1];
  }
  return { user, system };
}

/**
 * Runs the classification train pipeline (no colour jitter / auto-augment) over `files` for each
 * worker count, with workers of `opts.kind` (default thread; 0 workers = the main thread).
 */
export async function benchLoader(files: string[], workerCounts: number[], opts: { size?: number; batchSize?: number; epochs?: number; kind?: WorkerKind; inFlight?: number } = {}): Promise<BenchRow[]> {
  const samples: Sample[] = files.map((file, i) => ({ index: i, file, id: i, target: { kind: 'class', label: i % 10 } }));
  const dataset: Dataset = { name: 'bench', task: 'classify', root: '', split: 'train', classes: Array.from({ length: 10 }, (_, i) => `c${i}`), samples, meta: {} };
  const spec = classifyTrain({ size: opts.size ?? 224, colorJitter: null, autoAugment: null, reprob: 0 });
  const rows: BenchRow[] = [];
  for (const workers of workerCounts) {
    const kind: WorkerKind = workers === 0 ? 'thread' : opts.kind ?? 'thread';
    const loader = new DataLoader({ dataset, pipeline: spec, batchSize: opts.batchSize ?? 32, shuffle: true, seed: 0, workers, workerKind: kind, inFlightPerWorker: opts.inFlight, prefetch: 4 });
    await loader.warmup();
    for await (const _ of loader.epoch(0)) void _; // warm: page cache, JIT, worker modules
    const pids = loader.workerPids;
    const t0 = performance.now(), c0 = process.cpuUsage(), m0 = mainThreadCpuSeconds(), k0 = childrenCpu(pids);
    let images = 0;
    for (let e = 1; e <= (opts.epochs ?? 2); e++) for await (const b of loader.epoch(e)) images += b.shape[0];
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const m1 = mainThreadCpuSeconds(), k1 = childrenCpu(pids);
    const cpuSeconds = (c.user + c.system) / 1e6 + (k1.user - k0.user) + (k1.system - k0.system);
    const systemSeconds = c.system / 1e6 + (k1.system - k0.system);
    await loader.close();
    const mainMsPerImage = m0 != null && m1 != null ? ((m1 - m0) * 1000) / images : null;
    rows.push({ workers, kind, images, seconds, imagesPerSecond: images / seconds, cpuSeconds, imagesPerCpuSecond: images / cpuSeconds, systemSeconds, mainMsPerImage });
  }
  return rows;
}

/** Mean file size of the benchmark JPEGs in KiB. */
export async function meanKiB(files: string[]): Promise<number> {
  let total = 0;
  for (const f of files) total += (await stat(f)).size;
  return total / files.length / 1024;
}
