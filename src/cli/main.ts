/**
 * The `maxq` command line. Exit codes (a stable contract): 0 ok, 1 validation found violations,
 * 2 bad usage or bad input (one line on stderr, no stack trace).
 */
import { isMaxqError } from '../core/errors';
import { isCancelled } from '../core/sparsify/cancellation';
import { isHelpRequested, wantsHelp } from './args';
import { ProgressLine } from './format';

interface CommandModule {
  usage: string;
  run: (argv: string[]) => Promise<number>;
}

/**
 * Each command's module is loaded only when that command runs (or for the help text): `maxq inspect` should
 * not pay for loading onnxruntime and the training code at start-up.
 */
/* eslint-disable @typescript-eslint/no-var-requires */
const COMMANDS: Record<string, () => CommandModule> = {
  compare: () => { const m = require('./commands/compare') as typeof import('./commands/compare'); return { usage: m.usage, run: m.compareCommand }; },
  inspect: () => { const m = require('./commands/inspect') as typeof import('./commands/inspect'); return { usage: m.usage, run: m.inspectCommand }; },
  masks: () => { const m = require('./commands/masks') as typeof import('./commands/masks'); return { usage: m.usage, run: m.masksCommand }; },
  sparsify: () => { const m = require('./commands/sparsify') as typeof import('./commands/sparsify'); return { usage: m.usage, run: m.sparsifyCommand }; },
  validate: () => { const m = require('./commands/validate') as typeof import('./commands/validate'); return { usage: m.usage, run: m.validateCommand }; },
  'bn-recalibrate': () => { const m = require('./commands/bnRecalibrate') as typeof import('./commands/bnRecalibrate'); return { usage: m.usage, run: m.bnRecalibrateCommand }; },
  'fold-bn': () => { const m = require('./commands/foldBn') as typeof import('./commands/foldBn'); return { usage: m.usage, run: m.foldBnCommand }; },
  recipe: () => { const m = require('./commands/recipe') as typeof import('./commands/recipe'); return { usage: m.usage, run: m.recipeCommand }; },
};

/* eslint-enable @typescript-eslint/no-var-requires */

const HELP_ORDER = ['inspect', 'masks', 'sparsify', 'validate', 'bn-recalibrate', 'compare', 'fold-bn', 'recipe'];

function helpText(): string {
  return ['MaxQ Studio: N:M sparsity for ONNX CNNs (MaxQ, CVPR 2024)', '', ...HELP_ORDER.map((c) => COMMANDS[c]().usage)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(helpText() + '\n');
    return command ? 0 : 2;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load) {
    process.stderr.write(`maxq: unknown command '${command}' (use ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  // `maxq <command> --help` / `-h`: that command's usage on stdout, exit 0 (nothing is read or written).
  const { usage, run } = load();
  if (wantsHelp(rest)) {
    process.stdout.write(`usage: ${usage}\n`);
    return 0;
  }
  try {
    return await run(rest);
  } catch (e) {
    // A progress bar may still be drawn on stderr: clear its line so the message starts on a clean one.
    ProgressLine.clearActive();
    if (isHelpRequested(e)) {
      process.stdout.write(`usage: ${e.usage}\n`);
      return 0;
    }
    if (isCancelled(e)) {
      process.stderr.write('maxq: cancelled; nothing was written\n');
      return 130;
    }
    const message = e instanceof Error ? e.message : String(e);
    // With --json the failure is one JSON document too, with the full details behind the summary line.
    if (rest.includes('--json') && isMaxqError(e)) process.stdout.write(JSON.stringify({ error: message, kind: e.kind, ...(e.details ? { details: e.details } : {}) }, null, 2) + '\n');
    const [first, ...more] = message.split('\n');
    process.stderr.write(`maxq ${command}: ${isMaxqError(e) ? '' : 'error: '}${first}\n`);
    if (isMaxqError(e) && e.kind === 'usage' && more.length > 0) process.stderr.write(more.join('\n') + '\n');
    if (process.env.MAXQ_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 2;
  }
}
