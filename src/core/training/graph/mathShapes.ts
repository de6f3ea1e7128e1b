/** Shape rules of the transformer math ops (Erf, Gelu, Pow, Sqrt, Exp, Log, Where, ReduceMax, LayerNormalization …). */
import type { ShapeRule } from './shapes';

export const mathShapeRules: Record<string, ShapeRule> = {};
