/**
 * The default output path: the `maxq.outputNaming` template beside the input. Variables: ${name} (file name
 * without .onnx), ${n}, ${m}, ${method}. Pure: no vscode import.
 */
import { defaultOutputPath } from '../../core/sparsify/options';
import type { MaskMethod } from '../../core/types';

export function suggestOutputPath(model: string, pattern: string, method: MaskMethod, template: string): string {
  const normalized = pattern.replace(/\s+/g, '');
  return defaultOutputPath(model, normalized, template.replace(/\$\{method\}/g, method));
}
