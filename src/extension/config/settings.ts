/** The `maxq.*` settings, read fresh each time (the user may change them between runs). */
import * as vscode from 'vscode';
import type { MaskMethod } from '../../core/types';
import { MASK_METHODS } from '../../protocol/messages';

export interface MaxqSettings {
  defaultPattern: string;
  defaultMethod: MaskMethod;
  epochs: number;
  batchSize: number;
  /** 0 = let the core choose. */
  threads: number;
  outputNaming: string;
}

export const DEFAULT_OUTPUT_NAMING = '${name}.maxq-${n}of${m}.onnx';

export function readSettings(): MaxqSettings {
  const c = vscode.workspace.getConfiguration('maxq');
  const method = c.get<string>('defaultMethod', 'maxq') as MaskMethod;
  const positiveInt = (key: string, fallback: number, min: number) => {
    const v = c.get<number>(key, fallback);
    return Number.isInteger(v) && v >= min ? v : fallback;
  };
  return {
    defaultPattern: c.get<string>('defaultPattern', '2:4').trim() || '2:4',
    defaultMethod: MASK_METHODS.includes(method) ? method : 'maxq',
    epochs: positiveInt('epochs', 10, 0),
    batchSize: positiveInt('batchSize', 64, 1),
    threads: positiveInt('threads', 0, 0),
    outputNaming: c.get<string>('outputNaming', DEFAULT_OUTPUT_NAMING).trim() || DEFAULT_OUTPUT_NAMING,
  };
}
