/**
 * Folds a run's events into the series the dashboard plots. x values are in epochs: epoch events sit at
 * epoch + 1 (the end of that epoch), step events at (globalStep + 1) / stepsPerEpoch. Pure.
 */
import type { RunEvent } from '../../src/protocol/messages';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

export interface Point {
  x: number;
  y: number;
}

export interface RunSeries {
  start: Ev<'start'> | null;
  phase: string | null;
  coverage: Point[];
  target: Point[];
  targetFromSteps: boolean;
  layerCoverage: Map<string, Point[]>;
  trainLoss: Point[];
  valLoss: Point[];
  trainAccuracy: Point[];
  valAccuracy: Point[];
  stepLoss: Point[];
  lr: Point[];
  logs: { level: 'info' | 'warn' | 'error'; message: string }[];
  done: Ev<'done'> | null;
  error: string | null;
  cancelled: boolean;
  lastEpoch: Ev<'epoch'> | null;
  /**
   * What the accuracy numbers measure: top-1 against labels, or top-1 agreement with the dense model (data without
   * labels). Known from the run's summary, or while it runs from its epochs (no train accuracy = no labels);
   * null until then.
   */
  metric: 'accuracy' | 'agreement' | null;
}

const MAX_LOGS = 200;

export function emptySeries(): RunSeries {
  return {
    start: null, phase: null, coverage: [], target: [], targetFromSteps: false, layerCoverage: new Map(), trainLoss: [], valLoss: [],
    trainAccuracy: [], valAccuracy: [], stepLoss: [], lr: [], logs: [], done: null, error: null, cancelled: false, lastEpoch: null, metric: null,
  };
}

function log(s: RunSeries, level: 'info' | 'warn' | 'error', message: string): void {
  s.logs.push({ level, message });
  if (s.logs.length > MAX_LOGS) s.logs.splice(0, s.logs.length - MAX_LOGS);
}

export function applyEvent(s: RunSeries, e: RunEvent): void {
  switch (e.type) {
    case 'start':
      s.start = e;
      return;
    case 'phase':
      s.phase = e.detail ? `${e.phase}: ${e.detail}` : e.phase;
      log(s, 'info', s.phase);
      return;
    case 'step': {
      const per = s.start?.stepsPerEpoch || 0;
      const x = per > 0 ? (e.globalStep + 1) / per : e.epoch + (e.step + 1) / Math.max(1, e.step + 1);
      s.stepLoss.push({ x, y: e.loss });
      s.lr.push({ x, y: e.lr });
      // The schedule can change per step; its target then follows the steps, not just the epoch ends.
      s.target.push({ x, y: (1 - e.denseFraction) * 100 });
      s.targetFromSteps = true;
      return;
    }
    case 'epoch': {
      const x = e.epoch + 1;
      s.lastEpoch = e;
      s.coverage.push({ x, y: e.coverage * 100 });
      if (!s.targetFromSteps) s.target.push({ x, y: (1 - e.denseFraction) * 100 });
      for (const [name, c] of Object.entries(e.layerCoverage)) {
        let list = s.layerCoverage.get(name);
        if (!list) s.layerCoverage.set(name, (list = []));
        list.push({ x, y: c * 100 });
      }
      s.trainLoss.push({ x, y: e.trainLoss });
      if (e.valLoss !== null) s.valLoss.push({ x, y: e.valLoss });
      if (e.trainAccuracy !== null) s.trainAccuracy.push({ x, y: e.trainAccuracy * 100 });
      if (e.valAccuracy !== null) s.valAccuracy.push({ x, y: e.valAccuracy * 100 });
      // A fine-tuning epoch without train accuracy had no labels: its validation number is agreement. (A one-shot
      // run's single epoch has no train accuracy either way; its summary says.)
      if (s.metric === null && (s.start?.epochs ?? 0) > 0 && e.valAccuracy !== null) s.metric = e.trainAccuracy === null ? 'agreement' : 'accuracy';
      return;
    }
    case 'log':
      log(s, e.level, e.message);
      return;
    case 'done':
      s.done = e;
      s.phase = 'done';
      if (e.summary.metric) s.metric = e.summary.metric;
      return;
    case 'error':
      s.error = e.message;
      log(s, 'error', e.message);
      return;
    case 'cancelled':
      s.cancelled = true;
      s.phase = 'cancelled';
      return;
  }
}

/** Thins stored step events (every other one) once there are more than `max`, keeping the state small. */
export function thinSteps(events: RunEvent[], max: number): RunEvent[] {
  let steps = events.filter((e) => e.type === 'step').length;
  let out = events;
  while (steps > max) {
    let k = 0;
    out = out.filter((e) => e.type !== 'step' || k++ % 2 === 0);
    steps = Math.ceil(steps / 2);
  }
  return out;
}
