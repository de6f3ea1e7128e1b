/**
 * Colours of the heatmap from the current VS Code theme. |w| runs background → blue → yellow (square-root scale,
 * since most weights are small); the soft mask maps 0 pruned, 1 kept, 2 = 1+F, 3 = 1+F+P to dim, blue, orange,
 * yellow; the kept fraction runs dim → blue. Tiles hold averages, so values between stops are interpolated.
 */
import type { HeatmapMode } from '../../src/protocol/messages';
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

export function colorFunction(mode: HeatmapMode, scaleMax: number, p: Palette): ColorFn {
  const top = scaleMax > 0 ? scaleMax : 1;
  if (mode === 'magnitude') {
    const stops = [p.background, p.blue, p.yellow];
    return (v) => ramp(stops, Math.sqrt(v / top));
  }
  if (mode === 'soft') {
    const stops = top > 2 ? [p.pruned, p.blue, p.orange, p.yellow] : [p.pruned, p.blue, p.orange];
    return (v) => ramp(stops, v / top);
  }
  const stops = [p.pruned, p.blue];
  return (v) => ramp(stops, v);
}

export interface LegendStop {
  at: number;
  label: string;
}

export function legendStops(mode: HeatmapMode, scaleMax: number): LegendStop[] {
  if (mode === 'magnitude') {
    const fmt = (x: number) => (x >= 0.01 ? x.toFixed(3) : x.toExponential(1));
    return [{ at: 0, label: '0' }, { at: 0.25, label: fmt(scaleMax / 16) }, { at: 0.5, label: fmt(scaleMax / 4) }, { at: 1, label: `${fmt(scaleMax)} (max |w|)` }];
  }
  if (mode === 'soft') {
    const stops = [{ at: 0, label: '0 pruned' }, { at: 1 / scaleMax, label: '1 kept' }, { at: 2 / scaleMax, label: '1+F' }];
    if (scaleMax > 2) stops.push({ at: 1, label: '1+F+P' });
    return stops;
  }
  return [{ at: 0, label: 'pruned' }, { at: 0.5, label: '50% kept' }, { at: 1, label: 'kept' }];
}
