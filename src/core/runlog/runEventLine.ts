/**
 * One line of a run log (JSON lines, one `RunEvent` per line): parsed and checked, so a log written by another
 * engine (maxq_torch under torchrun) or cut mid-line can never hand the dashboard an event it would draw wrong.
 * Required fields are checked per event type; optional ones missing are filled with what "not measured" means.
 */
import type { RunEvent, RunSummary } from '../types';

export type LineResult = { ok: true; event: RunEvent } | { ok: false; problem: string };

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && !Number.isNaN(x);
const numOrNull = (x: unknown): number | null => (isNum(x) ? x : null);

/** The fields each event type must have, with their JSON type. */
const REQUIRED: Record<RunEvent['type'], Record<string, 'string' | 'number' | 'array' | 'object' | 'boolean'>> = {
  start: { model: 'string', pattern: 'string', method: 'string', epochs: 'number' },
  phase: { phase: 'string' },
  step: { epoch: 'number', step: 'number', globalStep: 'number', loss: 'number' },
  epoch: { epoch: 'number', coverage: 'number' },
  log: { message: 'string' },
  done: { output: 'string', summary: 'object' },
  error: { message: 'string' },
  cancelled: {},
};

function typeOf(x: unknown): string {
  return Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x;
}

function summaryOf(s: Obj, output: string): RunSummary {
  return {
    ...(s as unknown as RunSummary),
    output: typeof s.output === 'string' ? s.output : output,
    pattern: String(s.pattern ?? ''),
    method: (s.method ?? 'maxq') as RunSummary['method'],
    epochs: isNum(s.epochs) ? s.epochs : 0,
    sparsifiedLayers: isNum(s.sparsifiedLayers) ? s.sparsifiedLayers : 0,
    denseAccuracy: numOrNull(s.denseAccuracy),
    finalAccuracy: numOrNull(s.finalAccuracy),
    metric: s.metric === 'agreement' ? 'agreement' : 'accuracy',
    validationPass: s.validationPass === true,
    seconds: isNum(s.seconds) ? s.seconds : 0,
  };
}

/** Parses one non-empty line. Never throws. */
export function parseRunEventLine(line: string): LineResult {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (e) {
    return { ok: false, problem: `not JSON (${(e as Error).message})` };
  }
  if (!isObj(doc)) return { ok: false, problem: 'not a JSON object' };
  const type = doc.type;
  if (typeof type !== 'string' || !(type in REQUIRED)) return { ok: false, problem: `unknown event type ${JSON.stringify(type)}` };
  for (const [field, want] of Object.entries(REQUIRED[type as RunEvent['type']])) {
    const got = typeOf(doc[field]);
    if (got !== want) return { ok: false, problem: `a '${type}' event needs ${field} (${want}), got ${got}` };
  }
  const d = doc;
  switch (type as RunEvent['type']) {
    case 'start':
      return {
        ok: true,
        event: {
          type: 'start', runId: String(d.runId ?? ''), model: d.model as string, pattern: d.pattern as string, method: d.method as RunSummary['method'],
          epochs: d.epochs as number, stepsPerEpoch: isNum(d.stepsPerEpoch) ? d.stepsPerEpoch : 0,
          layers: Array.isArray(d.layers) ? d.layers.map(String) : [],
        },
      };
    case 'step':
      return {
        ok: true,
        event: {
          type: 'step', epoch: d.epoch as number, step: d.step as number, globalStep: d.globalStep as number, loss: d.loss as number,
          lr: isNum(d.lr) ? d.lr : 0, stepMs: isNum(d.stepMs) ? d.stepMs : 0, denseFraction: isNum(d.denseFraction) ? d.denseFraction : 0,
        },
      };
    case 'epoch':
      return {
        ok: true,
        event: {
          type: 'epoch', epoch: d.epoch as number, coverage: d.coverage as number,
          denseFraction: isNum(d.denseFraction) ? d.denseFraction : 1 - (d.coverage as number),
          trainLoss: isNum(d.trainLoss) ? d.trainLoss : NaN,
          trainAccuracy: numOrNull(d.trainAccuracy), valLoss: numOrNull(d.valLoss), valAccuracy: numOrNull(d.valAccuracy),
          layerCoverage: isObj(d.layerCoverage) ? (Object.fromEntries(Object.entries(d.layerCoverage).filter(([, v]) => isNum(v))) as Record<string, number>) : {},
          ...(isObj(d.importance) ? { importance: d.importance as Extract<RunEvent, { type: 'epoch' }>['importance'] } : {}),
        },
      };
    case 'phase':
      return { ok: true, event: { type: 'phase', phase: d.phase as string, ...(typeof d.detail === 'string' ? { detail: d.detail } : {}) } };
    case 'log':
      return {
        ok: true,
        event: { type: 'log', level: d.level === 'warn' ? 'warn' : 'info', message: d.message as string, ...(d.topic === 'preprocessing' ? { topic: 'preprocessing' as const } : {}) },
      };
    case 'done':
      return { ok: true, event: { type: 'done', output: d.output as string, record: String(d.record ?? ''), summary: summaryOf(d.summary as Obj, d.output as string) } };
    case 'error':
      return { ok: true, event: { type: 'error', message: d.message as string } };
    case 'cancelled':
      return { ok: true, event: { type: 'cancelled' } };
  }
}

/** A run is over once its log holds one of these. */
export function isTerminalEvent(e: RunEvent): boolean {
  return e.type === 'done' || e.type === 'error' || e.type === 'cancelled';
}
