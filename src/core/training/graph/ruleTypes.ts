/**
 * The shape of one gradient rule. A rule receives the forward node (already rewritten for training: explicit
 * pads, MaxPool with its Indices output, BatchNormalization in training mode with its batch-statistic
 * outputs) and the names of the gradients of its outputs (`undefined` where an output gets no gradient,
 * i.e. it is zero). It emits backward nodes into the context and returns, per forward input, the name of
 * that input's gradient, or `undefined` where none is needed (`ctx.needsGrad(input)` is false) or the
 * input is not differentiable (indices, shapes).
 */
import { onnx } from '../../onnx/proto';
import { GradContext } from './context';

export type GradRule = (ctx: GradContext, node: onnx.INodeProto, dY: readonly (string | undefined)[]) => (string | undefined)[];
