import { describe, expect, it } from 'vitest';
import { probeLayers } from './probe.ts';
import { classCounts, combineLayerReports, probeCsv, probeJson, probeSubset, PROBE_CSV_HEADER } from './report.ts';
import { Rng } from '../engine/rng.ts';

/** Two classes whose features differ by a shift in layer 1 only. */
function toyFeatures(n: number, layers: number, width: number) {
  const rng = new Rng(3);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  const f = new Float32Array(n * layers * width);
  for (let i = 0; i < n; i++) for (let l = 0; l < layers; l++) for (let j = 0; j < width; j++) f[(i * layers + l) * width + j] = rng.nextFloat() + (l === 1 && j === 0 ? 3 * labels[i] : 0);
  return { labels, f };
}

describe('probe report', () => {
  it('CSV: a header and one row per layer with the JSON values at full precision', () => {
    const csv = probeCsv({
      chance: 0.5,
      best_layer: 1,
      layers: [
        { layer: 0, name: 'embeddings', accuracy: 0.5, train_accuracy: 0.625, validation_accuracy: null, l2: 10, iterations: 3, converged: true },
        { layer: 1, name: 'block 1', accuracy: 2 / 3, train_accuracy: 1, validation_accuracy: 1, l2: 0.1, iterations: 9, converged: true },
      ],
    });
    expect(csv).toBe(`${PROBE_CSV_HEADER}\n0,embeddings,0.5,0.625,10,0,0.5\n1,block 1,${2 / 3},1,0.1,1,0.5\n`);
  });

  it('fitting layer by layer and combining gives the report of one call over all layers', () => {
    const { labels, f } = toyFeatures(40, 3, 4);
    const shape = { images: 40, layers: 3, width: 4 };
    const whole = probeLayers(f, shape, labels, 2, { seed: 5, testFraction: 0.25 });
    const parts = [0, 1, 2].map((l) => probeLayers(f, shape, labels, 2, { seed: 5, testFraction: 0.25, layers: [l] }));
    const combined = combineLayerReports(parts);
    expect(probeJson(combined, ['a', 'b'])).toEqual(probeJson(whole, ['a', 'b']));
    expect(combined.bestLayer).toBe(1);
  });

  it('the per-class subset keeps about N per class, the same for the same seed', () => {
    const labels = Int32Array.from({ length: 30 }, (_, i) => i % 3);
    const data = { classes: ['a', 'b', 'c'], labels, tokens: Array.from({ length: 30 }, (_, i) => Int32Array.of(i)) };
    const a = probeSubset(data, 4, 7);
    expect(classCounts(a.labels, 3)).toEqual([4, 4, 4]);
    expect(probeSubset(data, 4, 7).tokens.map((t) => t[0])).toEqual(a.tokens.map((t) => t[0]));
    a.tokens.forEach((t, i) => expect(labels[t[0]]).toBe(a.labels[i]));
    expect(probeSubset(data, undefined, 7)).toBe(data);
  });
});
