/**
 * Working copies of a model for onnxruntime: the model with some tensors replaced (folded weights, BN
 * statistics) and optionally its graph rewritten (extra outputs for statistics). These never become outputs;
 * the user's files are written only by modelWriter.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../onnx/onnxModel';
import { encodeEdit } from '../onnx/editEncoding';
import { nativeToRaw } from '../onnx/tensorCodec';
import { onnx } from '../onnx/proto';
import { createSession, ort, SessionOptions } from './ortSession';

function tensorsByName(model: onnx.ModelProto): Map<string, onnx.ITensorProto> {
  const out = new Map<string, onnx.ITensorProto>();
  for (const t of model.graph?.initializer ?? []) if (t.name) out.set(t.name, t);
  for (const n of model.graph?.node ?? []) {
    if (n.opType !== 'Constant') continue;
    const value = (n.attribute ?? []).find((a) => a.name === 'value');
    if (value?.t && n.output?.[0]) out.set(n.output[0], value.t);
  }
  return out;
}

/**
 * A fresh decoded copy of the model (its bytes as loaded, or as rewritten in memory: untied tensors) with
 * `edits` stored inline as raw_data in each tensor's own dtype.
 */
export async function derivedModelProto(model: OnnxModel, edits: Map<string, Float32Array>): Promise<onnx.ModelProto> {
  const copy = onnx.ModelProto.decode(model.bytes);
  const tensors = tensorsByName(copy);
  for (const [name, values] of edits) {
    const entry = model.entry(name);
    const target = tensors.get(name);
    if (!entry || !target) throw new Error(`internal: no tensor '${name}' to edit in ${model.path}`);
    target.rawData = nativeToRaw(await encodeEdit(model, entry, values, {}));
    target.floatData = [];
    target.int32Data = [];
    target.int64Data = [];
    target.doubleData = [];
    target.externalData = [];
    target.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
  return copy;
}

/**
 * An InferenceSession for a derived model. Tensors left in external data are resolved relative to the
 * original model, so such a model is staged as a hidden temp file beside it for the moment ORT loads it.
 */
export async function derivedSession(model: OnnxModel, proto: onnx.ModelProto, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = onnx.ModelProto.encode(proto).finish();
  if (!model.hasExternalData) return createSession(bytes, model.path, opts);
  const staged = path.join(path.dirname(model.path), `.maxq-stage-${process.pid}-${crypto.randomBytes(4).toString('hex')}.onnx`);
  await fs.promises.writeFile(staged, bytes);
  try {
    return await createSession(staged, model.path, opts);
  } finally {
    await fs.promises.rm(staged, { force: true });
  }
}
