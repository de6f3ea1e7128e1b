/**
 * The data the core hands to its callers (CLI, extension host, webviews via the host, tests). Plain JSON-able
 * objects only, so they cross worker-thread and webview boundaries unchanged.
 */

export type MaskMethod = 'maxq' | 'magnitude' | 'srste';
export type ScheduleKind = 'linear' | 'cubic' | 'cos' | 'exp';
export type ScheduleGranularity = 'step' | 'epoch';

/** Which op a sparsifiable layer is and how its weight is stored. */
export type LayerOp = 'Conv' | 'Gemm' | 'MatMul';

/**
 * A layer whose weight N:M could apply to. `name` is the weight's source tensor name (initializer or Constant
 * output) — the stable identifier everywhere (masks files, run records, include/exclude).
 */
export interface LayerInfo {
  name: string;
  nodeName: string;
  op: LayerOp;
  /** Shape of the stored tensor (original layout). */
  storageShape: number[];
  /** Canonical [O, I, Kh, Kw]; linear layers are [out, in, 1, 1]. */
  canonicalShape: [number, number, number, number];
  /** True when storage is [in, out] (Gemm transB=0, MatMul): a block runs down a column. */
  storageTransposed: boolean;
  /** Ops between the tensor and the layer (Identity, Cast, Transpose, DequantizeLinear), outermost last. */
  via: string[];
  dtype: string;
  params: number;
  group: number;
  /** Eligible for the requested M (or structurally eligible when no M was given). */
  eligible: boolean;
  /** Why this layer is left dense (ineligible or not selected by the policy). Absent when selected. */
  reason?: string;
  /** Selected for sparsification by the policy and the include/exclude overrides. */
  selected: boolean;
  /** Selected because the model has no eligible conv (vision transformers): its linear layers are sparsified. */
  linearFallback?: boolean;
  /** A BatchNormalization normalises this layer's output channels (set by inspect). */
  bnAfter?: boolean;
}

/** What a model's BatchNorm situation means for a run (inspect, the sparsify form, the inspector). */
export interface BatchNormSummary {
  /** BatchNormalization nodes in the graph. */
  nodes: number;
  /** Selected layers with no BatchNorm after them. */
  bnFree: number;
  /** Of those, how many a run with data normalises for the run and folds back. */
  normalisable: number;
  /** BN-free selected layers a run leaves as they are, with why. */
  skipped: { layer: string; reason: string }[];
  /** The export folded BatchNorm into the layers: selected layers without BN and no BN node left. */
  folded: boolean;
  /** One line saying what a run will do about it; null when every selected layer has its BatchNorm. */
  message: string | null;
}

export interface ModelSummary {
  file: string;
  irVersion: number;
  opset: number;
  producer: string;
  inputs: { name: string; shape: (number | string)[]; dtype: string }[];
  outputs: { name: string; shape: (number | string)[]; dtype: string }[];
  nodeCount: number;
  paramCount: number;
  hasExternalData: boolean;
  layers: LayerInfo[];
  batchNorm: BatchNormSummary;
  /** Why the selection differs from the reference policy (linear layers of a model with no eligible conv), or null. */
  selectionNote: string | null;
}

/** One failing N:M group, in original-layout coordinates of the stored tensor. */
export interface Violation {
  /** Canonical coordinates of the group's first element: output o, input-channel start i, kernel h, w. */
  o: number;
  i: number;
  h: number;
  w: number;
  /** Non-zeros found in the group (> N). */
  nonZeros: number;
}

export interface LayerValidation {
  name: string;
  op: LayerOp;
  status: 'pass' | 'fail' | 'skipped';
  /** Reason when skipped. */
  reason?: string;
  n?: number;
  m?: number;
  totalGroups?: number;
  violatingGroups?: number;
  firstViolations?: Violation[];
  /** Tightest N:M the weight satisfies for M in 4, 8, 16 (lowest N/M), or null when none. */
  detected?: { n: number; m: number } | null;
  zeroFraction?: number;
}

export interface NumericOutputCheck {
  name: string;
  maxAbsDiff: number;
  cosine: number;
  /** Share of top-1 (along axis 1) that agrees: per sample for [N, K], per position for maps [N, K, H, W]; else null. */
  top1Agreement: number | null;
  /** RMS of the model's output over the reference's (1 = same scale). */
  scaleRatio: number;
  /** max − min of the reference output. */
  referenceRange: number;
  /** Every value of the model's output is finite. */
  finite: boolean;
  /** Every value of the reference's output is finite (absent in records written before it was checked). */
  referenceFinite?: boolean;
}

