/** Public surface of the training-graph generator. */
export { buildTrainingGraph, resolveDataInput } from './trainingGraph';
export type { TrainingGraph, TrainingGraphOptions, TrainingParam, BnStat, ParamCandidate, ParamKind, FormulationOptions, ConvFormulation, ConvDxMode, ConvDwMode, ConvLayerInfo } from './trainingGraph';
export { findParamCandidates } from './prepare';
export { buildVjpGraph } from './vjp';
export type { VjpGraph, VjpOptions } from './vjp';
export { gradRules, hasGradRule } from './gradRules';
export type { GradRule } from './gradRules';
