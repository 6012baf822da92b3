// Sample order per epoch: a seeded shuffle (same seed and epoch, same order, on every machine), then
// sharding by (rank, worldSize) as torch's DistributedSampler: every rank gets ceil(n / world)
// indices, the tail padded by repeating the start (or, with dropLast, the set truncated to a
// multiple of worldSize), rank r taking positions r, r + world, ...; then batches.
import { Rng } from '../core/rng.ts';

/** A 32-bit hash of several integers (murmur3 finaliser per word): per-epoch / per-item seeds. */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    let k = Math.imul(x >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface SamplerOptions {
  length: number;
  shuffle: boolean;
  seed: number;
  rank?: number;
  worldSize?: number;
  /** truncate instead of pad when sharding (and drop the last partial batch) */
  dropLast?: boolean;
}

/** This rank's sample indices for `epoch`, in order. */
export function epochIndices(o: SamplerOptions, epoch: number): Int32Array {
  const world = o.worldSize ?? 1, rank = o.rank ?? 0;
  if (!Number.isInteger(world) || world < 1) throw new Error(`worldSize must be a positive integer, got ${world}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= world) throw new Error(`rank must be in [0, ${world - 1}], got ${rank}`);
  const n = o.length;
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  if (o.shuffle) new Rng(mixSeed(o.seed, epoch)).shuffle(all);
  if (world === 1 || n === 0) return all;
  const perRank = o.dropLast ? Math.floor(n / world) : Math.ceil(n / world);
  const out = new Int32Array(perRank);
  for (let k = 0; k < perRank; k++) out[k] = all[(rank + k * world) % n];
  return out;
}

/** Splits indices into batches; the last partial batch is kept unless `dropLast`. */
export function toBatches(indices: Int32Array, batchSize: number, dropLast: boolean): Int32Array[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const out: Int32Array[] = [];
  for (let i = 0; i < indices.length; i += batchSize) {
    const b = indices.subarray(i, Math.min(i + batchSize, indices.length));
    if (b.length < batchSize && dropLast) break;
    out.push(b);
  }
  return out;
}
