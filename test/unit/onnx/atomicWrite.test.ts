import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { abortAll, commitAll, StagedFile, tempPathFor, writeFileAtomic } from '../../../src/core/io/atomicWrite';
import { tempDir } from './helpers';

describe('writeFileAtomic', () => {
  it('writes strings, bytes, and sync or async chunk sequences, replacing an existing file', async () => {
    const dir = tempDir();
    const p = path.join(dir, 'run.json');
    await writeFileAtomic(p, '{"a":1}');
    assert.equal(fs.readFileSync(p, 'utf8'), '{"a":1}');
    await writeFileAtomic(p, Uint8Array.of(1, 2, 3));
    assert.deepEqual([...fs.readFileSync(p)], [1, 2, 3]);
    await writeFileAtomic(p, [Uint8Array.of(4), Uint8Array.of(5, 6)]);
    assert.deepEqual([...fs.readFileSync(p)], [4, 5, 6]);
    await writeFileAtomic(p, (async function* () {
      yield Uint8Array.of(7);
      yield Uint8Array.of(8);
    })());
    assert.deepEqual([...fs.readFileSync(p)], [7, 8]);
    assert.deepEqual(fs.readdirSync(dir), ['run.json']);
  });

  it('leaves the old file and no temp file when producing the content fails', async () => {
    const dir = tempDir();
    const p = path.join(dir, 'masks.bin');
    fs.writeFileSync(p, 'old');
    await assert.rejects(writeFileAtomic(p, (async function* () {
      yield Uint8Array.of(1, 2);
      throw new Error('generator failed');
    })()), /generator failed/);
    assert.equal(fs.readFileSync(p, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['masks.bin']);
  });

  it('fails cleanly when the folder does not exist', async () => {
    const dir = tempDir();
    await assert.rejects(writeFileAtomic(path.join(dir, 'nope', 'x'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('names temp files .<name>.<pid>.<random>.tmp next to the target', () => {
    const t = tempPathFor('/some/dir/model.onnx');
    assert.equal(path.dirname(t), '/some/dir');
    assert.match(path.basename(t), new RegExp(`^\\.model\\.onnx\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
  });
});

describe('StagedFile', () => {
  it('commits several files together, or aborts them all', async () => {
    const dir = tempDir();
    const a = await StagedFile.create(path.join(dir, 'a'));
    const b = await StagedFile.create(path.join(dir, 'b'));
    await a.write('A');
    await b.write(Uint8Array.of(66));
    assert.equal(b.position, 1);
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')).length, 2);
    await commitAll([a, b]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'b']);
    assert.equal(fs.readFileSync(path.join(dir, 'b'), 'utf8'), 'B');

    const c = await StagedFile.create(path.join(dir, 'c'));
    const src = path.join(dir, 'a');
    const d = await StagedFile.copyOf(src, path.join(dir, 'd'));
    await c.write('C');
    await abortAll([c, d]);
    await abortAll([c, d]); // idempotent
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'b']);
  });

  it('removes the remaining temp files when a rename fails', async () => {
    const dir = tempDir();
    // Renaming a file over a non-empty directory fails.
    fs.mkdirSync(path.join(dir, 'full'));
    fs.writeFileSync(path.join(dir, 'full', 'f'), 'x');
    const bad = await StagedFile.create(path.join(dir, 'full'));
    const ok = await StagedFile.create(path.join(dir, 'ok'));
    await bad.write('x');
    await assert.rejects(commitAll([bad, ok]));
    assert.deepEqual(fs.readdirSync(dir), ['full']);
  });
});
