import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { writeModel } from '../../../src/core/onnx/modelWriter';
import { createSession } from '../../../src/core/runtime/ortSession';
import { tinyCnn } from '../fixtures';
import { bytesFieldOf, concat, onnx, tempDir, writeFile } from './helpers';

const entry = (key: string, value: string) => bytesFieldOf(14, onnx.StringStringEntryProto.encode({ key, value }).finish());

describe('writeModel: metadata_props', () => {
  it('adds new keys after the model, replaces an existing key in place, keeps every other byte', async () => {
    const base = tinyCnn();
    const bytes = concat(base, entry('author', 'someone'), entry('maxq.method', 'old'), entry('maxq.method', 'older'));
    const dir = tempDir();
    const model = await OnnxModel.load(writeFile(dir, 'in.onnx', bytes));
    const out = path.join(dir, 'out.onnx');
    await writeModel(model, new Map(), out, { metadata: { 'maxq.method': 'maxq', 'maxq.pattern': '2:4', 'maxq.preprocessing': '1/255,0.1307,0.3081' } });
    const written = new Uint8Array(fs.readFileSync(out));
    const expected = concat(base, entry('author', 'someone'), entry('maxq.method', 'maxq'), entry('maxq.pattern', '2:4'), entry('maxq.preprocessing', '1/255,0.1307,0.3081'));
    assert.deepEqual(Buffer.from(written), Buffer.from(expected));
    const reloaded = await OnnxModel.load(out);
    const props = Object.fromEntries((reloaded.model.metadataProps ?? []).map((p) => [p.key, p.value]));
    assert.deepEqual(props, { author: 'someone', 'maxq.method': 'maxq', 'maxq.pattern': '2:4', 'maxq.preprocessing': '1/255,0.1307,0.3081' });
    const session = await createSession(out, out);
    await session.release();
  });

  it('without metadata the output is byte-identical', async () => {
    const bytes = concat(tinyCnn(), entry('k', 'v'));
    const dir = tempDir();
    const model = await OnnxModel.load(writeFile(dir, 'in.onnx', bytes));
    const out = path.join(dir, 'out.onnx');
    await writeModel(model, new Map(), out);
    assert.deepEqual(Buffer.from(fs.readFileSync(out)), Buffer.from(bytes));
  });
});
