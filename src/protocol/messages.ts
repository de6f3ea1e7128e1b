/**
 * The one message protocol between the extension host and the webviews. Every message is a member of a
 * discriminated union (field `type`), one union per direction per view. Both sides import these types: the host
 * from src/extension, the webview bundles through esbuild. Types only — nothing here runs.
 *
 * Naming: `XToWebview` = host → webview, `XToHost` = webview → host. Replies to a request carry its `requestId`
 * so a webview can drop answers that a newer request has made stale.
 */
import type {
  LayerOp,
  LayerValidation,
  MaskMethod,
  ModelSummary,
  RunEvent,
  RunSummary,
  ScheduleKind,
  ValidationReport,
  Violation,
} from '../core/types';

import type { PreprocessChoice } from './preprocessing';

export type { PreprocessChoice };
export type { LayerOp, LayerValidation, MaskMethod, ModelSummary, RunEvent, RunSummary, ScheduleKind, ValidationReport, Violation };

/** The numeric check's judgement of a written model (ValidationReport and RunSummary `numeric.verdict.kind`). */
export type NumericVerdictKind = NonNullable<ValidationReport['numeric']>['verdict']['kind'];

/** What every view's `#status` element reads. Tests wait for DONE or ERROR. */
export type ViewStatus = 'LOADING' | 'RUNNING' | 'DONE' | 'ERROR';

export const MASK_METHODS: readonly MaskMethod[] = ['maxq', 'srste', 'magnitude'];
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['linear', 'cubic', 'cos', 'exp'];
export const COMMON_PATTERNS: readonly string[] = ['2:4', '1:4', '3:4', '4:8', '2:8', '1:8', '8:16', '4:16'];

/** A model's graph inputs and outputs, as shown in the views' headers. */
export type TensorSignature = ModelSummary['inputs'][number];

/**
 * A model's BatchNorm situation for one pattern's layer selection, as the views show it: inspect's
 * BatchNormSummary with the skipped layers counted, not listed.
 */
export interface BatchNormInfo {
  /** BatchNormalization nodes in the graph. */
  nodes: number;
  /** Selected layers with no BatchNorm after them. */
  bnFree: number;
  /** Of those, how many a run with data normalises for the run and folds back. */
  normalisable: number;
  /** BN-free selected layers a run leaves as they are. */
  skipped: number;
  /** The export folded BatchNorm into the layers (BN-free layers and no BatchNorm node left). */
  folded: boolean;
  /** The core's line on what a run does about it; null when every selected layer has its BatchNorm. */
  message: string | null;
}

/**
 * What follows a layer, for a run's BatchNorm handling: a BatchNorm ('after'); none, and a run with data can
 * normalise it and fold that back ('normalisable'); none, and a run leaves it as it is ('left', see bnReason).
 */
export type LayerBnStatus = 'after' | 'normalisable' | 'left';

// ─────────────────────────────────────────── Sparsify form ───────────────────────────────────────────

/** 'distil' trains against the dense model's own outputs on unlabelled .npy inputs (`npyInputs`, labels ignored). */
export type DataKind = 'mnist-demo' | 'npy' | 'images' | 'distil';
export type PathField = 'npyInputs' | 'npyLabels' | 'imagesDir' | 'valInputs' | 'valLabels' | 'valDir' | 'output';
/** Validation data: a seeded share of the training data ('holdout', `valPercent`) or separate files ('separate'). */
export type ValidationKind = 'holdout' | 'separate';
export type OptimizerChoice = 'default' | 'sgd' | 'adamw';

export interface SparsifyFormValues {
  pattern: string;
  method: MaskMethod;
  epochs: number;
  batchSize: number;
  /** null: the core's default learning rate. */
  lr: number | null;
  optimizer: OptimizerChoice;
  schedule: ScheduleKind;
  decayStart: number;
  decayEnd: number;
  bnRecalibrate: boolean;
  /** Normalise selected layers without BatchNorm for the run, folded back at export (SparsifyOptions.normalise). */
  normalise: boolean;
  /** The data sanity check before the run (SparsifyOptions.sanityCheck): dense accuracy under the chosen preprocessing. */
  sanityCheck: boolean;
  dataKind: DataKind;
  npyInputs: string;
  npyLabels: string;
  imagesDir: string;
  /**
   * Input preprocessing of .npy and image-folder data (DataSpec.normalize; see src/protocol/preprocessing.ts);
   * the custom fields hold SCALE, MEAN and STD as typed (per-channel lists separated by ':'). The MNIST demo's
   * preprocessing is fixed.
   */
  preprocess: PreprocessChoice;
  customScale: string;
  customMean: string;
  customStd: string;
  /** Validation data of .npy and image-folder data (the MNIST demo has its fixed test split). */
  valKind: ValidationKind;
  /** Share of the training data held out with 'holdout', in percent (SparsifyOptions.valFraction · 100); NaN or null when mistyped. */
  valPercent: number;
  /** 'separate': validation inputs and labels (.npy), or the validation image folder. */
  valInputs: string;
  valLabels: string;
  valDir: string;
  output: string;
  /** Overrides of the layer policy, by layer name. */
  include: string[];
  exclude: string[];
}

