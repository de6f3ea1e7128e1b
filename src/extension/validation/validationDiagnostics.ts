/** Pattern problems of a validation report as Problems-panel entries on the model file. */
import * as vscode from 'vscode';
import type { LayerValidation, ValidationReport } from '../../core/types';

export const DIAGNOSTIC_SOURCE = 'MaxQ';

function describe(l: LayerValidation, pattern: string | null): string {
  if (pattern && l.violatingGroups !== undefined && l.totalGroups !== undefined) {
    const first = l.firstViolations?.[0];
    const where = first ? `; first at o=${first.o}, i=${first.i}..${first.i + (l.m ?? 1) - 1}, h=${first.h}, w=${first.w} (${first.nonZeros} non-zeros)` : '';
    return `Layer '${l.name}' (${l.op}) violates ${pattern}: ${l.violatingGroups} of ${l.totalGroups} groups${where}`;
  }
  return `Layer '${l.name}' (${l.op}) follows no N:M pattern with M in 4, 8, 16`;
}

export function diagnosticsForReport(report: ValidationReport): vscode.Diagnostic[] {
  const top = new vscode.Range(0, 0, 0, 0);
  const out = report.layers
    .filter((l) => l.status === 'fail')
    .map((l) => {
      const d = new vscode.Diagnostic(top, describe(l, report.pattern), vscode.DiagnosticSeverity.Error);
      d.source = DIAGNOSTIC_SOURCE;
      d.code = report.pattern ? `nm-${report.pattern}` : 'nm-none';
      return d;
    });
  // The numeric verdict is a problem of its own: a model can follow N:M and still compute something else.
  const v = report.numeric?.verdict;
  if (v && (v.kind === 'blown-up' || v.kind === 'changed-predictions')) {
    const d = new vscode.Diagnostic(top, `Numeric check against ${report.numeric!.reference}: ${v.message}`, v.kind === 'blown-up' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
    d.source = DIAGNOSTIC_SOURCE;
    d.code = `numeric-${v.kind}`;
    out.push(d);
  }
  return out;
}
