// The named parts of a task's loss (loss_rpn_cls, loss_mask, decode.loss_ce, ...) kept on the device
// per micro-batch and averaged once per epoch (one read), for the epoch row.
import { tf, type Tensor } from '../core/tf.ts';

export class LossParts {
  private names: string[] | null = null;
  private rows: Tensor[] = [];

  /** Called inside the loss closure: the stacked parts are kept past the gradient's tidy. */
  add(parts: Record<string, Tensor>): void {
    const names = Object.keys(parts);
    this.names ??= names;
    this.rows.push(tf.keep(tf.stack(this.names.map((n) => tf.reshape(parts[n], [])))));
  }

  /** { prefix + name: mean over the micro-batches since the last call }, then forgets them. */
  async epochMeans(prefix: string): Promise<Record<string, number>> {
    const rows = this.rows;
    this.rows = [];
    if (!rows.length || !this.names) return {};
    const mean = tf.tidy(() => tf.mean(tf.stack(rows), 0));
    tf.dispose(rows);
    const v = await mean.data(); // GPU->CPU sync: once per epoch
    mean.dispose();
    return Object.fromEntries(this.names.map((n, i) => [`${prefix}${n}`, v[i]]));
  }

  dispose(): void {
    tf.dispose(this.rows);
    this.rows = [];
  }
}
