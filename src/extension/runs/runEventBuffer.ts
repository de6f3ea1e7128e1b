/**
 * The events of one run as the dashboard needs them. Every event except 'step' is kept. Step events (one per
 * optimizer step, tens of thousands in a long run) are thinned: a step is kept when its global step is a multiple
 * of `stride`, and the stride doubles whenever more than `maxSteps` are held. Pure: no vscode import.
 */
import type { RunEvent } from '../../core/types';

type StepEvent = Extract<RunEvent, { type: 'step' }>;

export class RunEventBuffer {
  private readonly list: RunEvent[] = [];
  private steps = 0;
  private stride = 1;

  constructor(private readonly maxSteps = 2000) {}

  /** Adds an event; false when it was a step thinned away (so live listeners need not see it either). */
  add(e: RunEvent): boolean {
    if (e.type !== 'step') {
      this.list.push(e);
      return true;
    }
    if (e.globalStep % this.stride !== 0) return false;
    this.list.push(e);
    this.steps++;
    if (this.steps > this.maxSteps) this.thin();
    return e.globalStep % this.stride === 0;
  }

  addAll(events: readonly RunEvent[]): this {
    for (const e of events) this.add(e);
    return this;
  }

  events(): RunEvent[] {
    return this.list.slice();
  }

  get stepStride(): number {
    return this.stride;
  }

  private thin(): void {
    while (this.steps > this.maxSteps) {
      this.stride *= 2;
      let kept = 0;
      let w = 0;
      for (let r = 0; r < this.list.length; r++) {
        const e = this.list[r];
        if (e.type === 'step' && (e as StepEvent).globalStep % this.stride !== 0) continue;
        if (e.type === 'step') kept++;
        this.list[w++] = e;
      }
      this.list.length = w;
      this.steps = kept;
    }
  }
}
