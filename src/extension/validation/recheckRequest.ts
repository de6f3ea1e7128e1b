/** The validation view's re-check request (pure: no `vscode`, unit-tested). */
import type { ValidationRequestInfo } from '../../protocol/messages';

/**
 * The request a re-check runs: the new pattern and BN choice, the selection kept, and the layers the view asks to
 * include added to it (and taken out of the exclusions, which would win otherwise). Pure.
 */
export function recheckRequest(req: ValidationRequestInfo, m: { pattern: string | null; bnRecalibrate: boolean; include?: string[] }): ValidationRequestInfo {
  const out: ValidationRequestInfo = { ...req, pattern: m.pattern, bnRecalibrate: m.bnRecalibrate };
  const add = (m.include ?? []).filter((n) => typeof n === 'string' && n.length > 0);
  if (add.length > 0) {
    out.include = [...new Set([...(req.include ?? []), ...add])];
    const exclude = (req.exclude ?? []).filter((n) => !add.includes(n));
    if (exclude.length > 0) out.exclude = exclude;
    else delete out.exclude;
  }
  return out;
}
