/**
 * The NCHWc block size of this machine's onnxruntime CPU kernels (MLAS): 16 with AVX-512, 8 with AVX2, 0 where
 * there are no blocked kernels. Asked of onnxruntime itself rather than guessed from CPU flags: a one-conv
 * model with a constant weight of one output channel is optimised at level `all` and written out; the NCHWc
 * transformer pads that weight's output channels to one block, so the first dimension of the reordered weight
 * is the block size. Probed once per process (about 20 ms).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { buildModel, node, tensor, valueInfo } from '../onnx/builder';
import { onnx, DataType } from '../onnx/proto';
import { toNumber } from '../onnx/int64';

let probed: Promise<number> | undefined;

export function probeNchwcBlock(): Promise<number> {
  probed ??= probe().catch(() => 0); // no answer means no blocked convs: the plain graph always works
  return probed;
}

async function probe(): Promise<number> {
  const C = 64; // a multiple of every block size MLAS uses
  const model = buildModel({
    nodes: [node('Conv', ['x', 'w'], ['y'], { kernel_shape: [1, 1] })],
    inputs: [valueInfo('x', DataType.FLOAT, [1, C, 4, 4])],
    outputs: [valueInfo('y', DataType.FLOAT, null)],
    initializers: [tensor('w', [1, C, 1, 1], new Float32Array(C).fill(1))],
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-nchwc-'));
  try {
    const optimized = path.join(dir, 'optimized.onnx');
    await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', logSeverityLevel: 4, optimizedModelFilePath: optimized, intraOpNumThreads: 1 });
    const m = onnx.ModelProto.decode(fs.readFileSync(optimized));
    const conv = (m.graph?.node ?? []).find((n) => n.opType === 'Conv' && n.domain === 'com.microsoft.nchwc');
    const w = conv && (m.graph?.initializer ?? []).find((t) => t.name === conv.input?.[1]);
    const block = w?.dims?.length ? toNumber(w.dims[0]) : 0;
    return Number.isInteger(block) && block > 1 ? block : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
