/** Optimizers and learning-rate schedules for the fp32 training loop. */
export { OptimParam, decaysByDefault } from './param';
export { Optimizer, OptimizerKind, OptimizerState, saveOptimizerState, loadOptimizerState } from './state';
export { Sgd, SgdOptions } from './sgd';
export { AdamW, AdamWOptions } from './adamw';
export { LrSchedule, LrScheduleConfig, LrScheduleKind } from './lr-schedule';
