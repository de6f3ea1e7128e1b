/** The "MaxQ" Output channel: the engine's log, run progress, and the details behind every error notification. */
import * as vscode from 'vscode';

export class OutputLog implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('MaxQ', { log: true });

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  error(message: string, err?: unknown): void {
    this.channel.error(message);
    if (err instanceof Error && err.stack && !err.stack.startsWith(`${err.name}: ${message}`)) this.channel.error(err.stack);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
