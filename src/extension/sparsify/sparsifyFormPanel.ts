/**
 * The sparsify form of one model. Layers and their eligibility come from the core for the pattern typed; on Run
 * the values are checked, an existing output needs the user's yes, and the form hands over to the run (its
 * dashboard opens in the form's place).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PathField, SparsifyFormToHost, SparsifyFormToWebview, SparsifyFormValues } from '../../protocol/messages';
import { readSettings } from '../config/settings';
import { errorMessage, reportError } from '../log/reportError';
import { onMessage, post, trackPanel } from '../webviewHost/messaging';
import { renderWebviewHtml, webviewOptions } from '../webviewHost/webviewHtml';
import { batchNormInfo } from '../inspector/layerRows';
import { CoreWorkerClient } from '../worker/coreWorkerClient';
import { browseStart, defaultFormValues, formProblems, inputChannels, toSparsifyOptions } from './formValues';
import { suggestOutputPath } from './outputName';
import { everyEligibleInclude, policyRows } from './policyRows';
import { runSparsify, SparsifyUi } from './sparsifyRunner';

export const SPARSIFY_FORM_VIEW_TYPE = 'maxq.sparsifyForm';

export interface SparsifyFormDeps extends SparsifyUi {
  extensionUri: vscode.Uri;
  worker: CoreWorkerClient;
}

/** Adjusts the form's defaults before they are shown (e.g. a comparison row's recipe). */
export type FormPrefill = (defaults: SparsifyFormValues) => SparsifyFormValues;

export class SparsifyFormPanel implements vscode.Disposable {
  private static readonly open = new Map<string, SparsifyFormPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private starting = false;
  /** The model input's channel count (per-channel preprocessing must match it), once the model is read. */
  private channels: number | undefined;

  /** With `prefill`, a form already open for the model is replaced by one showing the prefilled values. */
  static show(deps: SparsifyFormDeps, modelPath: string, prefill?: FormPrefill): SparsifyFormPanel {
    const key = path.resolve(modelPath);
    const existing = SparsifyFormPanel.open.get(key);
    if (existing && !prefill) {
      existing.panel.reveal(undefined, false);
      return existing;
    }
    existing?.panel.dispose();
    const title = `MaxQ Sparsify: ${path.basename(modelPath)}`;
    const panel = vscode.window.createWebviewPanel(SPARSIFY_FORM_VIEW_TYPE, title, vscode.ViewColumn.Active, webviewOptions(deps.extensionUri));
    const form = new SparsifyFormPanel(panel, deps, key, prefill);
    SparsifyFormPanel.open.set(key, form);
    return form;
  }

