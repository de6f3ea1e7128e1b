/**
 * VS Code theme colours for canvas drawing and charts. The host injects the theme as CSS variables on <html> and
 * a body class (vscode-light / vscode-dark / vscode-high-contrast[-light]); both are watched for theme switches.
 */
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export function themeKind(): ThemeKind {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

let probe: CanvasRenderingContext2D | null = null;

/** Any CSS colour (hex, rgb(), named) → RGBA bytes, via a 1×1 canvas. */
export function resolveColor(css: string): Rgba {
  probe ??= document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  if (!probe) return { r: 128, g: 128, b: 128, a: 255 };
  probe.clearRect(0, 0, 1, 1);
  probe.fillStyle = '#000';
  probe.fillStyle = css;
  probe.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
  return { r, g, b, a };
}

export function themeColor(name: string, fallback: string): Rgba {
  return resolveColor(cssVar(name, fallback));
}

export function rgbaString(c: Rgba, alpha = c.a / 255): string {
  return `rgba(${c.r}, ${c.g}, ${c.b}, ${alpha})`;
}

/** Blends `top` over `bottom` (both opaque results). */
export function mix(bottom: Rgba, top: Rgba, t: number): Rgba {
  return { r: bottom.r + (top.r - bottom.r) * t, g: bottom.g + (top.g - bottom.g) * t, b: bottom.b + (top.b - bottom.b) * t, a: 255 };
}

export function onThemeChange(callback: () => void): void {
  let pending = false;
  const fire = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      callback();
    });
  };
  const obs = new MutationObserver(fire);
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
}
