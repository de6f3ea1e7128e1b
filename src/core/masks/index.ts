/** Public surface of the mask core (pure: no vscode, no I/O). */
export { NmPattern, MAX_M } from './nmPattern';
export { CanonicalWeight, canonicalWeight, assertFiniteWeight, firstNonFinite, magnitudeKeys, numel } from './canonicalWeight';
export { hardNmMask, assertGroupable } from './hardMask';
export { DenseFractionSchedule, DenseFractionScheduleOptions, SCHEDULE_KINDS } from './denseFractionSchedule';
export { blockCount, blockL1, forceDenseBlocks, numDenseBlocks } from './denseBlocks';
export { axisTerms, AxisTerms, maxqMasks, MaxqMasks, softMask, SoftMaskResult, SOFT_TAU, topkDropped, keptTerm } from './softMask';
export { computeLayerMask, LayerMask, LayerMaskOptions } from './layerMask';
export { addSrsteDecay, SRSTE_LAMBDA } from './srsteDecay';
export { foldWeights, FoldOptions } from './fold';
export { toCanonical, fromCanonical, canonicalShapeOf } from './layout';
export { MaskWorkspace, defaultWorkspace } from './workspace';
