/**
 * Why-not reasons come from the engine, worded for `maxq` (`--include`, `--exclude`). In the views the same
 * override is a tick in the sparsify form's layer table: say that instead. In the form itself (`where: 'form'`)
 * the tick is right there: say what to do with it. Pure.
 */
export type ReasonPlace = 'views' | 'form';

const UI_WORDING: Record<ReasonPlace, [RegExp, string][]> = {
  views: [
    [/opt-in: name it with --include/g, 'opt-in: tick it in the sparsify form'],
    [/name (it|them) with --include/g, 'tick $1 in the sparsify form'],
    [/unless named with --include/g, 'unless ticked in the sparsify form'],
    [/excluded by --exclude/g, 'unticked in the sparsify form'],
    [/;?\s*--exclude to narrow/g, '; untick layers in the sparsify form to narrow'],
    [/--include/g, 'a tick in the sparsify form'],
    [/--exclude/g, 'unticking in the sparsify form'],
  ],
  form: [
    [/opt-in: name it with --include/g, 'opt-in: tick it to sparsify it'],
    [/name it with --include/g, 'tick it to sparsify it'],
    [/name them with --include/g, 'tick them to sparsify them'],
    [/\(kept dense unless named with --include\)/g, '(kept dense: tick it to sparsify it)'],
    [/unless named with --include/g, 'unless ticked'],
    [/excluded by --exclude/g, 'unticked here'],
    [/;?\s*--exclude to narrow/g, '; untick layers to narrow'],
    [/select them with --include/g, 'tick them to sparsify them'],
    [/--include/g, 'a tick'],
    [/--exclude/g, 'unticking'],
  ],
};

export function uiReason(reason: string | undefined | null, where: ReasonPlace = 'views'): string {
  if (!reason) return '';
  let out = reason;
  for (const [re, text] of UI_WORDING[where]) out = out.replace(re, text);
  return out;
}
