/**
 * The API activate() returns, for tests running in the extension host and for other extensions. Each call goes
 * through the same flow as the matching command (progress, views, Output channel, notifications on failure) and
 * resolves with the core's result, or rejects with the error the user was shown.
 */
import * as fs from 'fs';
import * as vscode from 'vscode';
import { usageError } from '../core/errors';
import type { SparsifyOptions } from '../core/sparsify/options';
import type { ModelSummary, RunSummary, ValidationReport } from '../core/types';
import { modelPathOf } from './commands/modelTarget';
import { readSettings } from './config/settings';
import { reportError } from './log/reportError';
import { Services } from './services';
import { suggestOutputPath } from './sparsify/outputName';
import { runSparsify } from './sparsify/sparsifyRunner';
import { ValidateOptions } from './validation/validationService';

/** Anything of SparsifyOptions but the model; unset fields come from the maxq.* settings. */
export type SparsifyRequest = Partial<Omit<SparsifyOptions, 'model'>>;

export interface MaxqApi {
  /** Sparsifies and resolves when the run ends. An existing output is only replaced with `overwrite: true`. */
  sparsify(model: vscode.Uri | string, options?: SparsifyRequest): Promise<RunSummary>;
  validate(model: vscode.Uri | string, options?: ValidateOptions): Promise<ValidationReport>;
  inspect(model: vscode.Uri | string): Promise<ModelSummary>;
}

function pathOf(model: vscode.Uri | string): string {
  return typeof model === 'string' ? model : modelPathOf(model);
}

export function createApi(s: Services): MaxqApi {
  return {
    async sparsify(model, options = {}) {
      const file = pathOf(model);
      const settings = readSettings();
      const pattern = options.pattern ?? settings.defaultPattern;
      const method = options.method ?? settings.defaultMethod;
      const full: SparsifyOptions = {
        epochs: settings.epochs,
        batchSize: settings.batchSize,
        ...(settings.threads > 0 ? { threads: settings.threads } : {}),
        ...options,
        model: file,
        pattern,
        method,
        out: options.out ?? suggestOutputPath(file, pattern, method, settings.outputNaming),
      };
      if (!full.overwrite && fs.existsSync(full.out)) {
        const e = usageError(`${full.out} already exists; pass overwrite: true to replace it`);
        reportError(s.log, 'Sparsify', e);
        throw e;
      }
      return runSparsify(s, full);
    },

    validate(model, options = {}) {
      return s.validation.validate(pathOf(model), options);
    },

    async inspect(model) {
      try {
        return await s.worker.call('inspect', { path: pathOf(model) });
      } catch (e) {
        reportError(s.log, 'Inspect', e);
        throw e;
      }
    },
  };
}