/** One row of the form's policy table. */
export interface PolicyLayerRow {
  name: string;
  op: LayerOp;
  shape: number[];
  params: number;
  eligible: boolean;
  /** Selected by the policy alone (before the form's overrides). */
  selected: boolean;
  reason?: string;
  /** BatchNorm after the layer, or what a run does without one (eligible layers; ineligible ones: 'after' or 'left'). */
  bn?: LayerBnStatus;
  /** Why a run leaves this BN-free layer as it is (bn 'left' of an eligible layer). */
  bnReason?: string;
}

export type SparsifyFormToWebview =
  | {
      type: 'init';
      modelPath: string;
      modelName: string;
      inputs: TensorSignature[];
      /** The model's default-domain opset (one-shot BatchNorm re-estimation needs 14). */
      opset: number;
      defaults: SparsifyFormValues;
    }
  /** batchNorm is for the policy's selection; the form recounts it for the selection with its overrides. */
  /** linearFallback: how many linear layers are selected because the model has no eligible conv (transformers). */
  | { type: 'layers'; requestId: number; pattern: string; layers: PolicyLayerRow[]; batchNorm: BatchNormInfo; linearFallback: number }
  | { type: 'layersFailed'; requestId: number; pattern: string; message: string }
  | { type: 'outputSuggested'; requestId: number; path: string }
  | { type: 'pathPicked'; field: PathField; path: string }
  /** The run was not started (invalid values, overwrite declined); the form stays open. */
  | { type: 'runRejected'; message: string }
  /** The model itself cannot be read: the form cannot be used. */
  | { type: 'fatal'; message: string }
  /** The recipe was written (path and the torchrun command to copy), or why not. */
  | { type: 'recipeExported'; path: string; command: string; multiNode: string }
  | { type: 'recipeRejected'; message: string };

export type SparsifyFormToHost =
  | { type: 'ready' }
  | { type: 'requestLayers'; requestId: number; pattern: string }
  | { type: 'suggestOutput'; requestId: number; pattern: string; method: MaskMethod }
  /** `values`: the form's current values (the dialog opens beside the field's path or a related one). */
  | { type: 'pickPath'; field: PathField; values: SparsifyFormValues }
  | { type: 'run'; values: SparsifyFormValues }
  /** Write the form's fine-tune as a PyTorch recipe (maxq-recipe.json) for torchrun. */
  | { type: 'exportRecipe'; values: SparsifyFormValues }
  | { type: 'close' };

// ─────────────────────────────────────────── Layer inspector ─────────────────────────────────────────

/** Heatmap geometry of one layer: rows = output channels, columns = kernel position × input channel. */
export interface HeatmapGridInfo {
  rows: number;
  cols: number;
  inputChannels: number;
  kh: number;
  kw: number;
}

/** Per-layer result of the pattern check, merged into the inspector's table. */
export interface LayerCheck {
  status: LayerValidation['status'];
  zeroFraction: number | null;
  /** "2:4", or null when no N:M with M in 4, 8, 16 holds. */
  detected: string | null;
  violatingGroups: number | null;
  totalGroups: number | null;
  reason?: string;
}

export interface InspectorLayerRow {
  index: number;
  name: string;
  nodeName: string;
  op: LayerOp;
  storageShape: number[];
  canonicalShape: [number, number, number, number];
  params: number;
  eligible: boolean;
  selected: boolean;
  reason?: string;
  /** A BatchNormalization normalises the layer's output channels; absent when not known. */
  bnAfter?: boolean;
  grid: HeatmapGridInfo;
}

