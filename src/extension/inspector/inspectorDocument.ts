/**
 * The inspector's document: one .onnx file, read-only. It owns a worker thread that holds the decoded model and
 * the current layers' weights and masks, and caches the summary and pattern checks per pattern. When the file
 * changes on disk the caches are dropped and open editors reload.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { ModelSummary, ValidationReport } from '../../core/types';
import { CoreWorkerClient } from '../worker/coreWorkerClient';

export class InspectorDocument implements vscode.CustomDocument {
  readonly worker: CoreWorkerClient;
  private readonly summaries = new Map<string, Promise<ModelSummary>>();
  private readonly checks = new Map<string, Promise<ValidationReport>>();
  private readonly watcher: vscode.FileSystemWatcher;
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** The file changed on disk; views should reload. */
  readonly onDidChangeFile = this.changeEmitter.event;

  constructor(readonly uri: vscode.Uri) {
    this.worker = new CoreWorkerClient(`inspector of ${path.basename(uri.fsPath)}`);
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)));
    const changed = () => {
      this.summaries.clear();
      this.checks.clear();
      void this.worker.call('forget', { path: this.path }).catch(() => undefined);
      this.changeEmitter.fire();
    };
    this.watcher.onDidChange(changed);
    this.watcher.onDidCreate(changed);
  }

  get path(): string {
    return this.uri.fsPath;
  }

  get fileName(): string {
    return path.basename(this.uri.fsPath);
  }

  summary(pattern: string): Promise<ModelSummary> {
    return this.cached(this.summaries, pattern, () => this.worker.call('inspect', { path: this.path, pattern }));
  }

  /** Per-layer pattern checks (no numeric check: that needs a reference and belongs to the validation view). */
  patternChecks(pattern: string): Promise<ValidationReport> {
    return this.cached(this.checks, pattern, () => this.worker.call('validate', { path: this.path, pattern }));
  }

  private cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
    let p = map.get(key);
    if (!p) {
      p = make();
      map.set(key, p);
      p.catch(() => map.delete(key)); // failures are retried next time
    }
    return p;
  }

  dispose(): void {
    this.watcher.dispose();
    this.changeEmitter.dispose();
    this.worker.dispose();
  }
}
