/**
 * Messages between the extension host and its core worker thread (not the webview protocol). Each operation maps
 * a request to a result type; replies carry the request id. Errors travel as plain data and are rebuilt as
 * MaxqError on the host, so `isMaxqError` still tells user errors from bugs.
 */
import type { CellDetail, CellRequest, HeatmapTiles, TileRequest } from '../../protocol/messages';
import type { ExportedRecipe } from '../../core/recipe/exportRecipe';
import type { SparsifyOptions } from '../../core/sparsify/options';
import type { ModelSummary, ValidationReport } from '../../core/types';

export interface InspectRequest {
  path: string;
  pattern?: string;
  include?: string[];
  exclude?: string[];
}

export interface ValidateRequest {
  path: string;
  pattern?: string;
  include?: string[];
  exclude?: string[];
  reference?: string;
  inputs?: string;
  bnRecalibrate?: boolean;
  threads?: number;
}

export interface CoreOps {
  inspect: { req: InspectRequest; res: ModelSummary };
  validate: { req: ValidateRequest; res: ValidationReport };
  tiles: { req: { path: string } & TileRequest; res: HeatmapTiles };
  cell: { req: { path: string } & CellRequest; res: CellDetail };
  /** Writes a PyTorch recipe (and the demo data as .npy when the run uses it). */
  exportRecipe: { req: { options: SparsifyOptions; file: string; overwrite: boolean }; res: ExportedRecipe };
  /** Drop every cache of this file (it changed on disk or its editor closed). */
  forget: { req: { path: string }; res: null };
}

export type CoreOp = keyof CoreOps;

export type ToCoreWorker = { [K in CoreOp]: { id: number; op: K; req: CoreOps[K]['req'] } }[CoreOp];

export interface WorkerError {
  name: string;
  message: string;
  /** Set for MaxqError: 'usage' | 'input'. */
  kind?: 'usage' | 'input';
  stack?: string;
  /** MaxqError.details (the full list behind a summary message). */
  details?: Record<string, unknown>;
}

export type FromCoreWorker = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WorkerError };
