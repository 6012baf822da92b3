// EMA callback: updates the EMA after every optimizer update (timm: model_ema.update(model,
// step=num_updates)) and evaluates it after each validation, adding the `*_ema` columns.
import type { Callback, EpochMetrics, StepInfo, Trainer } from '../trainer.ts';
import { evalColumns } from '../trainer.ts';
import { evaluate } from '../evaluate.ts';
import type { BatchSource } from '../data.ts';
import type { ModelEma } from '../ema.ts';
import type { Classifier } from '../evaluate.ts';

export class EmaCallback implements Callback {
  readonly name = 'ema';
  lastDecay = NaN;

  constructor(readonly ema: ModelEma, private readonly val?: BatchSource) {}

  onBatchEnd(_tr: Trainer, s: StepInfo): void {
    this.lastDecay = this.ema.update(s.step);
  }

  async onValEnd(_tr: Trainer, m: EpochMetrics): Promise<void> {
    if (!this.val) return;
    Object.assign(m, evalColumns(await evaluate(this.ema.module as Classifier, this.val), '_ema'));
  }
}