export interface InspectorModelInfo {
  file: string;
  fileName: string;
  irVersion: number;
  opset: number;
  producer: string;
  nodeCount: number;
  paramCount: number;
  hasExternalData: boolean;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  /** For the pattern the inspector opened with; a 'layers' answer brings the one for a new pattern. */
  batchNorm: BatchNormInfo;
}

/** |w|, the MaxQ soft mask H⊙(1+F+P), or the hard mask (kept vs pruned). */
export type HeatmapMode = 'magnitude' | 'soft' | 'kept';
/** How a tile that covers several weights summarises them. */
export type TileAggregate = 'max' | 'mean';

/**
 * What a tile's value is: |w| (max or mean over the tile), the soft mask (max or mean), the fraction of kept
 * weights, or — when every tile keeps exactly the same fraction (2:4 on tiles of whole blocks is 50 % everywhere) —
 * the share of the tile's |w| that the mask keeps, Σ|w|·H / Σ|w|.
 */
export type TileQuantity = 'magnitude' | 'soft' | 'keptFraction' | 'keptShare';

/** How tile values map onto the colour ramp (position t in [0, 1]). */
export type TileScale =
  /** Exact values: |w| from 0 to scaleMax on a square-root scale, the soft mask 0..scaleMax, kept 0..1. */
  | { kind: 'absolute' }
  /** Contrast stretch by quantiles of the tiles sent: lo (2nd percentile) → 0, hi (98th) → 1, clamped; mid: median. */
  | { kind: 'percentile'; lo: number; mid: number; hi: number }
  /** Kept fraction relative to N/M: target − span → 0, target → 0.5, target + span → 1, clamped. */
  | { kind: 'deviation'; target: number; span: number };

/** A rectangle of heatmap cells; fractional values are allowed in requests (the visible area). */
export interface CellRect {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
}

/**
 * The visible part of a layer, aggregated into at most maxTileRows × maxTileCols tiles. Tile (tr, tc) covers cells
 * rows [row0 + tr·tileH, +tileH) × cols [col0 + tc·tileW, +tileW), clipped to the grid.
 */
export interface HeatmapTiles {
  layer: string;
  pattern: string;
  method: MaskMethod;
  mode: HeatmapMode;
  aggregate: TileAggregate;
  row0: number;
  col0: number;
  tileH: number;
  tileW: number;
  tileRows: number;
  tileCols: number;
  /** tileRows × tileCols values, row-major. */
  values: Float32Array;
  /** Top of the absolute scale (layer max |w|, 3 or 2 for the soft mask, 1 for the kept fraction). */
  scaleMax: number;
  /** What each value is (the aggregate applies to magnitude and soft only). */
  quantity: TileQuantity;
  /** How values map to colours: absolute at one weight per tile, stretched when tiles aggregate several. */
  scale: TileScale;
  /** What one pixel of the heatmap shows, for the legend: "mean |w| of a 12×40 tile, colours by percentile". */
  pixel: string;
  /** M when the layer has a mask for the pattern (block boundaries are drawn), else 0. */
  blockWidth: number;
  /** Whole-layer mask figures; null when the layer has no mask for this pattern. */
  mask: { keptFraction: number; numBlocks: number; numDenseBlocks: number } | null;
  /** Why there is no mask (layer not eligible for the pattern), when mask is null. */
  maskUnavailable?: string;
}

/** Soft-mask class of one weight, from S = H⊙(1+F+P): 0 pruned, 1 kept, (1.5, 2] one term, above 2 both. */
export type SoftClass = 'pruned' | 'kept' | 'kept+1 term' | 'kept+2 terms';

export interface CellDetail {
  layer: string;
  row: number;
  col: number;
  /** Canonical OIHW coordinates of the weight. */
  o: number;
  i: number;
  h: number;
  w: number;
  weight: number;
  /** Block index b = ((o·Kh + h)·Kw + w)·(I/M) + g, or null when the layer has no M-blocks. */
  block: number | null;
  blockFirstChannel: number | null;
  blockWeights: number[];
  blockHard: number[] | null;
  blockSoft: number[] | null;
  hard: number | null;
  soft: number | null;
  softClass: SoftClass | null;
  maskUnavailable?: string;
}

/** Cells to outline: a violating N:M group (one row, `cols` columns). */
export interface CellHighlight {
  row: number;
  col: number;
  cols: number;
}

