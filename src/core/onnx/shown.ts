/**
 * Names and strings from a model file, made safe for a one-line message: a corrupt file can hold names with
 * newlines, control bytes or megabytes of junk.
 */
const MAX_SHOWN = 80;

export function shown(s: string): string {
  const esc = s.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return esc.length > MAX_SHOWN ? `${esc.slice(0, MAX_SHOWN)}…` : esc;
}
