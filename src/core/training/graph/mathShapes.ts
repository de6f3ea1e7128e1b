/**
 * Shape rules of the transformer math ops (Erf, Gelu, Pow, Sqrt, Exp, Log, Reciprocal, Where, ReduceMax/Min,
 * LayerNormalization) and of the comparison/logic ops that build Where conditions.
 * The helpers come from shapeHelpers.ts, not shapes.ts (which spreads these rules into `shapeRules`): either
 * file may be loaded first.
 */
import { DataType } from '../../onnx/proto';
import { attrInt, isIntType } from './onnxUtil';
import { ShapeRule, TensorInfo, binary, broadcastShapes, broadcastValues, need, normAxis, reduceShape, same } from './shapeHelpers';

const unary: ShapeRule = (node, inputs) => same(node, inputs);

/** Comparison and logic ops: broadcast, BOOL result, folded when both operands are constant integers. */
function compare(f: (x: number, y: number) => boolean): ShapeRule {
  return (node, inputs) => {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const dims = broadcastShapes(a.dims, b.dims, node);
    const value = isIntType(a.dtype) ? broadcastValues(a, b, dims, (x, y) => (f(x, y) ? 1 : 0)) : undefined;
    return [{ dims, dtype: DataType.BOOL, value }];
  };
}

/** Where(C, A, B): broadcast of all three; folded for constant integer branches (exporter shape arithmetic). */
const where: ShapeRule = (node, inputs) => {
  const c = need(node, inputs, 0);
  const a = need(node, inputs, 1);
  const b = need(node, inputs, 2);
  const dims = broadcastShapes(broadcastShapes(c.dims, a.dims, node), b.dims, node);
  let value: number[] | undefined;
  if (isIntType(a.dtype)) {
    // Two passes of the two-operand helper: NaN marks "take B" (integer values are never NaN).
    const ca = broadcastValues(c, a, dims, (x, y) => (x ? y : NaN));
    if (ca) value = broadcastValues({ dims, dtype: a.dtype, value: ca }, b, dims, (x, y) => (Number.isNaN(x) ? y : x));
  }
  return [{ dims, dtype: a.dtype, value }];
};

/** LayerNormalization: Y like X; Mean and InvStdDev keep X's rank with the normalized axes set to 1. */
const layerNorm: ShapeRule = (node, inputs) => {
  const x = need(node, inputs, 0);
  const axis = normAxis(node, attrInt(node, 'axis', -1), x.dims.length);
  const stat: TensorInfo = { dims: x.dims.map((d, i) => (i < axis ? d : 1)), dtype: DataType.FLOAT };
  return [{ dims: [...x.dims], dtype: x.dtype }, stat, { ...stat, dims: [...stat.dims] }];
};

export const mathShapeRules: Record<string, ShapeRule> = {
  Erf: unary,
  Gelu: unary,
  Sqrt: unary,
  Exp: unary,
  Log: unary,
  Reciprocal: unary,
  Pow: (node, inputs) => binary((a, b) => a ** b)(node, inputs),
  // Integer Mod takes the divisor's sign (Python's %), fmod = 1 the dividend's (C's fmod); shape arithmetic uses it.
  Mod: (node, inputs) => binary(attrInt(node, 'fmod', 0) === 1 ? (a, b) => a % b : (a, b) => ((a % b) + b) % b)(node, inputs),
  Where: where,
  ReduceMax: (node, inputs) => reduceShape(node, inputs),
  ReduceMin: (node, inputs) => reduceShape(node, inputs),
  LayerNormalization: layerNorm,
  Equal: compare((a, b) => a === b),
  Less: compare((a, b) => a < b),
  LessOrEqual: compare((a, b) => a <= b),
  Greater: compare((a, b) => a > b),
  GreaterOrEqual: compare((a, b) => a >= b),
  And: compare((a, b) => !!a && !!b),
  Or: compare((a, b) => !!a || !!b),
  Xor: compare((a, b) => !!a !== !!b),
  Not: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [{ dims: [...x.dims], dtype: DataType.BOOL, value: x.value?.map((v) => (v ? 0 : 1)) }];
  },
};
