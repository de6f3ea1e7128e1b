/** Text of the heatmap tooltip: the weight, its N:M block and the block's mask values, or a tile's summary. */
import type { CellDetail, HeatmapTiles } from '../../src/protocol/messages';
import { h } from '../components/dom';
import { formatNumber, formatPercent } from '../components/format';

export function cellLines(c: CellDetail): string[] {
  const lines = [`output ${c.o} · input ${c.i} · kernel (${c.h}, ${c.w})`, `w = ${formatNumber(c.weight, 6)}`];
  if (c.block !== null && c.blockFirstChannel !== null) {
    lines.push(`block #${c.block} · input channels ${c.blockFirstChannel}–${c.blockFirstChannel + c.blockWeights.length - 1}`);
  }
  if (c.hard !== null && c.soft !== null) lines.push(`mask H = ${c.hard} · S = ${formatNumber(c.soft, 3)} (${c.softClass})`);
  else if (c.maskUnavailable) lines.push(`no mask: ${c.maskUnavailable}`);
  return lines;
}

export function cellContent(c: CellDetail): HTMLElement {
  const rows: HTMLElement[] = cellLines(c).map((l) => h('div', {}, l));
  if (c.blockWeights.length > 1) {
    const head = h('tr', {}, h('th', {}, ''), ...c.blockWeights.map((_, j) => h('th', { class: c.blockFirstChannel! + j === c.i ? 'current' : undefined }, `i${c.blockFirstChannel! + j}`)));
    const line = (label: string, values: number[] | null, digits: number) =>
      values ? h('tr', {}, h('th', {}, label), ...values.map((x, j) => h('td', { class: c.blockFirstChannel! + j === c.i ? 'current' : undefined }, formatNumber(x, digits)))) : null;
    rows.push(h('table', { class: 'block-table' }, head, line('w', c.blockWeights, 4), line('H', c.blockHard, 0), line('S', c.blockSoft, 2)));
  }
  return h('div', {}, ...rows);
}

const QUANTITY_LABEL = { magnitude: '|w|', soft: 'soft mask', keptFraction: 'kept fraction', keptShare: 'share of |w| kept' } as const;

export function tileSummary(t: HeatmapTiles, row: number, col: number): string | null {
  if (t.tileW === 1 && t.tileH === 1) return null;
  const tr = Math.floor((row - t.row0) / t.tileH), tc = Math.floor((col - t.col0) / t.tileW);
  if (tr < 0 || tc < 0 || tr >= t.tileRows || tc >= t.tileCols) return null;
  const v = t.values[tr * t.tileCols + tc];
  const percent = t.quantity === 'keptFraction' || t.quantity === 'keptShare';
  const agg = percent ? '' : `${t.aggregate} `;
  const value = percent ? formatPercent(v) : formatNumber(v, 4);
  return `tile of ${t.tileH}×${t.tileW} weights: ${agg}${QUANTITY_LABEL[t.quantity]} ${value}`;
}
