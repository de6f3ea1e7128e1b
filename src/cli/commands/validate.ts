/** maxq validate <model.onnx> [--pattern N:M] [--reference dense.onnx [--inputs x.npy]] [--json] */
import { NmPattern } from '../../core/masks/nmPattern';
import { usageError } from '../../core/errors';
import { validateModel } from '../../core/validate/validateModel';
import { ValidationReport } from '../../core/types';
import { list, num, onePositional, parse, str } from '../args';
import { resolveNormalize } from '../../core/data/normalize';

export const usage = 'maxq validate <model.onnx> [--pattern N:M] [--include NAMES] [--exclude NAMES] [--reference <dense.onnx> [--inputs x.npy [--normalize SCALE,MEAN,STD|PRESET] [--samples N|all]]] [--json]';

function describePattern(n: number, m: number): string {
  return `${n}:${m} (keep ${n}, prune ${m - n} of every ${m} input channels)`;
}

export function formatReport(r: ValidationReport): string {
  const out: string[] = [];
  const pattern = r.pattern ? NmPattern.parse(r.pattern) : null;
  out.push(`${r.file}: ${pattern ? `checked against ${describePattern(pattern.n, pattern.m)}` : 'tightest N:M per layer (M in 4, 8, 16)'}`);
  for (const l of r.layers) {
    if (l.status === 'skipped') {
      out.push(`  skip  ${l.name}: ${l.reason}`);
      continue;
    }
    const detected = l.detected ? `detected ${l.detected.n}:${l.detected.m}` : 'no N:M pattern detected';
    const zeros = l.zeroFraction !== undefined ? `, ${(l.zeroFraction * 100).toFixed(1)}% zeros` : '';
    if (!pattern) {
      out.push(`  ${l.status === 'pass' ? 'PASS' : 'FAIL'}  ${l.name}: ${detected}${zeros}`);
      continue;
    }
    if (l.status === 'pass') {
      out.push(`  PASS  ${l.name}: all ${l.totalGroups} groups keep ≤ ${l.n} of ${l.m}${zeros}; ${detected}`);
      continue;
    }
    out.push(`  FAIL  ${l.name}: ${l.violatingGroups} of ${l.totalGroups} groups keep more than ${l.n} of ${l.m}${zeros}; ${detected}`);
    const listed = (l.firstViolations ?? []).slice(0, 3);
    for (const v of listed) {
      out.push(`          at filter ${v.o}, input channels ${v.i}..${v.i + (l.m as number) - 1}, kernel (${v.h}, ${v.w}): ${v.nonZeros} non-zero, ${l.n} allowed`);
    }
    if ((l.violatingGroups ?? 0) > listed.length) out.push(`          … and ${(l.violatingGroups as number) - listed.length} more (--json lists the first ${l.firstViolations?.length ?? 0})`);
  }
  const checked = r.layers.filter((l) => l.status !== 'skipped');
  const failed = checked.filter((l) => l.status === 'fail').length;
  if (checked.length === 0) {
    // Nothing was checked: that is no evidence the model follows the pattern, so never say PASS.
    const skipped = r.layers.length;
    const eligible = r.layers.filter((l) => /--include|first conv|linear stem|--exclude/.test(l.reason ?? '')).map((l) => l.name);
    const hint = eligible.length > 0
      ? `; ${eligible.length} of them could be checked: name them with --include (e.g. --include ${eligible.slice(0, 3).join(',')}${eligible.length > 3 ? ',…' : ''})`
      : '';
    out.push(`NOTHING CHECKED: 0 layers checked, ${skipped} skipped (see the reasons above)${hint}`);
  } else {
    out.push(`${r.pass ? 'PASS' : 'FAIL'}: ${checked.length - failed} of ${checked.length} checked layers comply, ${r.layers.length - checked.length} skipped`);
  }
  if (r.numeric) {
    out.push(`numeric check against ${r.numeric.reference} on ${r.numeric.inputsFrom}:`);
    const pre = r.numeric.preprocessing;
    if (pre) out.push(`  preprocessing ${pre.label}${pre.label === pre.normalize ? '' : ` (${pre.normalize})`}${pre.from === 'model metadata' ? ', from the model\'s maxq.preprocessing metadata' : ''}`);
    for (const o of r.numeric.outputs) {
      const top1 = o.top1Agreement === null ? '' : `, top-1 agreement ${(o.top1Agreement * 100).toFixed(1)}%`;
      out.push(`  ${o.name}: max |diff| ${o.maxAbsDiff.toExponential(3)}, cosine ${o.cosine.toFixed(6)}${top1}, scale ×${o.scaleRatio.toPrecision(3)}`);
    }
    const v = r.numeric.verdict;
    out.push(`${v.kind === 'blown-up' ? 'FAIL' : v.kind === 'changed-predictions' ? 'WARNING' : 'OK'}: numeric verdict ${v.message}`);
  }
  return out.join('\n');
}

export async function validateCommand(argv: string[]): Promise<number> {
  const p = parse(argv, {
    pattern: { type: 'string' }, reference: { type: 'string' }, inputs: { type: 'string' }, json: { type: 'boolean' },
    include: { type: 'string' }, exclude: { type: 'string' }, threads: { type: 'string' }, normalize: { type: 'string' }, samples: { type: 'string' },
  }, usage);
  const file = onePositional(p, 'model file', usage);
  if (str(p, 'inputs') !== undefined && str(p, 'reference') === undefined) {
    throw usageError(`--inputs is for the numeric check: give the dense model with --reference\nusage: ${usage}`);
  }
  for (const flag of ['normalize', 'samples'] as const) {
    if (str(p, flag) !== undefined && str(p, 'inputs') === undefined) throw usageError(`--${flag} is for the numeric check's --inputs\nusage: ${usage}`);
  }
  const normalize = str(p, 'normalize');
  if (normalize !== undefined) resolveNormalize(normalize);
  const samplesText = str(p, 'samples');
  const samples = samplesText === undefined ? undefined : samplesText === 'all' ? 'all' as const : num(p, 'samples', { integer: true, min: 1 });
  const report = await validateModel(file, {
    pattern: str(p, 'pattern'), reference: str(p, 'reference'), inputs: str(p, 'inputs'), normalize, samples,
    include: list(p, 'include'), exclude: list(p, 'exclude'), threads: num(p, 'threads', { integer: true, min: 0 }),
  });
  process.stdout.write((p.values.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
  // A blown-up model fails validation even when its pattern passes: it no longer computes the dense function.
  // A check of nothing is not a pass either (every layer skipped: exit 1, like a violation).
  const checkedAny = report.layers.some((l) => l.status !== 'skipped');
  return checkedAny && report.pass && report.numeric?.verdict.kind !== 'blown-up' ? 0 : 1;
}
