/** Argument parsing shared by the `maxq` subcommands (node's util.parseArgs, strict). */
import { parseArgs, ParseArgsConfig } from 'util';
import { usageError } from '../core/errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/** Thrown by `parse` when the arguments ask for help: `maxq <command>` prints `usage` on stdout and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export function isHelpRequested(e: unknown): e is HelpRequested {
  return e instanceof HelpRequested;
}

/** `--help` or `-h` anywhere before a `--` terminator (and not as the value of a string option). */
export function wantsHelp(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export function parse(argv: string[], options: OptionSpec, usage: string): Parsed {
  if (wantsHelp(argv)) throw new HelpRequested(usage);
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { positionals, values: values as Parsed['values'] };
  } catch (e) {
    throw usageError(`${(e as Error).message.split('\n')[0]}\nusage: ${usage}`);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireStr(p: Parsed, name: string, usage: string): string {
  const v = str(p, name);
  if (v === undefined) throw usageError(`--${name} is required\nusage: ${usage}`);
  return v;
}

export function num(p: Parsed, name: string, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || (opts.integer && !Number.isInteger(x)) || (opts.min !== undefined && x < opts.min)) {
    throw usageError(`--${name} must be ${opts.integer ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got '${v}'`);
  }
  return x;
}

export function list(p: Parsed, name: string): string[] | undefined {
  const v = str(p, name);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export function onePositional(p: Parsed, what: string, usage: string): string {
  if (p.positionals.length !== 1) throw usageError(`expected one ${what}, got ${p.positionals.length}\nusage: ${usage}`);
  return p.positionals[0];
}
