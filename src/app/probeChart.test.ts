import { describe, expect, it } from 'vitest';
import { chartGeometry, percent, type ChartSize } from './probeChart.ts';

const SIZE: ChartSize = { width: 200, height: 120, margin: { left: 20, right: 0, top: 10, bottom: 10 } };

describe('probe chart geometry', () => {
  it('maps layers to x across the plot and accuracy to y (1 at the top, 0 at the bottom)', () => {
    const g = chartGeometry([{ layer: 0, accuracy: 0 }, { layer: 2, accuracy: 1 }, { layer: 1, accuracy: 0.5 }], 3, 0.25, SIZE);
    expect(g.plot).toEqual({ left: 20, right: 200, top: 10, bottom: 110 });
    expect(g.points.map((p) => [p.layer, p.x, p.y])).toEqual([[0, 20, 110], [1, 110, 60], [2, 200, 10]]);
    expect(g.path).toBe('M20,110 L110,60 L200,10');
    expect(g.chanceY).toBe(85);
    expect(g.xTicks.map((t) => t.x)).toEqual([20, 110, 200]);
    expect(g.yTicks).toEqual([{ value: 0, y: 110 }, { value: 0.25, y: 85 }, { value: 0.5, y: 60 }, { value: 0.75, y: 35 }, { value: 1, y: 10 }]);
  });

  it('marks the best layer, the first one on ties, as the probe report does', () => {
    const g = chartGeometry([{ layer: 0, accuracy: 0.3 }, { layer: 1, accuracy: 0.6 }, { layer: 2, accuracy: 0.6 }, { layer: 3, accuracy: 0.4 }], 4, 0.2, SIZE);
    expect(g.best?.layer).toBe(1);
  });

  it('draws a partial run on the full axis, and nothing before the first layer', () => {
    const partial = chartGeometry([{ layer: 0, accuracy: 0.5 }], 7, 0.1, SIZE);
    expect(partial.xTicks).toHaveLength(7);
    expect(partial.path).toBe('M20,60');
    const empty = chartGeometry([], 7, 0.1, SIZE);
    expect(empty.best).toBeNull();
    expect(empty.path).toBe('');
  });

  it('formats accuracies as percentages', () => {
    expect(percent(3 / 7)).toBe('42.9%');
    expect(percent(1)).toBe('100.0%');
  });
});
