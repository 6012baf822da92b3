// `ssmv bench scan`: forward and forward+backward of the selective-scan kernels, unfused (inputs
// in scan order, (B, K*D, L)) and fused with VMamba's 4-direction cross plan (u (B, D, H*W) shared,
// y summed in map order), in ms and GB/s of the tensors each call must read and write at least.
// Timing waits for GPU completion by reading one element of a tensor written after the timed work.
import { tf, type Tensor } from '../../../core/tf.ts';
import { setBackend } from '../../../core/backend.ts';
import { parseArgs, formatHelp, UsageError, type ArgSchema } from '../../../cli/args.ts';
import { scans } from '../../../scans/index.ts';
import type { ScanPlan } from '../../plan.ts';
import { SCAN_GRAD_KERNEL, SCAN_KERNEL } from './types.ts';
import { validateScan } from './validate.ts';
import { startGpuProfile, stopGpuProfile } from '../../../core/kernels/gpu-profiler.ts';
import './register.ts';

/** The issue's shapes (VMamba tiny stages at 224 and a long sequence), as B x K x D x N x L. */
const DEFAULT_SHAPES = ['64x4x192x1x3136', '64x4x384x1x784', '64x4x192x16x3136', '8x4x192x1x50176'];

const SCHEMA: ArgSchema = {
  shapes: { type: 'list', default: DEFAULT_SHAPES, help: 'comma-separated BxKxDxNxL (L a square for the fused cross plan, else H = 1)' },
  iters: { type: 'int', default: 10, help: 'timed iterations per measurement' },
  warmup: { type: 'int', default: 1, help: 'untimed rounds of `iters` iterations first (pipelines, buffer pool)' },
  backend: { type: 'string', default: 'webgpu', choices: ['webgpu', 'cpu', 'auto'], help: 'tensor backend' },
  modes: { type: 'list', default: ['unfused', 'fused'], help: 'unfused and/or fused' },
  json: { type: 'boolean', default: false, help: 'also print one JSON line per measurement' },
  configs: {
    type: 'string', default: '',
    help: "kernel settings to compare on the same inputs: ';'-separated configs of space-separated NAME=VALUE environment settings, e.g. 'SSMV_SCAN_KERNEL=fold;SSMV_SCAN_KERNEL=subgroup' ('' = as set)",
  },
  passes: { type: 'list', default: ['fwd', 'fb'], help: 'fwd (forward) and/or fb (forward+backward)' },
  breakdown: { type: 'boolean', default: false, help: 'print the GPU ms of each kind of dispatch (webgpu)' },
};

