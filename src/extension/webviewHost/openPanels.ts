/** The open panels of one kind: tracked until each is disposed, all disposed with their service. */
import type * as vscode from 'vscode';

export interface TrackablePanel {
  readonly panel: vscode.WebviewPanel;
  readonly onDidDispose: vscode.Event<void>;
}

export class OpenPanels<P extends TrackablePanel> implements vscode.Disposable {
  private readonly panels = new Set<P>();

  track(p: P): P {
    this.panels.add(p);
    p.onDidDispose(() => this.panels.delete(p));
    return p;
  }

  find(predicate: (p: P) => unknown): P | undefined {
    return [...this.panels].find(predicate);
  }

  dispose(): void {
    for (const p of this.panels) p.panel.dispose();
    this.panels.clear();
  }
}
