/**
 * The `maxq` command line. Exit codes (a stable contract): 0 ok, 1 validation found violations,
 * 2 bad usage or bad input (one line on stderr, no stack trace).
 */
import { isMaxqError } from '../core/errors';
import { isCancelled } from '../core/sparsify/cancellation';
import { bnRecalibrateCommand, usage as bnUsage } from './commands/bnRecalibrate';
import { compareCommand, usage as compareUsage } from './commands/compare';
import { foldBnCommand, usage as foldBnUsage } from './commands/foldBn';
import { inspectCommand, usage as inspectUsage } from './commands/inspect';
import { masksCommand, usage as masksUsage } from './commands/masks';
import { sparsifyCommand, usage as sparsifyUsage } from './commands/sparsify';
import { validateCommand, usage as validateUsage } from './commands/validate';
import { isHelpRequested, wantsHelp } from './args';
import { ProgressLine } from './format';

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  compare: compareCommand,
  inspect: inspectCommand,
  masks: masksCommand,
  sparsify: sparsifyCommand,
  validate: validateCommand,
  'bn-recalibrate': bnRecalibrateCommand,
  'fold-bn': foldBnCommand,
};

const USAGES: Record<string, string> = {
  compare: compareUsage,
  inspect: inspectUsage,
  masks: masksUsage,
  sparsify: sparsifyUsage,
  validate: validateUsage,
  'bn-recalibrate': bnUsage,
  'fold-bn': foldBnUsage,
};

const HELP = ['MaxQ Studio: N:M sparsity for ONNX CNNs (MaxQ, CVPR 2024)', '', inspectUsage, masksUsage, sparsifyUsage, validateUsage, bnUsage, compareUsage, foldBnUsage].join('\n');

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`maxq: unknown command '${command}' (use ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  // `maxq <command> --help` / `-h`: that command's usage on stdout, exit 0 (nothing is read or written).
  if (wantsHelp(rest)) {
    process.stdout.write(`usage: ${USAGES[command]}\n`);
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
