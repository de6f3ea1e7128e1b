/**
 * A comparison report for the extension's unit tests, made with the core's own plan and row summary (so it has the
 * shape `maxq compare` writes) and invented, deterministic accuracies.
 */
import { checkCompareOptions, CompareOptions } from '../../../src/core/compare/compareOptions';
import { planRuns } from '../../../src/core/compare/comparePlan';
import { CompareReport, CompareRun, summarizeRows } from '../../../src/core/compare/compareReport';

export const DENSE = 0.975;

/** Sparse accuracy of a run: one-shot collapses, BN re-estimation recovers, fine-tunes come close to dense. */
function accuracyOf(kind: string, pattern: string, method: string, variant: string | null, seed: number): number {
  const base = pattern === '2:4' ? 0 : -0.01;
  if (kind === 'one-shot') return (method === 'maxq' ? 0.364 : 0.73) + base * 10;
  if (kind === 'one-shot-bn') return 0.9565 + base;
  const m = method === 'maxq' ? (variant === 'default' ? 0.9697 : 0.968) : method === 'srste' ? 0.9692 : 0.9713;
  return m + base + (seed === 0 ? -0.0004 : 0.0004);
}

export function fixtureReport(over: Partial<CompareOptions> = {}, metric: 'accuracy' | 'agreement' = 'accuracy'): CompareReport {
  const options: CompareOptions = {
    model: 'media/demo/mnist-cnn.onnx', patterns: ['2:4', '1:4'], methods: ['magnitude', 'maxq'], seeds: 2, epochs: 1,
    data: { kind: 'mnist-demo' }, ...over,
  };
  const o = checkCompareOptions(options);
  const plan = planRuns(o);
  const runs: CompareRun[] = plan.map((p, k) => {
    const accuracy = accuracyOf(p.kind, p.pattern, p.method, p.scheduleVariant, p.seed);
    return {
      key: p.key, pattern: p.pattern, method: p.method, kind: p.kind, scheduleVariant: p.scheduleVariant, seed: p.seed,
      denseAccuracy: DENSE, accuracy, delta: accuracy - DENSE, seconds: 1 + k, cpuSeconds: 0.5 + k, sparsifiedLayers: 2, validationPass: true,
    };
  });
  return {
    version: 1, kind: 'maxq-compare', createdAt: '2026-01-02T03:04:05.000Z', model: options.model,
    config: {
      patterns: o.patterns, methods: o.methods, seeds: o.seeds, scheduleVariants: o.scheduleVariants, budget: o.budget, data: o.data,
      ...(o.include ? { include: o.include } : {}), ...(o.exclude ? { exclude: o.exclude } : {}),
    },
    environment: { node: 'v20.0.0', platform: 'linux', arch: 'x64', osRelease: '6', cpuModel: 'Test CPU', cpuCount: 4, availableParallelism: 4, totalMemoryGiB: 8, onnxruntime: '1.30.0', loadAverage: [0, 0, 0] },
    metric,
    evaluation: { metric, oneShot: 'validation data: 2000 samples of MNIST demo', fineTune: 'validation data: 2000 samples of MNIST demo', sameForAllRuns: true },
    dense: { accuracy: DENSE },
    rows: summarizeRows(plan, runs),
    runs,
    notes: ['One-shot runs are deterministic: they run once, with the first seed.'],
    totalSeconds: 100, totalCpuSeconds: 50,
  };
}
