/**
 * The Probe view's chart as geometry: test accuracy by layer (x: layer 0..L, y: accuracy 0..1),
 * the chance level and the best layer. Pure, so it is tested without a DOM; ProbeView draws it
 * as SVG.
 */
export interface ChartSize {
  width: number;
  height: number;
  /** Room for the axes' labels. */
  margin: { left: number; right: number; top: number; bottom: number };
}

export interface ChartPoint {
  layer: number;
  accuracy: number;
  x: number;
  y: number;
}

export interface ChartGeometry {
  points: ChartPoint[];
  /** SVG path of the accuracy line through the points, in layer order. */
  path: string;
  chanceY: number;
  /** The best point (highest accuracy, the first on ties), or null with no points. */
  best: ChartPoint | null;
  xTicks: { layer: number; x: number }[];
  yTicks: { value: number; y: number }[];
  plot: { left: number; right: number; top: number; bottom: number };
}

export const DEFAULT_CHART_SIZE: ChartSize = { width: 640, height: 360, margin: { left: 56, right: 16, top: 16, bottom: 44 } };

const round2 = (v: number) => Math.round(v * 100) / 100;

/** `layers` = nLayer + 1 positions on the x axis (0 = embeddings), whether fitted yet or not. */
export function chartGeometry(results: { layer: number; accuracy: number }[], layers: number, chance: number, size: ChartSize = DEFAULT_CHART_SIZE): ChartGeometry {
  const plot = { left: size.margin.left, right: size.width - size.margin.right, top: size.margin.top, bottom: size.height - size.margin.bottom };
  const span = Math.max(1, layers - 1);
  const xOf = (layer: number) => round2(plot.left + ((plot.right - plot.left) * layer) / span);
  const yOf = (acc: number) => round2(plot.bottom - (plot.bottom - plot.top) * Math.min(1, Math.max(0, acc)));
  const points = [...results].sort((a, b) => a.layer - b.layer).map((r) => ({ layer: r.layer, accuracy: r.accuracy, x: xOf(r.layer), y: yOf(r.accuracy) }));
  let best: ChartPoint | null = null;
  for (const p of points) if (!best || p.accuracy > best.accuracy) best = p;
  return {
    points,
    path: points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' '),
    chanceY: yOf(chance),
    best,
    xTicks: Array.from({ length: layers }, (_, layer) => ({ layer, x: xOf(layer) })),
    yTicks: [0, 0.25, 0.5, 0.75, 1].map((value) => ({ value, y: yOf(value) })),
    plot,
  };
}

/** "42.9%" */
export function percent(v: number, digits = 1): string {
  return `${(100 * v).toFixed(digits)}%`;
}
