// Learning-rate schedule stepped per optimizer update: timm's CosineLRScheduler as VMamba builds it
// (classification/utils/lr_scheduler.py: t_in_epochs=False, warmup_prefix=True, cycle_limit=1):
//   t < warmupSteps : lr = warmupLr + t * (baseLr - warmupLr) / warmupSteps
//   otherwise       : u = t - warmupSteps;  lr = minLr + 0.5 (baseLr - minLr) (1 + cos(pi u / decaySteps))
//                     and minLr once u >= decaySteps (past the single cycle).
// Update t (0-based) uses lr(t), as timm's train.py (step_update(num_updates) after each update).

export interface CosineSchedule {
  kind: 'cosine';
  baseLr: number;
  /** lr at t = 0 of the linear warmup (timm warmup_lr_init) */
  warmupLr: number;
  minLr: number;
  warmupSteps: number;
  /** cosine length after the warmup (timm t_initial with warmup_prefix) */
  decaySteps: number;
}

export interface ConstantSchedule {
  kind: 'constant';
  baseLr: number;
  warmupLr: number;
  warmupSteps: number;
}

/** mmdet's 1x/3x: linear warmup (LinearLR by iteration), then baseLr * gamma^(milestones passed) (MultiStepLR). */
export interface MultiStepSchedule {
  kind: 'multistep';
  baseLr: number;
  warmupLr: number;
  warmupSteps: number;
  /** updates at which the lr is multiplied by gamma (epoch milestones x updates per epoch) */
  milestones: number[];
  gamma: number;
}

/** mmseg's schedules: linear warmup, then (baseLr - minLr) * (1 - u / decaySteps)^power + minLr (PolyLR). */
export interface PolySchedule {
  kind: 'poly';
  baseLr: number;
  warmupLr: number;
  warmupSteps: number;
  decaySteps: number;
  power: number;
  minLr: number;
}

export type LrSchedule = CosineSchedule | ConstantSchedule | MultiStepSchedule | PolySchedule;

export function lrAt(s: LrSchedule, t: number): number {
  if (t < s.warmupSteps) return s.warmupLr + (t * (s.baseLr - s.warmupLr)) / s.warmupSteps;
  if (s.kind === 'constant') return s.baseLr;
  if (s.kind === 'multistep') return s.baseLr * s.gamma ** s.milestones.filter((m) => t >= m).length;
  if (s.kind === 'poly') return (s.baseLr - s.minLr) * Math.max(0, 1 - (t - s.warmupSteps) / s.decaySteps) ** s.power + s.minLr;
  const u = t - s.warmupSteps;
  if (u >= s.decaySteps) return s.minLr;
  return s.minLr + 0.5 * (s.baseLr - s.minLr) * (1 + Math.cos((Math.PI * u) / s.decaySteps));
}

/** VMamba's build_scheduler: epochs -> steps with `stepsPerEpoch` optimizer updates per epoch. */
export function cosineFromEpochs(o: { lr: number; warmupLr: number; minLr: number; epochs: number; warmupEpochs: number; stepsPerEpoch: number }): CosineSchedule {
  const total = Math.floor(o.epochs * o.stepsPerEpoch);
  const warmupSteps = Math.floor(o.warmupEpochs * o.stepsPerEpoch);
  if (warmupSteps >= total && total > 0) {
    throw new Error(`warmup_epochs (${o.warmupEpochs}) must be smaller than epochs (${o.epochs}): lower warmup_epochs=`);
  }
  return { kind: 'cosine', baseLr: o.lr, warmupLr: o.warmupLr, minLr: o.minLr, warmupSteps, decaySteps: Math.max(1, total - warmupSteps) };
}
