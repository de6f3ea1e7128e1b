/**
 * What the optimizers update: named fp32 tensors with their gradients, shared by reference with the trainer
 * (which copies them to and from the ONNX Runtime training graph). Updates happen in place, so a step
 * allocates nothing after the first.
 */

export interface OptimParam {
  /** Stable identifier (the ONNX initializer name); optimizer state is keyed by it. */
  readonly name: string;
  /** The weights, updated in place. */
  readonly data: Float32Array;
  /** ∂L/∂data for this step, plus anything the caller adds first (the SR-STE decay of spec §6). Not modified. */
  readonly grad: Float32Array;
  /** Whether weight decay applies: true for weights with ndim > 1, false for biases and BatchNorm (spec §9). */
  readonly decay: boolean;
}

/** The reference recipe's rule: decay conv/linear weights (ndim > 1), never biases or BatchNorm scales/shifts. */
export function decaysByDefault(shape: readonly number[]): boolean {
  return shape.length > 1;
}

export function checkParam(p: OptimParam): void {
  if (p.grad.length !== p.data.length) {
    throw new Error(`gradient of '${p.name}' has ${p.grad.length} elements, the parameter ${p.data.length}`);
  }
}
