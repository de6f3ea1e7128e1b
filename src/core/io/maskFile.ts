/**
 * Reading the safetensors files `maxq masks` writes, in either form of the hard masks: one byte per weight
 * (U8, the layer's shape) or bit-packed (`--pack-hard`: U8 of ceil(count / 8) bytes, metadata
 * `hard_packing` = `bits-lsb-first`). Either way the caller gets one 0/1 byte per weight.
 */
import { inputError } from '../errors';
import { unpackBits } from '../masks/packedMask';
import { readSafetensors } from './safetensors';

/** The `hard_packing` metadata value of bit-packed hard masks. */
export const HARD_PACKING_BITS = 'bits-lsb-first';

export interface MaskFileLayer {
  name: string;
  /** The weight's storage shape. */
  shape: number[];
  N: number;
  M: number;
  hard: Uint8Array;
  soft: Float32Array;
}

export interface MaskFile {
  metadata: Record<string, string>;
  layers: MaskFileLayer[];
}

export function readMaskFile(file: string): MaskFile {
  const { metadata, tensors } = readSafetensors(file);
  let listed: { name: string; shape: number[]; N: number; M: number }[];
  try {
    listed = JSON.parse(metadata.layers ?? '');
  } catch {
    throw inputError(file, "not a masks file: its metadata has no 'layers' list");
  }
  const packing = metadata.hard_packing;
  if (packing !== undefined && packing !== HARD_PACKING_BITS) throw inputError(file, `unknown hard_packing '${packing}' (this version reads '${HARD_PACKING_BITS}')`);
  const layers = listed.map((l) => {
    const hardT = tensors.get(`${l.name}.hard`);
    const softT = tensors.get(`${l.name}.soft`);
    if (!hardT || !softT) throw inputError(file, `layer '${l.name}' has no ${hardT ? 'soft' : 'hard'} mask tensor`);
    const count = l.shape.reduce((a, b) => a * b, 1);
    const hard = packing ? unpackBits(hardT.data as Uint8Array, count) : (hardT.data as Uint8Array);
    if (hard.length !== count || softT.data.length !== count) throw inputError(file, `layer '${l.name}': masks do not match its shape [${l.shape.join(', ')}]`);
    return { name: l.name, shape: l.shape, N: l.N, M: l.M, hard, soft: softT.data as Float32Array };
  });
  return { metadata, layers };
}
