/**
 * `maxq masks` output paths (issue 11): safetensors streamed layer by layer in the storage layout, bit-packed
 * hard masks with --pack-hard, and the reader that accepts both forms.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readMaskFile, HARD_PACKING_BITS } from '../../../src/core/io/maskFile';
import { readSafetensors } from '../../../src/core/io/safetensors';
import { OnnxModel } from '../../../src/core/onnx/onnxModel';
import { discoverLayers } from '../../../src/core/layers/layerDiscovery';
import { MAXQ_BIN, mlpModel, REPO_ROOT, tempDir, tinyCnn, writeModelFile } from '../fixtures';

function maxq(args: string[]) {
  const r = spawnSync(process.execPath, [MAXQ_BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, MAXQ_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string, mlp: string, cnn: string;
before(() => {
  dir = tempDir('maxq-masks-io-');
  mlp = writeModelFile(dir, 'mlp.onnx', mlpModel());
  // Wide enough that its conv weights stay in the file when opened (> 4 KB each).
  cnn = writeModelFile(dir, 'cnn.onnx', tinyCnn({ channels: 32 }));
});

describe('maxq masks --pack-hard', () => {
  for (const [label, model, extra] of [['MatMul [in, out] storage', () => mlp, ['--include', 'W*']], ['convs', () => cnn, []]] as const) {
    it(`${label}: the packed file reads back to the same masks as the byte-per-weight file`, () => {
      const plain = path.join(dir, `${path.basename(model())}.plain.safetensors`);
      const packed = path.join(dir, `${path.basename(model())}.packed.safetensors`);
      const a = maxq(['masks', model(), '--pattern', '2:4', ...extra, '--out', plain]);
      const b = maxq(['masks', model(), '--pattern', '2:4', ...extra, '--pack-hard', '--out', packed]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stderr, /hard masks bit-packed/);
      const [p, q] = [readMaskFile(plain), readMaskFile(packed)];
      assert.equal(q.metadata.hard_packing, HARD_PACKING_BITS);
      assert.equal(p.metadata.hard_packing, undefined);
      assert.ok(p.layers.length > 0);
      assert.deepEqual(q.layers.map((l) => [l.name, l.shape]), p.layers.map((l) => [l.name, l.shape]));
      for (let i = 0; i < p.layers.length; i++) {
        assert.deepEqual(Array.from(q.layers[i].hard), Array.from(p.layers[i].hard), p.layers[i].name);
        assert.deepEqual(Array.from(q.layers[i].soft), Array.from(p.layers[i].soft), p.layers[i].name);
      }
      // On disk: an eighth of the bytes, U8 [ceil(count / 8)].
      const raw = readSafetensors(packed);
      const first = p.layers[0];
      const count = first.shape.reduce((x, y) => x * y, 1);
      const t = raw.tensors.get(`${first.name}.hard`)!;
      assert.deepEqual([t.dtype, t.shape], ['U8', [Math.ceil(count / 8)]]);
      assert.ok(fs.statSync(packed).size < fs.statSync(plain).size);
    });
  }

  it('safetensors and JSON agree on a model whose weights stay in the file while masks are computed', () => {
    const json = path.join(dir, 'cnn.json');
    const st = path.join(dir, 'cnn.safetensors');
    assert.equal(maxq(['masks', cnn, '--pattern', '2:4', '--out', json]).code, 0);
    assert.equal(maxq(['masks', cnn, '--pattern', '2:4', '--out', st]).code, 0);
    const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
    const file = readMaskFile(st);
    assert.deepEqual(file.layers.map((l) => l.name), doc.layers.map((l: { name: string }) => l.name));
    file.layers.forEach((l, i) => {
      assert.deepEqual(Array.from(l.hard), doc.layers[i].hard);
      assert.deepEqual(Array.from(l.soft), doc.layers[i].soft.map((v: number) => Math.fround(v)));
    });
  });

  it('--threads 2 and 3 (a layer per worker, buffers reused) write the same bytes as one thread, [in, out] storage included', () => {
    for (const [model, extra] of [[cnn, []], [mlp, ['--include', 'W*']]] as const) {
      for (const packHard of [[], ['--pack-hard']]) {
        const a = path.join(dir, `threads1.${path.basename(model)}.safetensors`);
        assert.equal(maxq(['masks', model, '--pattern', '2:4', ...extra, ...packHard, '--threads', '1', '--out', a]).code, 0);
        for (const threads of ['2', '3']) {
          const b = path.join(dir, `threads${threads}.${path.basename(model)}.safetensors`);
          const r = maxq(['masks', model, '--pattern', '2:4', ...extra, ...packHard, '--threads', threads, '--out', b]);
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(fs.readFileSync(b), fs.readFileSync(a), `${path.basename(model)} ${packHard.join('')} --threads ${threads}`);
        }
      }
    }
  });

  it('--pack-hard is refused for JSON output, and nothing is written', () => {
    const out = path.join(dir, 'packed.json');
    const r = maxq(['masks', mlp, '--pattern', '2:4', '--include', 'W*', '--pack-hard', '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--pack-hard is for \.safetensors output/);
    assert.ok(!fs.existsSync(out));
  });

  it('a layer failing midway (a NaN weight) leaves no output and no temp file behind', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'fail-'));
    const bytes = Uint8Array.from(fs.readFileSync(cnn));
    const m = OnnxModel.fromBytes(bytes, cnn);
    const layers = discoverLayers(m, { m: 4 }).filter((l) => l.selected);
    const last = layers[layers.length - 1];
    const raw = m.entry(last.name)!.proto.rawData as Uint8Array;
    new DataView(bytes.buffer, bytes.byteOffset + raw.byteOffset, 4).setFloat32(0, NaN, true);
    const bad = writeModelFile(sub, 'nan.onnx', bytes);
    const out = path.join(sub, 'm.safetensors');
    for (const threads of ['1', '2']) {
      const r = maxq(['masks', bad, '--pattern', '2:4', '--threads', threads, '--out', out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`layer '${last.name}'.*(NaN|finite)`), `--threads ${threads}`);
      assert.deepEqual(fs.readdirSync(sub), ['nan.onnx'], `--threads ${threads}`);
    }
  });
});