  private constructor(readonly panel: vscode.WebviewPanel, private readonly deps: SparsifyFormDeps, private readonly modelPath: string, private readonly prefill?: FormPrefill) {
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'maxq.svg');
    panel.webview.html = renderWebviewHtml(panel.webview, deps.extensionUri, 'sparsify', panel.title);
    this.disposables.push(
      trackPanel(panel),
      onMessage<SparsifyFormToHost>(panel.webview, (m) => this.receive(m), (e) => reportError(deps.log, 'Sparsify form', e)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private send(m: SparsifyFormToWebview): void {
    post(this.panel, m);
  }

  private async receive(m: SparsifyFormToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.sendInit();
        return;
      case 'requestLayers':
        try {
          const summary = await this.deps.worker.call('inspect', { path: this.modelPath, pattern: m.pattern });
          // Whether each eligible layer could be normalised for the run, also those only an override selects.
          const include = everyEligibleInclude(summary.layers);
          const every = include ? await this.deps.worker.call('inspect', { path: this.modelPath, pattern: m.pattern, include }) : summary;
          this.send({ type: 'layers', requestId: m.requestId, pattern: m.pattern, layers: policyRows(summary.layers, every.batchNorm), batchNorm: batchNormInfo(summary.batchNorm), linearFallback: summary.layers.filter((l) => l.linearFallback).length });
        } catch (e) {
          this.send({ type: 'layersFailed', requestId: m.requestId, pattern: m.pattern, message: errorMessage(e) });
        }
        return;
      case 'suggestOutput':
        this.send({ type: 'outputSuggested', requestId: m.requestId, path: this.suggestOutput(m.pattern, m.method) });
        return;
      case 'pickPath':
        await this.pickPath(m.field, m.values);
        return;
      case 'run':
        await this.startRun(m.values);
        return;
      case 'exportRecipe':
        await this.exportRecipe(m.values).catch((e) => {
          this.send({ type: 'recipeRejected', message: errorMessage(e) });
          reportError(this.deps.log, 'Export PyTorch recipe', e);
        });
        return;
      case 'close':
        this.panel.dispose();
        return;
    }
  }

  /** The form's output path, a relative one taken beside the model. */
  private outputPathOf(values: SparsifyFormValues): string {
    const typed = values.output.trim();
    return path.isAbsolute(typed) ? typed : path.resolve(path.dirname(this.modelPath), typed);
  }

  private suggestOutput(pattern: string, method: SparsifyFormValues['method']): string {
    try {
      return suggestOutputPath(this.modelPath, pattern, method, readSettings().outputNaming);
    } catch {
      return suggestOutputPath(this.modelPath, readSettings().defaultPattern, method, readSettings().outputNaming);
    }
  }

  private async sendInit(): Promise<void> {
    const s = readSettings();
    try {
      const summary = await this.deps.worker.call('inspect', { path: this.modelPath });
      this.channels = inputChannels(summary.inputs);
      const base = defaultFormValues({
        pattern: s.defaultPattern,
        method: s.defaultMethod,
        epochs: s.epochs,
        batchSize: s.batchSize,
        output: this.suggestOutput(s.defaultPattern, s.defaultMethod),
        inputs: summary.inputs,
      });
      let defaults = base;
      if (this.prefill) {
        defaults = this.prefill(base);
        // The suggested output follows a prefilled pattern and method, unless the prefill chose one.
        if (defaults.output === base.output) defaults = { ...defaults, output: this.suggestOutput(defaults.pattern, defaults.method) };
      }
      this.send({ type: 'init', modelPath: this.modelPath, modelName: path.basename(this.modelPath), inputs: summary.inputs, opset: summary.opset, defaults });
    } catch (e) {
      this.send({ type: 'fatal', message: errorMessage(e) });
      reportError(this.deps.log, `Sparsify ${path.basename(this.modelPath)}`, e);
    }
  }

  private async pickPath(field: PathField, values: SparsifyFormValues): Promise<void> {
    // Beside what is already chosen, else the model's folder (or the workspace's): never a parent of them.
    const model = vscode.Uri.file(this.modelPath);
    const workspace = vscode.workspace.getWorkspaceFolder(model) ?? vscode.workspace.workspaceFolders?.[0];
    const start = vscode.Uri.file(browseStart(field, values, this.modelPath, workspace?.uri.fsPath));
    let picked: vscode.Uri | undefined;
    if (field === 'output') {
      picked = await vscode.window.showSaveDialog({ defaultUri: start, filters: { 'ONNX models': ['onnx'] }, saveLabel: 'Write sparse model here' });
    } else {
      const folder = field === 'imagesDir' || field === 'valDir';
      const openLabel: Record<Exclude<PathField, 'output'>, string> = {
        npyInputs: 'Use as inputs',
        npyLabels: 'Use as labels',
        imagesDir: 'Use this image folder',
        valInputs: 'Use as validation inputs',
        valLabels: 'Use as validation labels',
        valDir: 'Use as validation image folder',
      };
      const result = await vscode.window.showOpenDialog({
        defaultUri: start,
        canSelectFiles: !folder,
        canSelectFolders: folder,
        canSelectMany: false,
        openLabel: openLabel[field],
        ...(folder ? {} : { filters: { 'NumPy arrays': ['npy'] } }),
      });
      picked = result?.[0];
    }
    if (picked) this.send({ type: 'pathPicked', field, path: picked.fsPath });
  }

  private async startRun(values: SparsifyFormValues): Promise<void> {
    if (this.starting) return;
    const problems = formProblems(values, this.modelPath, this.channels);
    if (problems.length > 0) {
      this.send({ type: 'runRejected', message: problems.join(' ') });
      return;
    }
    const out = this.outputPathOf(values);
    const exists = fs.existsSync(out);
    if (exists) {
      const answer = await vscode.window.showWarningMessage(`${path.basename(out)} already exists. Overwrite it?`, { modal: true, detail: out }, 'Overwrite');
      if (answer !== 'Overwrite') {
        this.send({ type: 'runRejected', message: `${path.basename(out)} exists; choose another output path or allow overwriting.` });
        return;
      }
    }
    this.starting = true;
    const options = toSparsifyOptions({ ...values, output: out }, this.modelPath, { threads: readSettings().threads, overwrite: exists });
    // The dashboard takes the form's place; the run reports its own errors.
    this.panel.dispose();
    runSparsify(this.deps, options).catch(() => undefined);
  }

  /**
   * The form's fine-tune as a PyTorch recipe for `torchrun -m maxq_torch.train --recipe` (written by the core
   * worker: the demo data is exported as .npy beside it). The command to run is shown in the form and offered
   * for the clipboard; the form stays open.
   */
  private async exportRecipe(values: SparsifyFormValues): Promise<void> {
    const problems = formProblems(values, this.modelPath, this.channels);
    if (Number(values.epochs) < 1) problems.push('A PyTorch recipe is a fine-tune: set epochs to 1 or more.');
    if (problems.length > 0) {
      this.send({ type: 'recipeRejected', message: problems.join(' ') });
      return;
    }
    const picked = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(path.dirname(this.modelPath), 'maxq-recipe.json')),
      filters: { 'MaxQ recipe': ['json'] },
      saveLabel: 'Write recipe',
      title: 'MaxQ: PyTorch recipe for torchrun',
    });
    if (!picked) return;
    const file = picked.fsPath;
    const out = this.outputPathOf(values);
    const options = toSparsifyOptions({ ...values, output: out }, this.modelPath, { threads: readSettings().threads, overwrite: false });
    // The save dialog has asked about replacing an existing file.
    const { recipe, dataFiles } = await this.deps.worker.call('exportRecipe', { options, file, overwrite: true });
    const command = `cd ${path.dirname(file)} && ${recipe.torchrun!.oneNode}`;
    this.deps.log.info(`Wrote the PyTorch recipe ${file}${dataFiles.length ? ` and the demo data (${dataFiles.length} .npy files) beside it` : ''}. Run it with:\n  ${command}`);
    this.send({ type: 'recipeExported', path: file, command, multiNode: recipe.torchrun!.multiNode });
    const copy = 'Copy torchrun command';
    const answer = await vscode.window.showInformationMessage(`MaxQ: wrote ${path.basename(file)}. Run it with torchrun (maxq_torch installed), then follow the run with "MaxQ: Follow Run Log…".`, copy, 'Open recipe');
    if (answer === copy) await vscode.env.clipboard.writeText(command);
    else if (answer === 'Open recipe') await vscode.window.showTextDocument(picked);
  }

  dispose(): void {
    SparsifyFormPanel.open.delete(this.modelPath);
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}
