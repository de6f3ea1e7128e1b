/**
 * Colours of the heatmap from the current VS Code theme. |w| runs background → blue → yellow (square-root scale at
 * one weight per pixel, since most weights are small; contrast-stretched by percentile when tiles aggregate); the
 * soft mask maps 0 pruned, 1 kept, 2 = 1+F, 3 = 1+F+P to dim, blue, orange, yellow; kept vs pruned runs dim → blue,
 * the kept fraction relative to N/M runs orange (fewer kept) → grey (N/M) → blue (more kept), and the share of |w|
 * kept runs dim → blue → yellow. The host says which scale (`tiles.scale`); `scalePosition` places a value on it.
 */
import type { HeatmapTiles } from '../../src/protocol/messages';
import { scalePosition } from '../../src/extension/heatmap/tileScale';
import { mix, Rgba, themeColor } from '../components/theme';

export interface Palette {
  background: Rgba;
  foreground: Rgba;
  pruned: Rgba;
  blue: Rgba;
  orange: Rgba;
  yellow: Rgba;
  separator: Rgba;
  blockLine: Rgba;
  highlight: Rgba;
  cursor: Rgba;
}

export function readPalette(): Palette {
  const background = themeColor('--vscode-editor-background', '#1e1e1e');
  const foreground = themeColor('--vscode-editor-foreground', '#cccccc');
  return {
    background,
    foreground,
    pruned: mix(background, foreground, 0.1),
    blue: themeColor('--vscode-charts-blue', '#3794ff'),
    orange: themeColor('--vscode-charts-orange', '#d18616'),
    yellow: themeColor('--vscode-charts-yellow', '#cca700'),
    separator: mix(background, foreground, 0.55),
    blockLine: mix(background, foreground, 0.25),
    highlight: themeColor('--vscode-editorError-foreground', '#f14c4c'),
    cursor: themeColor('--vscode-focusBorder', '#007fd4'),
  };
}

/** Piecewise-linear through evenly spaced stops, t in [0, 1]. */
function ramp(stops: Rgba[], t: number): Rgba {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(x));
  return mix(stops[k], stops[k + 1], x - k);
}

export type ColorFn = (value: number) => Rgba;
type TileKind = Pick<HeatmapTiles, 'quantity' | 'scale' | 'scaleMax'>;

/** The colour at ramp position t in [0, 1] for these tiles (the legend strip paints t = 0..1). */
export function rampFunction(tiles: TileKind, p: Palette): (t: number) => Rgba {
  let stops: Rgba[];
  if (tiles.quantity === 'magnitude') stops = [p.background, p.blue, p.yellow];
  else if (tiles.quantity === 'soft') stops = tiles.scaleMax > 2 ? [p.pruned, p.blue, p.orange, p.yellow] : [p.pruned, p.blue, p.orange];
  else if (tiles.quantity === 'keptShare') stops = [p.pruned, p.blue, p.yellow];
  else if (tiles.scale.kind === 'deviation') stops = [p.orange, mix(p.background, p.foreground, 0.3), p.blue];
  else stops = [p.pruned, p.blue];
  return (t) => ramp(stops, t);
}

export function colorFunction(tiles: TileKind, p: Palette): ColorFn {
  const at = rampFunction(tiles, p);
  return (v) => at(scalePosition(tiles.scale, tiles.quantity, tiles.scaleMax, v));
}

export interface LegendStop {
  at: number;
  label: string;
}

function fmtAbs(x: number): string {
  return x === 0 ? '0' : Math.abs(x) >= 0.01 ? x.toFixed(3) : x.toExponential(1);
}

function fmtPct(x: number): string {
  return `${(x * 100).toFixed(Math.abs(x) >= 0.1 ? 0 : 1)}%`;
}

export function legendStops(tiles: TileKind & Pick<HeatmapTiles, 'pattern'>): LegendStop[] {
  const { scale, quantity, scaleMax } = tiles;
  if (scale.kind === 'percentile') {
    const fmt = quantity === 'keptShare' ? fmtPct : fmtAbs;
    const mid = scalePosition(scale, quantity, scaleMax, scale.mid);
    const stops = [{ at: 0, label: `≤ ${fmt(scale.lo)} (2nd pct)` }, { at: 1, label: `≥ ${fmt(scale.hi)} (98th pct)` }];
    if (mid > 0.2 && mid < 0.8) stops.splice(1, 0, { at: mid, label: `median ${fmt(scale.mid)}` });
    return stops;
  }
  if (scale.kind === 'deviation') {
    const sign = (x: number) => (x > 0 ? '+' : x < 0 ? '−' : '±');
    const d = scale.span;
    return [
      { at: 0, label: `${fmtPct(Math.max(0, scale.target - d))} (${sign(-d)}${fmtPct(d)})` },
      { at: 0.5, label: `${tiles.pattern}: ${fmtPct(scale.target)}` },
      { at: 1, label: `${fmtPct(Math.min(1, scale.target + d))} (${sign(d)}${fmtPct(d)})` },
    ];
  }
  if (quantity === 'magnitude') {
    return [{ at: 0, label: '0' }, { at: 0.25, label: fmtAbs(scaleMax / 16) }, { at: 0.5, label: fmtAbs(scaleMax / 4) }, { at: 1, label: `${fmtAbs(scaleMax)} (max |w|)` }];
  }
  if (quantity === 'soft') {
    const stops = [{ at: 0, label: '0 pruned' }, { at: 1 / scaleMax, label: '1 kept' }, { at: 2 / scaleMax, label: '1+F' }];
    if (scaleMax > 2) stops.push({ at: 1, label: '1+F+P' });
    return stops;
  }
  return [{ at: 0, label: 'pruned' }, { at: 0.5, label: '50% kept' }, { at: 1, label: 'kept' }];
}
