// Checkpoint callback: `last` after every epoch (and on Ctrl-C, mid-epoch), `best` when the epoch's
// fitness (top-1 of the model or its EMA) improves, `epoch<N>` every save_period epochs. A NaN stop
// saves nothing, so the last good checkpoint stays.
import { join } from 'node:path';
import { globalRng } from '../../core/rng.ts';
import type { Callback, EpochMetrics, StopReason, Trainer } from '../trainer.ts';
import { saveCheckpoint, type CheckpointMeta } from '../checkpoint.ts';
import type { ModelEma } from '../ema.ts';
import type { RunLog } from './log.ts';

export interface CheckpointOptions {
  dir: string;
  modelName: string;
  config: Record<string, unknown>;
  ema?: ModelEma | null;
  /** also keep `epoch<N>` every this many epochs (0 = never) */
  savePeriod?: number;
  log?: RunLog;
}

export class CheckpointCallback implements Callback {
  readonly name = 'checkpoint';
  private savedStep = -1;
  lastSaved: CheckpointMeta | null = null;

  constructor(readonly o: CheckpointOptions) {}

  async save(tr: Trainer, name: string, reason: CheckpointMeta['reason'], withOptimizer = true): Promise<CheckpointMeta> {
    const meta = await saveCheckpoint(join(this.o.dir, name), {
      model: tr.model,
      ema: this.o.ema ? { module: this.o.ema.module, decay: this.o.ema.opts.decay } : null,
      optimizer: withOptimizer ? tr.optimizer : null,
      meta: { model: this.o.modelName, reason, state: structuredClone(tr.state), rng: globalRng.getState(), config: this.o.config },
    });
    this.o.log?.file(`saved ${join(this.o.dir, name)} (${reason}, epoch ${tr.state.epoch}, batch ${tr.state.batch}, step ${tr.state.step})`);
    return meta;
  }

  async onEpochEnd(tr: Trainer, m: EpochMetrics): Promise<void> {
    this.lastSaved = await this.save(tr, 'last', 'epoch');
    this.savedStep = tr.state.step;
    if (tr.isBest(m)) await this.save(tr, 'best', 'best', false);
    const p = this.o.savePeriod ?? 0;
    if (p > 0 && m.epoch % p === 0) await this.save(tr, `epoch${m.epoch}`, 'epoch', false);
  }

  async onTrainEnd(tr: Trainer, reason: StopReason): Promise<void> {
    // Ctrl-C mid-epoch: save where we are (the loop stopped at an update boundary, losses read)
    if (reason === 'interrupted' && tr.state.step !== this.savedStep) {
      this.lastSaved = await this.save(tr, 'last', 'interrupt');
      this.savedStep = tr.state.step;
    }
  }
}