/** `--configs` text -> list of environment settings ([{}] when empty). */
function parseConfigs(text: string): Array<Record<string, string>> {
  if (!text.trim()) return [{}];
  return text.split(';').map((c) => {
    const env: Record<string, string> = {};
    for (const kv of c.trim().split(/\s+/).filter(Boolean)) {
      const eq = kv.indexOf('=');
      if (eq < 1 || !kv.startsWith('SSMV_')) throw new UsageError(`configs: '${kv}' is not SSMV_NAME=VALUE`);
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return env;
  });
}

/** Runs `f` with the environment settings applied, restoring the previous values after. */
async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

interface Shape { B: number; K: number; D: number; N: number; L: number }

function parseShape(s: string): Shape {
  const v = s.toLowerCase().split('x').map(Number);
  if (v.length !== 5 || !v.every((x) => Number.isInteger(x) && x > 0)) throw new UsageError(`shapes: '${s}' is not BxKxDxNxL (five positive integers)`);
  const [B, K, D, N, L] = v;
  return { B, K, D, N, L };
}

function mapSize(L: number): [number, number] {
  const s = Math.round(Math.sqrt(L));
  return s * s === L ? [s, s] : [1, L];
}

/** Everything one measurement needs: inputs, kernel attrs, dy, and the byte counts. */
function setup(sh: Shape, fused: boolean) {
  const { B, K, D, N, L } = sh;
  const KD = K * D;
  const [H, W] = mapSize(L);
  const plan: ScanPlan | undefined = fused ? scans.get('cross').plan(H, W) : undefined;
  if (plan && plan.K !== K) throw new UsageError(`shapes: the cross plan has 4 directions, got K = ${K}`);
  const P = L;
  const uRows = fused ? D : KD;
  const outRows = fused ? D : KD;
  // Inputs tiled on the device from a 1 Mi-sample random pool (drawing 10^8 normals in JS takes minutes).
  const pool = tf.randomNormal([1 << 20], 0, 1, 'float32', 1);
  const rnd = (shape: number[], scale = 1, mean = 0) => tf.tidy(() => {
    const n = shape.reduce((a, b) => a * b, 1);
    const flat = n <= pool.size ? tf.slice(pool, [0], [n]) : tf.slice(tf.tile(pool, [Math.ceil(n / pool.size)]), [0], [n]);
    return tf.add(tf.mul(tf.reshape(flat, shape), scale), mean);
  });
  const inputs = {
    u: rnd([B, uRows, P]),
    delta: rnd([B, KD, P], 0.5, -1),
    A: tf.neg(tf.exp(rnd([KD, N], 0.5))),
    B: rnd([B, K, N, P]),
    C: rnd([B, K, N, P]),
    D: rnd([KD]),
    deltaBias: rnd([KD], 0.1),
  };
  const g = validateScan(inputs, { deltaSoftplus: true, plan });
  const named = { ...inputs, index: plan ? tf.tensor2d(plan.index, [plan.K, plan.L], 'int32') : tf.zeros([1], 'int32') };
  const dy = rnd([B, outRows, fused ? P : L]);
  pool.dispose();
  const f = 4;
  const seq = B * KD * L;
  const bc = B * K * N * P;
  const fwdBytes = f * (B * uRows * P + B * KD * P + 2 * bc + B * outRows * P);
  // backward: reads u, delta, B, C, dy; writes du, ddelta, dB, dC
  const bwdBytes = f * (B * uRows * P + B * KD * P + 2 * bc + B * outRows * P + B * uRows * P + B * KD * P + 2 * bc);
  return { g, named, dy, fwdBytes, bwdBytes, seq, plan };
}

/**
 * ms per iteration of `work`, GPU completion included (wall clock), after `warmup` untimed rounds of the
 * same `iters`-iteration loop: outputs are freed to tfjs' buffer pool only at the next queue submit,
 * so the first round allocates (and Dawn zero-fills) fresh buffers, which a timed round must not see.
 * Then one more round with a GPU timestamp pair around each of our dispatches (webgpu): kernel ms.
 */
async function time(work: () => Tensor[], warmup: number, iters: number, be: tf.KernelBackend | null): Promise<{ ms: number; gpuMs: number | null; parts: Record<string, number> }> {
  const round = async () => {
    let pending: Tensor[] = [];
    for (let i = 0; i < iters; i++) {
      tf.dispose(pending);
      pending = work();
    }
    const probe = tf.slice(tf.reshape(pending[0], [-1]), [0], [1]);
    await probe.data(); // GPU->CPU sync: waits for everything queued before it
    tf.dispose([probe, ...pending]);
  };
  for (let i = 0; i < warmup; i++) await round();
  const t0 = performance.now();
  await round();
  const ms = (performance.now() - t0) / iters;
  // our dispatches only (not tfjs' programs)
  if (!be || !startGpuProfile(be, { programs: false })) return { ms, gpuMs: null, parts: {} };
  await round();
  const spans = await stopGpuProfile(be);
  const parts: Record<string, number> = {};
  for (const sp of spans) parts[sp.label] = (parts[sp.label] ?? 0) + sp.ms / iters;
  return { ms, gpuMs: spans.reduce((a, s) => a + s.ms, 0) / iters, parts };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SCHEMA, 'bench scan');
  if (args.help) {
    process.stdout.write(formatHelp('bench scan', 'ssmv bench scan [--shapes BxKxDxNxL,...] [--iters 10] [--modes unfused,fused]', SCHEMA));
    return 0;
  }
  const info = await setBackend(args.values.backend as string);
  const shapes = (args.values.shapes as string[]).map(parseShape);
  const modes = args.values.modes as string[];
  for (const m of modes) if (m !== 'unfused' && m !== 'fused') throw new UsageError(`modes: '${m}' is not unfused or fused`);
  const iters = args.values.iters as number;
  const warmup = args.values.warmup as number;
  const device = info.adapter ? `${info.adapter.vendor} ${info.adapter.architecture} ${info.adapter.description}`.trim() : info.backend;
  process.stdout.write(`selective scan, backend ${info.backend} (${device}), fp32, softplus + bias + D, ${iters} iterations after ${warmup} warmup round(s)\n`);
  process.stdout.write('ms: wall clock per call (GPU completion included); GPU ms: timestamps around our dispatches; GB/s: minimum bytes / wall ms\n');
  process.stdout.write(`${'shape'.padEnd(22)} ${'path'.padEnd(8)} ${'fwd ms'.padStart(9)} ${'GPU ms'.padStart(9)} ${'fwd GB/s'.padStart(9)} ${'f+b ms'.padStart(9)} ${'GPU ms'.padStart(9)} ${'f+b GB/s'.padStart(9)}\n`);
  const configs = parseConfigs(args.values.configs as string);
  const passes = args.values.passes as string[];
  for (const p of passes) if (p !== 'fwd' && p !== 'fb') throw new UsageError(`passes: '${p}' is not fwd or fb`);
  const none = { ms: NaN, gpuMs: null, parts: {} as Record<string, number> };
  for (const sh of shapes) {
    for (const mode of modes) {
      const label = `B${sh.B} K${sh.K} D${sh.D} N${sh.N} L${sh.L}`;
      let s: ReturnType<typeof setup> | undefined;
      try {
        s = setup(sh, mode === 'fused');
        const { g, named, dy } = s;
        const attrs = { ...g } as unknown as tf.NamedAttrMap;
        const fwd = () => tf.engine().runKernel(SCAN_KERNEL, named, attrs) as Tensor[];
        const fwdBwd = () => {
          const [y, states] = tf.engine().runKernel(SCAN_KERNEL, named, attrs) as Tensor[];
          const grads = tf.engine().runKernel(SCAN_GRAD_KERNEL, { ...named, states, dy }, attrs) as Tensor[];
          const dParams = tf.sum(grads[4], 0); // what the registered gradient adds: the batch sum of dA/dD/dDeltaBias
          tf.dispose([y, states, grads[4]]);
          return [grads[0], ...grads.slice(1, 4), dParams];
        };
        const be = tf.getBackend() === 'webgpu' ? tf.backend() : null;
        for (const env of configs) {
          const name = Object.entries(env).map(([k, v]) => `${k.replace(/^SSMV_SCAN_/, '')}=${v}`).join(' ');
          try {
            const [f, fb] = await withEnv(env, async () => [
              passes.includes('fwd') ? await time(fwd, warmup, iters, be) : none,
              passes.includes('fb') ? await time(fwdBwd, warmup, iters, be) : none,
            ]);
            const gbs = (bytes: number, ms: number) => { if (!Number.isFinite(ms)) return '-'; const v = bytes / ms / 1e6; return v >= 100 ? v.toFixed(0) : v.toPrecision(3); };
            const msText = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(3) : '-');
            const gpu = (ms: number | null) => (ms === null ? '-' : ms.toFixed(3));
            process.stdout.write(
              `${label.padEnd(22)} ${mode.padEnd(8)} ${msText(f.ms).padStart(9)} ${gpu(f.gpuMs).padStart(9)} ${gbs(s.fwdBytes, f.ms).padStart(9)} ` +
                `${msText(fb.ms).padStart(9)} ${gpu(fb.gpuMs).padStart(9)} ${gbs(s.fwdBytes + s.bwdBytes, fb.ms).padStart(9)}${name ? `  ${name}` : ''}\n`,
            );
            if (args.values.breakdown) {
              const parts = (p: Record<string, number>) => Object.entries(p).map(([k, v]) => `${k.replace(/^SelectiveScan/, '')} ${v.toFixed(3)}`).join(', ');
              process.stdout.write(`${''.padEnd(31)} fwd: ${parts(f.parts)} | f+b: ${parts(fb.parts)}\n`);
            }
            if (args.values.json) {
              process.stdout.write(JSON.stringify({ shape: sh, mode, env, fwdMs: f.ms, fwdGpuMs: f.gpuMs, fwdBwdMs: fb.ms, fwdBwdGpuMs: fb.gpuMs, fwdParts: f.parts, fwdBwdParts: fb.parts, fwdBytes: s.fwdBytes, bwdBytes: s.bwdBytes, device }) + '\n');
            }
          } catch (e) {
            if (e instanceof UsageError) throw e;
            process.stdout.write(`${label.padEnd(22)} ${mode.padEnd(8)} failed: ${(e as Error).message}${name ? `  ${name}` : ''}\n`);
          }
        }
      } catch (e) {
        if (e instanceof UsageError) throw e;
        process.stdout.write(`${label.padEnd(22)} ${mode.padEnd(8)} failed: ${(e as Error).message}\n`);
      } finally {
        if (s) tf.dispose([...Object.values(s.named), s.dy]);
      }
    }
  }
  return 0;
}