export interface NumericVerdict {
  /** same-function < small-drift < changed-predictions < blown-up */
  kind: 'same-function' | 'small-drift' | 'changed-predictions' | 'blown-up';
  /** One line: the verdict, the numbers behind it and what to do. */
  message: string;
  thresholds: Record<string, number>;
}

export interface NumericCheck {
  reference: string;
  inputsFrom: string; // 'random (seed S)' or the .npy path
  samples: number;
  /**
   * The preprocessing applied to `--inputs` (`SCALE,MEAN,STD`, how reports name it, and where it came from: the
   * option, or the model's `maxq.preprocessing` metadata); absent when the inputs were fed as stored.
   */
  preprocessing?: { normalize: string; label: string; from: 'option' | 'model metadata' };
  outputs: NumericOutputCheck[];
  verdict: NumericVerdict;
}

export interface BnRecalibrationSummary {
  /** The model the statistics were measured on; `ValidationReport.file` is the re-estimated copy. */
  source: string;
  out: string;
  layers: number;
  samples: number;
  accuracyBefore: number | null;
  accuracyAfter: number | null;
}

export interface ValidationReport {
  file: string;
  pattern: string | null; // "2:4" or null in detect mode
  pass: boolean;
  layers: LayerValidation[];
  numeric?: NumericCheck;
  /** Present when BN statistics were re-estimated before the check. */
  bnRecalibration?: BnRecalibrationSummary;
}

/** Events a run streams to UIs (CLI progress bar, run dashboard). */
export type RunEvent =
  | { type: 'start'; runId: string; model: string; pattern: string; method: MaskMethod; epochs: number; stepsPerEpoch: number; layers: string[] }
  | { type: 'phase'; phase: string; detail?: string }
  | { type: 'step'; epoch: number; step: number; globalStep: number; loss: number; lr: number; stepMs: number; denseFraction: number }
  | {
      type: 'epoch';
      epoch: number;
      denseFraction: number;
      trainLoss: number;
      trainAccuracy: number | null;
      valLoss: number | null;
      valAccuracy: number | null;
      /** Share of N:M blocks (1 − dense fraction realised), overall and per layer, in [0, 1]. */
      coverage: number;
      layerCoverage: Record<string, number>;
      /** Per layer |w| mean of kept vs pruned weights, for importance summaries. */
      importance?: Record<string, { keptMeanAbs: number; prunedMeanAbs: number; softMean: number }>;
    }
  /**
   * `topic: 'preprocessing'`: where the data's preprocessing came from (the model's metadata, or an option that
   * overrides it); the CLI prints these on stderr even at level info.
   */
  | { type: 'log'; level: 'info' | 'warn'; message: string; topic?: 'preprocessing' }
  | { type: 'done'; output: string; record: string; summary: RunSummary }
  | { type: 'error'; message: string }
  | { type: 'cancelled' };

export interface RunSummary {
  output: string;
  pattern: string;
  method: MaskMethod;
  epochs: number;
  sparsifiedLayers: number;
  denseAccuracy: number | null;
  finalAccuracy: number | null;
  /** What the accuracies measure: top-1 against labels, or agreement with the dense model's top-1 (no labels). */
  metric: 'accuracy' | 'agreement';
  validationPass: boolean;
  seconds: number;
  /** What the run did about sparsified layers that no BatchNorm follows (absent when every one has one). */
  normalisation?: NormalisationSummary;
  /** The written model against the dense one on a bounded sample: does it still compute the same function? */
  numeric?: NumericCheck;
}

export interface NormalisationSummary {
  /** Layers normalised for the run and folded back into their weight and bias. */
  normalised: string[];
  /** Sparsified layers a BatchNorm already follows. */
  followedByBn: number;
  /** BN-free layers left as they are, with why (no bias, MatMul, no data …). */
  skipped: { layer: string; reason: string }[];
  /** The one line the CLI, the dashboard and the run record show. */
  message: string;
}

/** The JSON written next to a sparse model (`<out>.run.json`): everything the dashboard needs to replay a run. */
export interface RunRecord {
  version: 1;
  runId: string;
  createdAt: string;
  model: string;
  output: string;
  options: Record<string, unknown>;
  events: RunEvent[];
  summary?: RunSummary;
}
