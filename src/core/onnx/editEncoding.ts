/**
 * Turns an edit (float32 values in the source tensor's layout) into values of the tensor's own data type:
 * float16/bfloat16 rounded to nearest even, float64 keeping the original double wherever the edit left the
 * value alone, integers behind DequantizeLinear re-quantized with that node's scale and zero point.
 */
import { usageError } from '../errors';
import { DataType } from './proto';
import { dataTypeName, integerRange, isFloatType, NativeArray } from './dtypes';
import type { OnnxModel } from './onnxModel';
import { sharedDequantParams, quantize } from './quantization';
import { float32ToNative } from './tensorCodec';
import type { TensorEntry } from './tensorTable';
import { shown } from './shown';

export interface EncodeOptions {
  /** Write +0 where the edit has −0 (pruned negative weights come out of W ⊙ mask as −0). */
  canonicalZeros?: boolean;
}

function withoutNegativeZeros(values: Float32Array): Float32Array {
  const out = Float32Array.from(values);
  for (let i = 0; i < out.length; i++) if (out[i] === 0) out[i] = 0;
  return out;
}

export async function encodeEdit(model: OnnxModel, e: TensorEntry, edit: Float32Array, opts: EncodeOptions): Promise<NativeArray> {
  const { name, dataType, dims, elementCount } = e.info;
  if (edit.length !== elementCount) {
    throw usageError(`edit for tensor '${shown(name)}' has ${edit.length} values but the tensor has ${elementCount} (dims [${dims.join(', ')}])`);
  }
  const values = opts.canonicalZeros ? withoutNegativeZeros(edit) : edit;
  if (isFloatType(dataType)) {
    const out = float32ToNative(dataType, values, name);
    if (dataType === DataType.DOUBLE) {
      // The analysis ran in float32; keep full double precision for every value it handed back unchanged.
      const orig = (await model.readTensor(name)).data as Float64Array;
      for (let i = 0; i < out.length; i++) if (Object.is(Math.fround(orig[i]), values[i])) out[i] = orig[i];
    }
    return out;
  }
  if (!integerRange(dataType)) throw usageError(`tensor '${shown(name)}': cannot write values of data type ${dataTypeName(dataType)}`);
  const dq = await sharedDequantParams(model, name, dims);
  return dq ? quantize(values, dims, dq, dataType, name) : float32ToNative(dataType, values, name);
}
