/**
 * Every selector and UI string the E2E tests depend on, in one place. Workbench selectors are verified on the
 * VS Code 1.139 web workbench (code-server 4.139.1); the extension's ids come from the UI engineer — update
 * them here when the webviews change.
 */

/** VS Code workbench. */
export const wb = {
  workbench: '.monaco-workbench',
  explorerRow: '.explorer-folders-view .monaco-list-row',
  contextMenu: '.context-view .monaco-menu',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget input',
  quickInputRow: '.quick-input-widget .monaco-list-row',
  tab: '.tabs-container .tab',
  webviewIframe: 'iframe.webview',
  webviewReady: 'iframe.webview.ready',
  innerWebviewFrame: 'iframe#active-frame',
  notificationToast: '.notifications-toasts .notification-toast',
  notificationMessage: '.notification-list-item-message',
} as const;

/** Titles as they appear in the palette and the Explorer context menu (package.json `contributes.commands`). */
export const commandTitles = {
  sparsify: 'MaxQ: Sparsify…',
  validate: 'MaxQ: Validate N:M Pattern',
  openInspector: 'MaxQ: Open Layer Inspector',
  openCompareReport: 'MaxQ: Open Comparison Report',
  closeAllEditors: 'View: Close All Editors',
  showExplorer: 'View: Show Explorer',
} as const;

export const commandIds = {
  sparsify: 'maxq.sparsify',
  validate: 'maxq.validate',
  openInspector: 'maxq.openInspector',
  openCompareReport: 'maxq.openCompareReport',
} as const;

export const customEditorViewType = 'maxq.layerInspector';

/** Sparsify form webview. */
export const form = {
  pattern: '#pattern',
  method: '#method',
  epochs: '#epochs',
  dataMnistDemo: '#data-mnist-demo',
  /** The user's own .npy fields: the default data source, also for an MNIST-shaped model. */
  dataNpyFields: '#data-npy-fields',
  /** Training-data radio group (npy, images, distil, mnist-demo) and the .npy path fields. */
  dataKind: '#data-kind',
  npyInputs: '#npy-inputs',
  npyLabels: '#npy-labels',
  modelSummary: '#model-summary',
  /** Preprocessing dropdown (own data) and the demo's fixed preprocessing (read-only). */
  preprocess: '#preprocess',
  preprocessDemo: '#preprocess-demo',
  /** What each input value becomes under the chosen preprocessing. */
  preprocessNote: '#preprocess-note',
  validationFields: '#validation-fields',
  /** Validation radio group (holdout, separate) and the separate .npy fields. */
  valKind: '#val-kind',
  valInputs: '#val-inputs',
  valLabels: '#val-labels',
  valDemoNote: '#val-demo-note',
  run: '#run',
  /** What the run does about layers with no BatchNorm after them (data-case, data-folded, data-bn-free). */
  bnNote: '#bn-folded-note',
  runNorm: '#run-norm',
} as const;

/** Run dashboard webview. */
export const dashboard = {
  status: '#status',
  coverageChart: '#coverage-chart',
  coverageFinal: '#coverage-final',
  runNormalisation: '#run-normalisation',
  numericVerdict: '#run-numeric-verdict',
  /** The facts list (<dt>/<dd>: dense accuracy, final accuracy, …). */
  summary: '#summary',
} as const;

/** Layer inspector (custom editor) webview. */
export const inspector = {
  layerTable: '#layer-table',
  layerRow: '.layer-row',
  heatmap: '#heatmap',
  bnNote: '#inspector-bn-note',
} as const;

/** Validation view webview. */
export const validation = {
  row: '.validation-row',
  failRow: '.validation-row[data-status="fail"]',
  passRow: '.validation-row[data-status="pass"]',
  /** The numeric check against the dense model (data-verdict). */
  numericVerdict: '#numeric-verdict',
} as const;

/** Compare view webview (issue 5), opened on a `*.compare.json` report. */
export const compare = {
  status: '#status',
  chart: '#compare-chart',
  table: '#compare-table',
  /** One table row per report row; `data-key` is the report row's key. */
  row: '#compare-table tr.compare-row[data-key]',
  /** "Use this one" (a toolkit button per row, `data-key` = the row's key): opens the sparsify form prefilled. */
  useRow: '.use-row[data-key]',
  useResult: '#use-result',
} as const;

/** Texts a finished webview puts in its `#status` element. */
export const statusDone = /\bDONE\b/;
export const statusError = /\bERROR\b/;