export type InspectorToWebview =
  /** What the host is doing before the model can be shown (reading a large file takes seconds). */
  | { type: 'progress'; text: string }
  | { type: 'model'; model: InspectorModelInfo; pattern: string; method: MaskMethod; layers: InspectorLayerRow[] }
  /** Layers recomputed for another pattern (eligibility depends on M, and so does the BatchNorm summary). */
  | { type: 'layers'; requestId: number; pattern: string; method: MaskMethod; layers: InspectorLayerRow[]; batchNorm: BatchNormInfo }
  | { type: 'checks'; pattern: string; checks: Record<string, LayerCheck> }
  | { type: 'checksFailed'; pattern: string; message: string }
  | { type: 'modelFailed'; message: string }
  | { type: 'tiles'; requestId: number; tiles: HeatmapTiles }
  | { type: 'cell'; requestId: number; cell: CellDetail }
  | { type: 'requestFailed'; requestId: number; message: string }
  /** Select a layer and (optionally) outline cells, e.g. a violating block from the validation view. */
  | { type: 'reveal'; layer: string; highlight?: CellHighlight };

export interface TileRequest {
  layer: string;
  pattern: string;
  method: MaskMethod;
  mode: HeatmapMode;
  aggregate: TileAggregate;
  view: CellRect;
  maxTileRows: number;
  maxTileCols: number;
}

export interface CellRequest {
  layer: string;
  pattern: string;
  method: MaskMethod;
  row: number;
  col: number;
}

export type InspectorToHost =
  | { type: 'ready'; pattern: string | null; method: MaskMethod | null }
  | { type: 'setPattern'; requestId: number; pattern: string; method: MaskMethod }
  | ({ type: 'requestTiles'; requestId: number } & TileRequest)
  | ({ type: 'requestCell'; requestId: number } & CellRequest)
  | { type: 'runCommand'; command: 'sparsify' | 'validate' };

// ─────────────────────────────────────────── Run dashboard ───────────────────────────────────────────

export interface DashboardSource {
  title: string;
  /** `<out>.run.json`: where the record of this run is (or will be) written. */
  recordPath: string | null;
  /** Set while the run is alive in this extension host. */
  liveRunId: string | null;
  /**
   * A run-event log (JSON lines) this dashboard follows: a run of another process, e.g. maxq_torch under
   * torchrun. Such a run cannot be cancelled from here.
   */
  logPath?: string | null;
}

export type DashboardToWebview =
  /** Replace everything shown with these events (a finished record, or a live run's buffer so far). */
  | { type: 'reset'; source: DashboardSource; live: boolean; events: RunEvent[] }
  /** New events of the live run, in order. */
  | { type: 'events'; events: RunEvent[] }
  /** The run is no longer live (finished, failed, cancelled, or lost in a window reload). */
  | { type: 'ended'; outcome: RunOutcome; message?: string }
  | { type: 'loadFailed'; message: string };

export type RunOutcome = 'completed' | 'failed' | 'cancelled' | 'interrupted';

export type DashboardToHost =
  | { type: 'ready' }
  | { type: 'cancelRun' }
  | { type: 'openOutput'; action: 'inspect' | 'validate' };

// ─────────────────────────────────────────── Validation view ─────────────────────────────────────────

export interface ValidationRequestInfo {
  modelPath: string;
  modelName: string;
  /** null: detect mode (tightest N:M per layer). */
  pattern: string | null;
  reference: string | null;
  inputs: string | null;
  bnRecalibrate: boolean;
  /** Layers checked although the policy skips them (names or globs, as `maxq validate --include`). */
  include?: string[];
  /** Layers not checked although the policy selects them. */
  exclude?: string[];
}

/**
 * What the validation view shows about each layer besides its check, by tensor name: the graph node's name
 * (torch exports name weights `onnx::Conv_629`; the node says `/layer4/layer4.0/conv2/Conv`) and whether N:M
 * can apply to it at all (a skipped eligible layer can be included).
 */
export type ValidationLayerLabels = Record<string, { nodeName: string; eligible: boolean }>;

export type ValidationToWebview =
  | { type: 'running'; request: ValidationRequestInfo }
  | { type: 'report'; request: ValidationRequestInfo; report: ValidationReport; labels?: ValidationLayerLabels }
  | { type: 'failed'; request: ValidationRequestInfo; message: string };

