import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/rng.ts';
import { probeLayers } from './probe.ts';
import { syntheticFeatures } from './testData.ts';

describe('probeLayers', () => {
  const images = 600;
  const classes = 6;
  const { features, labels } = syntheticFeatures(images, 3, 16, classes, 11, 1);
  const shape = { images, layers: 3, width: 16 };

  it('finds the separable layer (~100%) and leaves the noise layers near chance', () => {
    const report = probeLayers(features, shape, labels, classes, { seed: 5 });
    expect(report.bestLayer).toBe(1);
    expect(report.layers[1].testAccuracy).toBeGreaterThanOrEqual(0.99);
    expect(report.layers[1].trainAccuracy).toBeGreaterThanOrEqual(0.99);
    for (const l of [0, 2]) expect(Math.abs(report.layers[l].testAccuracy - report.uniformChance)).toBeLessThan(0.12);
    expect(report.chance).toBeCloseTo(1 / 6, 10);
    expect(report.counts).toMatchObject({ images, train: 480, test: 120 });
    expect(report.counts.testPerClass).toEqual([20, 20, 20, 20, 20, 20]);
  });

  it('random labels stay near chance on every layer', () => {
    const rng = new Rng(9);
    const random = Int32Array.from({ length: images }, () => Math.floor(rng.nextFloat() * classes));
    const report = probeLayers(features, shape, random, classes, { seed: 5 });
    for (const l of report.layers) expect(Math.abs(l.testAccuracy - report.uniformChance)).toBeLessThan(0.12);
  });

  it('is deterministic for a seed', () => {
    const a = probeLayers(features, shape, labels, classes, { seed: 3, layers: [0, 1] });
    const b = probeLayers(features, shape, labels, classes, { seed: 3, layers: [0, 1] });
    expect(a).toEqual(b);
    const c = probeLayers(features, shape, labels, classes, { seed: 4, layers: [0, 1] });
    expect(c.layers[0].testAccuracy).not.toBe(a.layers[0].testAccuracy);
  });

  it('takes a fixed l2 and reports it', () => {
    const report = probeLayers(features, shape, labels, classes, { seed: 1, l2: 0.01, layers: [1] });
    expect(report.layers.map((l) => [l.layer, l.l2, l.validationAccuracy])).toEqual([[1, 0.01, null]]);
  });
});
