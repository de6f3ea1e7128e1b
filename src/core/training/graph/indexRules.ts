/** Gradient rules of the indexing and resampling ops (Slice, Split, Gather, Expand, Tile, ScatterND, Resize …). */
import { GradRule } from './ruleTypes';

export const indexRules: Record<string, GradRule> = {};
