/**
 * Why-not reasons come from the engine, worded for `maxq` (`--include`, `--exclude`). In the views the same
 * override is a tick in the sparsify form's layer table: say that instead. Pure.
 */
const UI_WORDING: [RegExp, string][] = [
  [/opt-in: name it with --include/g, 'opt-in: tick it in the sparsify form'],
  [/name (it|them) with --include/g, 'tick $1 in the sparsify form'],
  [/unless named with --include/g, 'unless ticked in the sparsify form'],
  [/excluded by --exclude/g, 'unticked in the sparsify form'],
  [/;?\s*--exclude to narrow/g, '; untick layers in the sparsify form to narrow'],
  [/--include/g, 'a tick in the sparsify form'],
  [/--exclude/g, 'unticking in the sparsify form'],
];

export function uiReason(reason: string | undefined | null): string {
  if (!reason) return '';
  let out = reason;
  for (const [re, text] of UI_WORDING) out = out.replace(re, text);
  return out;
}
