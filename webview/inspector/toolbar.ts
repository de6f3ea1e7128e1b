/** The inspector's toolbar: pattern and method (masks recompute on the host), colour mode, tile aggregate, actions. */
import type { HeatmapMode, MaskMethod, TileAggregate } from '../../src/protocol/messages';
import { COMMON_PATTERNS, MASK_METHODS } from '../../src/protocol/messages';
import { button } from '../components/button';
import { h } from '../components/dom';
import { dropdown } from '../components/dropdown';

export interface ToolbarValues {
  pattern: string;
  method: MaskMethod;
  mode: HeatmapMode;
  aggregate: TileAggregate;
}

export interface ToolbarCallbacks {
  patternOrMethod(pattern: string, method: MaskMethod): void;
  mode(mode: HeatmapMode): void;
  aggregate(aggregate: TileAggregate): void;
  command(command: 'sparsify' | 'validate'): void;
}

export function patternOptions(current: string): { value: string; label: string }[] {
  const list = COMMON_PATTERNS.includes(current) ? COMMON_PATTERNS : [current, ...COMMON_PATTERNS];
  return list.map((p) => ({ value: p, label: p }));
}

export function buildToolbar(v: ToolbarValues, cb: ToolbarCallbacks): { element: HTMLElement; setPattern(p: string): void } {
  const pattern = dropdown<string>({ id: 'insp-pattern', label: 'Pattern', value: v.pattern, options: patternOptions(v.pattern), onChange: (p) => cb.patternOrMethod(p, method.value) });
  const method = dropdown<MaskMethod>({
    id: 'insp-method', label: 'Method', value: v.method,
    options: MASK_METHODS.map((m) => ({ value: m, label: m === 'maxq' ? 'MaxQ' : m === 'srste' ? 'SR-STE' : 'magnitude' })),
    onChange: (m) => cb.patternOrMethod(pattern.value, m),
  });
  const mode = dropdown<HeatmapMode>({
    id: 'color-mode', label: 'Colour by', value: v.mode,
    options: [{ value: 'magnitude', label: '|w|' }, { value: 'soft', label: 'MaxQ soft mask (1 / 1+F / 1+F+P)' }, { value: 'kept', label: 'kept vs pruned' }],
    onChange: cb.mode,
  });
  const aggregate = dropdown<TileAggregate>({
    id: 'aggregate', label: 'Tiles show', value: v.aggregate,
    options: [{ value: 'mean', label: 'mean' }, { value: 'max', label: 'max' }],
    onChange: cb.aggregate,
  });
  const actions = h('div', { class: 'actions toolbar-actions' },
    button({ id: 'action-sparsify', label: 'Sparsify…', appearance: 'secondary', onClick: () => cb.command('sparsify') }),
    button({ id: 'action-validate', label: 'Validate', appearance: 'secondary', onClick: () => cb.command('validate') }));
  return {
    element: h('div', { class: 'toolbar', id: 'inspector-toolbar' }, pattern.element, method.element, mode.element, aggregate.element, actions),
    setPattern(p) {
      pattern.setOptions(patternOptions(p), p);
    },
  };
}
