/** Shape rules of the indexing and resampling ops (Split, Expand, Tile, ScatterND, Resize …). */
import type { ShapeRule } from './shapes';

export const indexShapeRules: Record<string, ShapeRule> = {};
