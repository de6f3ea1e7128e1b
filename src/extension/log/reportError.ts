/**
 * One way to tell the user something failed: a notification with the reason, the details (stack for bugs) in the
 * Output channel. Never throws, so a failing command leaves the extension working.
 */
import * as vscode from 'vscode';
import { isMaxqError } from '../../core/errors';
import { OutputLog } from './outputLog';

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** `action` says what was attempted, e.g. "Validate model.onnx". */
export function reportError(log: OutputLog, action: string, err: unknown): void {
  const reason = errorMessage(err);
  // A MaxqError is the user's to fix and its message says what is wrong; anything else is a bug worth a stack.
  const userError = isMaxqError(err);
  log.error(`${action} failed: ${reason}`, userError ? undefined : err);
  // The full list behind a summary (every node without a gradient rule, say) goes to the Output channel.
  if (userError && err.details) log.error(`${action}: details ${JSON.stringify(err.details, null, 2)}`);
  void vscode.window.showErrorMessage(`MaxQ: ${action} failed: ${reason}`, 'Show Details').then((pick) => {
    if (pick) log.show();
  });
}
