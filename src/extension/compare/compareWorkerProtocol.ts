/** Messages between the extension host and a comparison's worker thread (not the webview protocol). */
import type { CompareProgress } from '../../core/compare/compareMethods';
import type { CompareOptions } from '../../core/compare/compareOptions';
import type { CompareReport } from '../../core/compare/compareReport';
import type { MaxqErrorKind } from '../../core/errors';

export type ToCompareWorker = { type: 'run'; options: CompareOptions } | { type: 'cancel' };

export type FromCompareWorker =
  | { type: 'progress'; progress: CompareProgress }
  | { type: 'result'; report: CompareReport }
  | { type: 'failed'; message: string; kind: MaxqErrorKind | 'internal' | 'cancelled'; stack?: string };
