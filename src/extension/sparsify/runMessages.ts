/**
 * Run errors come from the engine worded for `maxq` (`--normalize mnist`, `--no-sanity-check`). A run started
 * from the sparsify form is fixed in the form: say what to choose there instead. Pure (no vscode import).
 */
const FORM_WORDING: [RegExp, string][] = [
  [/\(--normalize \w+\)/g, '(choose it under Preprocessing)'],
  [/,\s*--normalize \w+\)/g, '; choose it under Preprocessing)'],
  [/;\s*--no-sanity-check to run anyway/g, '; untick “Check the data first” in the form to run anyway'],
  [/give --normalize with a preset.*$/s, 'choose one under Preprocessing in the form (“none” keeps the raw values)'],
];

export function inFormTerms(message: string): string {
  let out = message;
  for (const [re, text] of FORM_WORDING) out = out.replace(re, text);
  return out;
}
