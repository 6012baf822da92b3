// Colours for the raster canvas: RGBA tuples (0..255), '#rrggbb' / '#rrggbbaa' strings, the
// matplotlib tab10 cycle for series and the viridis colormap for heat maps.

export type RGBA = readonly [number, number, number, number];
export type Color = string | RGBA | readonly [number, number, number];

export function parseColor(c: Color): RGBA {
  if (typeof c !== 'string') return c.length === 4 ? (c as RGBA) : [c[0], c[1], c[2], 255];
  const named = NAMED[c];
  if (named) return named;
  const m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c);
  if (!m) throw new Error(`plot: cannot parse colour '${c}' (use '#rrggbb', '#rrggbbaa' or [r, g, b, a])`);
  const v = parseInt(m[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255, m[2] ? parseInt(m[2], 16) : 255];
}

const NAMED: Record<string, RGBA> = {
  white: [255, 255, 255, 255],
  black: [0, 0, 0, 255],
  transparent: [0, 0, 0, 0],
  gray: [128, 128, 128, 255],
};

/** matplotlib's default colour cycle (tab10). */
export const TAB10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'] as const;

export function seriesColor(i: number): RGBA {
  return parseColor(TAB10[((i % TAB10.length) + TAB10.length) % TAB10.length]);
}

// viridis sampled at 0, 1/8, ..., 1 (matplotlib), interpolated linearly in between
const VIRIDIS = ['#440154', '#472c7a', '#3b518b', '#2c718e', '#21908d', '#27ad81', '#5cc863', '#aadc32', '#fde725'].map(parseColor);

/** viridis(t) for t in [0, 1] (clamped; NaN -> transparent). */
export function viridis(t: number): RGBA {
  if (Number.isNaN(t)) return [0, 0, 0, 0];
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)).concat(255) as unknown as RGBA;
}

/** relative luminance in [0, 1] (sRGB weights, no gamma): picks black or white text on a colour */
export function luminance(c: RGBA): number {
  return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;
}
