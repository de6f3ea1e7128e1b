import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ImageFolderDataset, scanImageFolder } from '../../../src/core/data/image-folder';
import { centerCropBox, resizeBilinear } from '../../../src/core/data/resize';
import { MaxqError } from '../../../src/core/errors';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'maxq-imgs-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

type Pixel = (x: number, y: number) => [number, number, number];

function rgba(w: number, h: number, px: Pixel): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      data.set([r, g, b, 255], (y * w + x) * 4);
    }
  }
  return data;
}

function writePng(file: string, w: number, h: number, px: Pixel, colorType: 0 | 2 | 6 = 6): void {
  const png = new PNG({ width: w, height: h });
  rgba(w, h, px).copy(png.data);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png, { colorType }));
}

function writeJpeg(file: string, w: number, h: number, px: Pixel): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ width: w, height: h, data: rgba(w, h, px) }, 100).data);
}

function expectError(fn: () => unknown, kind: 'input' | 'usage', pattern: RegExp, fileName?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MaxqError, `expected MaxqError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    if (fileName !== undefined) assert.equal(e.file, fileName);
    assert.match(e.message, pattern);
    return true;
  });
}

function near(actual: ArrayLike<number>, expected: number[], tol: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
}

// DIR/cat: a red RGBA PNG and an orange JPEG; DIR/dog: a gray (color type 0) PNG, in a nested folder. Plus
// files and folders that must be ignored.
const dir = path.join(root, 'pets');
writePng(path.join(dir, 'cat', 'a.png'), 4, 4, () => [255, 0, 0]);
writeJpeg(path.join(dir, 'cat', 'b.JPG'), 8, 8, () => [200, 100, 50]);
writePng(path.join(dir, 'dog', 'nested', 'c.png'), 2, 2, () => [128, 128, 128], 0);
fs.writeFileSync(path.join(dir, 'cat', 'notes.txt'), 'not an image');
fs.writeFileSync(path.join(dir, 'cat', '.DS_Store'), 'junk');
fs.mkdirSync(path.join(dir, '.ipynb_checkpoints'));
fs.writeFileSync(path.join(dir, 'README.md'), 'a file at the top level is not a class');

describe('ImageFolderDataset', () => {
  test('classes are sorted sub-folders; images found recursively; junk ignored', () => {
    const { classNames, samples } = scanImageFolder(dir);
    assert.deepEqual(classNames, ['cat', 'dog']);
    assert.deepEqual(
      samples.map((s) => [path.relative(dir, s.file), s.label]),
      [[path.join('cat', 'a.png'), 0], [path.join('cat', 'b.JPG'), 0], [path.join('dog', 'nested', 'c.png'), 1]],
    );
  });

  test('RGB model: PNG and JPEG decoded, gray expanded to RGB, resized, scaled to [0, 1]', () => {
    const ds = new ImageFolderDataset({ dir, inputShape: [3, 3, 3] });
    assert.equal(ds.count, 3);
    assert.equal(ds.numClasses, 2);
    assert.equal(ds.hasLabels, true);
    assert.deepEqual(ds.inputShape, [3, 3, 3]);
    const b = ds.getBatch([0, 1, 2]);
    assert.equal(b.inputs.length, 3 * 27);
    assert.deepEqual(b.labels, BigInt64Array.from([0n, 0n, 1n]));
    const plane = (s: number, c: number) => Array.from(b.inputs.subarray(s * 27 + c * 9, s * 27 + (c + 1) * 9));
    near(plane(0, 0), Array(9).fill(1), 1e-6); // red PNG 4×4 → 3×3
    near(plane(0, 1), Array(9).fill(0), 1e-6);
    near(plane(1, 0), Array(9).fill(200 / 255), 3 / 255); // JPEG is lossy even at quality 100
    near(plane(1, 1), Array(9).fill(100 / 255), 3 / 255);
    near(plane(1, 2), Array(9).fill(50 / 255), 3 / 255);
    for (let c = 0; c < 3; c++) near(plane(2, c), Array(9).fill(128 / 255), 1e-6); // gray 2×2 → 3×3 RGB
  });

  test('gray model: RGB converted with the ITU-R 601 luma weights, normalised', () => {
    const ds = new ImageFolderDataset({ dir, inputShape: [1, 2, 2], normalization: '1/255,0.5,0.25' });
    const b = ds.getBatch([0, 2]);
    near(b.inputs, [...Array(4).fill((0.299 - 0.5) / 0.25), ...Array(4).fill((128 / 255 - 0.5) / 0.25)], 1e-5);
  });

  test('a gradient is resized with PIL-style bilinear filtering', () => {
    const d = path.join(root, 'gradient');
    writePng(path.join(d, 'only', 'g.png'), 4, 1, (x) => [x * 10, x * 10, x * 10]);
    const ds = new ImageFolderDataset({ dir: d, inputShape: [1, 1, 2], normalization: '1,0,1' });
    // PIL: Image.fromarray([[0, 10, 20, 30]]).resize((2, 1), BILINEAR) weights taps 0.75/0.75/0.25 (support 2).
    near(ds.getBatch([0]).inputs, [12.5 / 1.75, 40 / 1.75], 1e-4);
  });

  test("fit: 'crop' takes the centred region with the model's aspect ratio", () => {
    const d = path.join(root, 'wide');
    writePng(path.join(d, 'k', 'w.png'), 4, 2, (x) => [10 * (x + 1), 0, 0]);
    const crop = new ImageFolderDataset({ dir: d, inputShape: [3, 2, 2], fit: 'crop', normalization: '1,0,1' });
    near(crop.getBatch([0]).inputs.subarray(0, 4), [20, 30, 20, 30], 1e-4);
    const stretch = new ImageFolderDataset({ dir: d, inputShape: [3, 2, 2], normalization: '1,0,1' });
    near(stretch.getBatch([0]).inputs.subarray(0, 4), [(10 * 0.75 + 20 * 0.75 + 30 * 0.25) / 1.75, (20 * 0.25 + 30 * 0.75 + 40 * 0.75) / 1.75, (10 * 0.75 + 20 * 0.75 + 30 * 0.25) / 1.75, (20 * 0.25 + 30 * 0.75 + 40 * 0.75) / 1.75], 1e-4);
  });

  test('decoded samples are cached; without the cache every batch re-reads the file', () => {
    const d = path.join(root, 'cache');
    const f = path.join(d, 'x', 'one.png');
    writePng(f, 2, 2, () => [10, 20, 30]);
    const cached = new ImageFolderDataset({ dir: d, inputShape: [3, 2, 2] });
    const uncached = new ImageFolderDataset({ dir: d, inputShape: [3, 2, 2], cacheBytes: 0 });
    const first = cached.getBatch([0]).inputs;
    uncached.getBatch([0]);
    fs.rmSync(f);
    assert.deepEqual(cached.getBatch([0]).inputs, first);
    expectError(() => uncached.getBatch([0]), 'input', /cannot read image/, f);
  });

  test('a PNG named .jpg is decoded by content', () => {
    const d = path.join(root, 'misnamed');
    const f = path.join(d, 'c', 'really-a-png.jpg');
    writePng(f, 1, 1, () => [0, 255, 0]);
    const ds = new ImageFolderDataset({ dir: d, inputShape: [3, 1, 1] });
    near(ds.getBatch([0]).inputs, [0, 1, 0], 1e-6);
  });
});

describe('ImageFolderDataset errors', () => {
  test('unreadable image names the file', () => {
    const d = path.join(root, 'broken');
    writePng(path.join(d, 'a', 'ok.png'), 1, 1, () => [1, 2, 3]);
    const bad = path.join(d, 'a', 'zz-bad.png');
    fs.writeFileSync(bad, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('garbage')]));
    const notImage = path.join(d, 'a', 'zz-text.jpeg');
    fs.writeFileSync(notImage, 'hello');
    const ds = new ImageFolderDataset({ dir: d, inputShape: [3, 1, 1] });
    ds.getBatch([0]);
    expectError(() => ds.getBatch([1]), 'input', /cannot decode image/, bad);
    expectError(() => ds.getBatch([2]), 'input', /not a PNG or JPEG image/, notImage);
  });

  test('missing folder, no class folders, empty class folder', () => {
    const missing = path.join(root, 'does-not-exist');
    expectError(() => new ImageFolderDataset({ dir: missing, inputShape: [3, 8, 8] }), 'input', /image folder not found/, missing);
    const flat = path.join(root, 'flat');
    writePng(path.join(flat, 'x.png'), 1, 1, () => [0, 0, 0]);
    expectError(() => new ImageFolderDataset({ dir: flat, inputShape: [3, 8, 8] }), 'input', /no class sub-folders/, flat);
    const emptyClass = path.join(root, 'empty-class');
    writePng(path.join(emptyClass, 'a', 'x.png'), 1, 1, () => [0, 0, 0]);
    fs.mkdirSync(path.join(emptyClass, 'b'));
    expectError(() => new ImageFolderDataset({ dir: emptyClass, inputShape: [3, 8, 8] }), 'input', /no PNG or JPEG images/, path.join(emptyClass, 'b'));
  });

  test('models that are not 1- or 3-channel, or have no fixed size', () => {
    expectError(() => new ImageFolderDataset({ dir, inputShape: [4, 8, 8] }), 'usage', /1- or 3-channel/);
    expectError(() => new ImageFolderDataset({ dir, inputShape: [3, 0, 8] }), 'usage', /height and width/);
  });
});

describe('resizeBilinear', () => {
  test('upscaling is half-pixel bilinear with edge clamping', () => {
    near(resizeBilinear(Float32Array.from([0, 10]), 1, 1, 2, 1, 4), [0, 2.5, 7.5, 10], 1e-6);
  });

  test('downscaling widens the filter (antialiasing)', () => {
    near(resizeBilinear(Float32Array.from([0, 10, 20, 30]), 1, 1, 4, 1, 2), [12.5 / 1.75, 40 / 1.75], 1e-5);
  });

  test('same size is a copy; a constant image stays constant; planes are independent', () => {
    const src = Float32Array.from([1, 2, 3, 4]);
    assert.deepEqual(resizeBilinear(src, 1, 2, 2, 2, 2), src);
    const two = new Float32Array(2 * 5 * 7);
    two.fill(3, 0, 35);
    two.fill(-1, 35);
    const out = resizeBilinear(two, 2, 5, 7, 3, 4);
    near(out, [...Array(12).fill(3), ...Array(12).fill(-1)], 1e-5);
  });

  test('centre-crop box keeps the target aspect ratio', () => {
    assert.deepEqual(centerCropBox(2, 4, 2, 2), { x0: 1, y0: 0, x1: 3, y1: 2 });
    assert.deepEqual(centerCropBox(10, 4, 1, 2), { x0: 0, y0: 4, x1: 4, y1: 6 });
  });
});
