/**
 * New bytes for one TensorProto (or a Constant's value_float(s)/value_int(s) attribute) whose values changed,
 * in the form the original used: raw_data stays raw_data, a typed field stays that typed field, external
 * data gets its location/offset/length entries replaced. Every other field is copied verbatim.
 */
import { protobuf } from './proto';
import { TypedField, TypedFieldName } from './dtypes';
import { bytesField, encodedField, Field, firstString, payload, Pieces, replaceFields, scanFields, stringField, WireType } from './wireFormat';

/** TensorProto field numbers used here. */
const T = { raw_data: 9, external_data: 13, data_location: 14 } as const;
/** AttributeProto field numbers of the Constant value forms. */
const A = { f: 2, i: 3, floats: 7, ints: 8 } as const;

export type TensorChange =
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'typed'; field: TypedFieldName; payload: Uint8Array }
  | { kind: 'external'; location: string; offset: number; length: number };

/** Keys of external_data we rewrite; a checksum of the old data would be wrong, so it goes too. */
const EXTERNAL_KEYS = new Set(['location', 'offset', 'length', 'checksum']);

function entry(key: string, value: string): Pieces {
  const body = new Pieces().pushAll(stringField(1, key)).pushAll(stringField(2, value));
  return bytesField(T.external_data, body);
}

export function rewriteTensor(buf: Uint8Array, change: TensorChange): Pieces {
  const fields = scanFields(buf);
  if (change.kind === 'raw') {
    return replaceFields(buf, fields, (f) => f.no === T.raw_data, bytesField(T.raw_data, change.bytes));
  }
  if (change.kind === 'typed') {
    const no = TypedField[change.field];
    return replaceFields(buf, fields, (f) => f.no === no, bytesField(no, change.payload));
  }
  const entries = new Pieces()
    .pushAll(entry('location', change.location))
    .pushAll(entry('offset', String(change.offset)))
    .pushAll(entry('length', String(change.length)));
  const isRewrittenKey = (f: Field) => {
    if (f.no !== T.external_data || f.wire !== WireType.BYTES) return false;
    const e = payload(buf, f);
    const key = firstString(e, scanFields(e), 1) ?? '';
    return EXTERNAL_KEYS.has(key);
  };
  return replaceFields(buf, fields, isRewrittenKey, entries);
}

export type AttributeForm = 'value_float' | 'value_floats' | 'value_int' | 'value_ints';

/** A Constant's value_float / value_floats / value_int / value_ints attribute with new values. */
export function rewriteValueAttribute(buf: Uint8Array, form: AttributeForm, values: ArrayLike<number | bigint>): Pieces {
  const fields = scanFields(buf);
  let field: number;
  let replacement: Pieces;
  if (form === 'value_float') {
    field = A.f;
    replacement = encodedField((w) => w.uint32((A.f << 3) | WireType.FIXED32).float(Number(values[0])));
  } else if (form === 'value_int') {
    field = A.i;
    replacement = encodedField((w) => w.uint32((A.i << 3) | WireType.VARINT).int64(Number(values[0])));
  } else {
    field = form === 'value_floats' ? A.floats : A.ints;
    const w = protobuf.Writer.create();
    for (let k = 0; k < values.length; k++) {
      if (form === 'value_floats') w.float(Number(values[k]));
      else w.int64(Number(values[k]));
    }
    replacement = bytesField(field, w.finish());
  }
  return replaceFields(buf, fields, (f) => f.no === field, replacement);
}
