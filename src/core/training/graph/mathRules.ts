/** Gradient rules of the transformer math ops (Erf, Gelu, Pow, Sqrt, Exp, Log, Where, ReduceMax, LayerNormalization …). */
import { GradRule } from './ruleTypes';

export const mathRules: Record<string, GradRule> = {};