export type ValidationToHost =
  | { type: 'ready' }
  | { type: 'revealViolation'; layer: string; violation: Violation }
  | { type: 'revealLayer'; layer: string }
  /** `include`: layers (tensor names) to check in addition to the request's selection. */
  | { type: 'recheck'; pattern: string | null; bnRecalibrate: boolean; include?: string[] }
  | { type: 'pickReference' };

// ─────────────────────────────────────────── Persisted webview state ─────────────────────────────────

/** What the dashboard saves with vscode.setState; the panel serializer reads it back after a reload. */
export interface DashboardState {
  source: DashboardSource;
  live: boolean;
  outcome: RunOutcome | null;
  events: RunEvent[];
  showLayers: boolean;
}

/** What the validation view saves; after a reload the report is shown again without re-running. */
export interface ValidationState {
  request: ValidationRequestInfo | null;
  report: ValidationReport | null;
  labels?: ValidationLayerLabels;
  expanded: string[];
}

// ─────────────────────────────────────────── Compare view ────────────────────────────────────────────

/** 'agreement': top-1 agreement with the dense model (the comparison's data had no labels). */
export type CompareMetric = 'accuracy' | 'agreement';
export type CompareRunKind = 'one-shot' | 'one-shot-bn' | 'fine-tune';

/** One configuration (pattern × method × variant) of a comparison, as the view shows it. Fractions, not percent. */
export interface CompareViewRow {
  /** The report row's key ("2:4 maxq fine-tune default"): what 'useRow' names. */
  key: string;
  pattern: string;
  method: MaskMethod;
  kind: CompareRunKind;
  /** The report's label, e.g. "one-shot + BN re-estimation", "fine-tune, default schedule (linear 0→1)". */
  variant: string;
  /** The chart series (the same configuration across patterns). */
  seriesId: string;
  runs: number;
  deterministic: boolean;
  /** Mean accuracy (or agreement) over the seeds; null when not measured. */
  mean: number | null;
  /** Sample std over the seeds; null when there is no spread to show (one run, or a deterministic row). */
  std: number | null;
  /** Mean of sparse − dense (same samples), and its std like `std`. */
  delta: number | null;
  deltaStd: number | null;
  /** Wall and CPU seconds per run (means). */
  seconds: number;
  cpuSeconds: number;
  validationPass: boolean;
  /** The highest mean of its pattern (ties included). */
  highest: boolean;
}

export interface CompareChartPoint {
  key: string;
  mean: number;
  std: number | null;
}

/** One bar series: a configuration, with one point per pattern (null: that pattern has no such row). */
export interface CompareChartSeries {
  id: string;
  label: string;
  method: MaskMethod;
  kind: CompareRunKind;
  scheduleVariant: string | null;
  points: (CompareChartPoint | null)[];
}

export interface CompareChartData {
  /** The groups along the x axis. */
  patterns: string[];
  series: CompareChartSeries[];
  dense: number | null;
  /** The zoomed y range (fractions): every result within 10 points of the best (± std) and the dense line. */
  zoom: { min: number; max: number };
}

export interface CompareViewModel {
  reportPath: string;
  reportName: string;
  /** The compared model: resolved on disk when found, else as the report names it. */
  modelPath: string;
  modelName: string;
  modelFound: boolean;
  createdAt: string;
  metric: CompareMetric;
  /** "accuracy" or "agreement with dense". */
  metricLabel: string;
  dense: number | null;
  /** What the numbers are measured on. */
  evaluation: string;
  facts: { label: string; value: string }[];
  notes: string[];
  rows: CompareViewRow[];
  chart: CompareChartData;
}

export type CompareToWebview =
  | { type: 'report'; view: CompareViewModel }
  | { type: 'loadFailed'; reportPath: string | null; message: string }
  /** Answer to 'useRow': the sparsify form opened prefilled, or why it did not. */
  | { type: 'useResult'; key: string; ok: boolean; message: string };

export type CompareToHost =
  | { type: 'ready' }
  | { type: 'useRow'; key: string }
  | { type: 'openReportFile' }
  /** What the view shows now (tests and the Output channel read it). */
  | { type: 'rendered'; status: ViewStatus; rows: number };

/** What the compare view saves; after a reload it shows this at once, and the host re-reads the report file. */
export interface CompareState {
  view: CompareViewModel | null;
  reportPath: string | null;
  error: string | null;
  sort: { key: string; dir: 'asc' | 'desc' } | null;
  /** Y axis zoomed to the top results (chart.zoom) instead of 0–100 %. */
  zoom: boolean;
  selected: string | null;
}
