/**
 * Decoding PNG and JPEG files into planar float pixels with the channel count the model wants. Pure JS
 * decoders (pngjs, jpeg-js) so the extension needs no native image library.
 */
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { inputError } from '../errors';

export interface RgbaImage {
  width: number;
  height: number;
  /** width·height·4 bytes, row-major RGBA. */
  rgba: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/**
 * Decodes by content, not extension (a PNG saved as .jpg is common in scraped data sets). 16-bit PNGs are
 * scaled to 8 bits and gray/palette images expanded to RGBA by the decoders.
 */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  try {
    if (startsWith(bytes, PNG_MAGIC)) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: png.data };
    }
    if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (e) {
    throw inputError(file, `cannot decode image: ${(e as Error).message}`);
  }
  throw inputError(file, 'not a PNG or JPEG image');
}

/**
 * Planar C×H×W floats in 0..255 from RGBA, for C = 3 (RGB) or C = 1 (luma with the ITU-R 601 weights PIL's
 * convert('L') uses, so gray models see what torchvision would give them). Alpha is dropped, as PIL's
 * convert('RGB') does.
 */
export function toPlanar(img: RgbaImage, channels: 1 | 3): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(channels * n);
  const px = img.rgba;
  if (channels === 3) {
    for (let p = 0; p < n; p++) {
      out[p] = px[4 * p];
      out[n + p] = px[4 * p + 1];
      out[2 * n + p] = px[4 * p + 2];
    }
  } else {
    for (let p = 0; p < n; p++) out[p] = 0.299 * px[4 * p] + 0.587 * px[4 * p + 1] + 0.114 * px[4 * p + 2];
  }
  return out;
}
