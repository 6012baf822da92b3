// Plotting without a browser: raster canvas, 5x7 font, line/bar charts, heat maps, PNG output.
export { Canvas, type Point, type TextOptions, type StrokeOptions } from './canvas.ts';
export { parseColor, seriesColor, viridis, luminance, TAB10, type Color, type RGBA } from './color.ts';
export { textWidth, textHeight, glyph, CELL_W, CELL_H, GLYPH_W, GLYPH_H } from './font.ts';
export { Axes, niceTicks, logTicks, formatNumber, formatTicks, extent, type Scale, type FrameOptions } from './axes.ts';
export { lineChart, drawLegend, type Series, type LineChartOptions } from './line-chart.ts';
export { barChart, type BarSeries, type BarChartOptions } from './bar-chart.ts';
export { heatmap, type HeatmapOptions } from './heatmap.ts';
export { gridOf } from './grid.ts';
export { encodePng, writePng, decodePng } from './png.ts';
