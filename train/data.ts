// What the trainer reads: batches (datasets/types.ts `Batch`: NHWC Float32Array images, int labels,
// optional soft targets from Mixup/CutMix) in an order fixed by the seed and the epoch, so a run
// resumed at (epoch, batch) sees exactly the batches the uninterrupted run would have seen.
import type { Batch } from '../datasets/types.ts';
import { Rng } from '../core/rng.ts';

export interface BatchSource {
  /** samples per epoch */
  readonly size: number;
  readonly batchesPerEpoch: number;
  readonly numClasses: number;
  readonly classes: readonly string[];
  /** the batches of `epoch`, starting at batch `start` (resume mid-epoch) */
  batches(epoch: number, start?: number): AsyncIterable<Batch>;
  close?(): Promise<void>;
}

/** Sample order of one epoch: a permutation drawn from (seed, epoch) alone, independent of other RNG use. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  if (shuffle) new Rng([seed >>> 0, epoch >>> 0, 0x9e3779b9, 0x85ebca6b]).shuffle(order);
  return order;
}

/**
 * In-memory images (N, H, W, 3) and labels: tests, `ssmv demo`'s fallback and small experiments.
 * Training sources shuffle per epoch and drop the last partial batch (timm's train loader);
 * evaluation sources keep the order and the partial batch.
 */
export class ArraySource implements BatchSource {
  readonly size: number;
  readonly batchesPerEpoch: number;
  private readonly hw: [number, number];

  constructor(
    private readonly images: Float32Array,
    private readonly labels: Int32Array,
    shape: [number, number, number],
    readonly numClasses: number,
    private readonly opts: { batch: number; seed?: number; train?: boolean; classes?: string[] },
  ) {
    const [h, w, c] = shape;
    if (c !== 3) throw new Error(`ArraySource: images must have 3 channels, got ${c}`);
    this.size = labels.length;
    if (images.length !== this.size * h * w * 3) throw new Error(`ArraySource: ${images.length} values for ${this.size} images of ${h}x${w}x3`);
    this.hw = [h, w];
    const train = opts.train ?? true;
    if (opts.batch < 1) throw new Error(`batch must be >= 1, got ${opts.batch}`);
    if (train && opts.batch > this.size) throw new Error(`batch ${opts.batch} is larger than the dataset (${this.size} images): lower batch=`);
    this.batchesPerEpoch = train ? Math.floor(this.size / opts.batch) : Math.ceil(this.size / opts.batch);
  }

  get classes(): string[] {
    return this.opts.classes ?? Array.from({ length: this.numClasses }, (_, i) => String(i));
  }

  async *batches(epoch: number, start = 0): AsyncIterable<Batch> {
    const train = this.opts.train ?? true;
    const order = epochOrder(this.size, this.opts.seed ?? 0, epoch, train);
    const [h, w] = this.hw;
    const px = h * w * 3;
    for (let b = start; b < this.batchesPerEpoch; b++) {
      const idx = order.subarray(b * this.opts.batch, Math.min(this.size, (b + 1) * this.opts.batch));
      const images = new Float32Array(idx.length * px);
      const labels = new Int32Array(idx.length);
      idx.forEach((s, i) => {
        images.set(this.images.subarray(s * px, (s + 1) * px), i * px);
        labels[i] = this.labels[s];
      });
      yield {
        images, labels, shape: [idx.length, h, w, 3], numClasses: this.numClasses, skipped: [],
        info: [...idx].map((s) => ({ index: s, id: s, file: '' })),
      };
    }
  }
}
