import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clusterValueToByte, dequantize, nearestCluster, paletteRgb, preparePalette, quantize, rintHalfEven } from './palette.ts';

const dir = new URL('../../test/data/imagegpt-tiny-a/', import.meta.url);
const clusters = (JSON.parse(readFileSync(new URL('preprocessor_config.json', dir), 'utf8')) as { clusters: number[][] }).clusters;
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as { token_rgb: Record<string, number[]> };

describe('palette', () => {
  it('has 512 clusters in the fixture', () => {
    expect(clusters.length).toBe(512);
  });

  it('dequantizes the listed tokens exactly as the reference', () => {
    const ids = Object.keys(expected.token_rgb).map(Number);
    expect(ids.length).toBeGreaterThan(0);
    const rgb = dequantize(ids, clusters);
    ids.forEach((id, i) => {
      expect(Array.from(rgb.subarray(i * 3, i * 3 + 3))).toEqual(expected.token_rgb[String(id)]);
    });
    const table = paletteRgb(clusters);
    for (const id of ids) expect(table[id]).toEqual(expected.token_rgb[String(id)]);
  });

  it('rounds exact halves to even like numpy.rint', () => {
    // 127.5 * (c + 1) evaluates to exactly 32.5 for this c: half-to-even gives 32 (half-up would give 33).
    const c = 65 / 255 - 1;
    expect(127.5 * (c + 1)).toBe(32.5);
    expect(clusterValueToByte(c)).toBe(32);
    const c2 = 71 / 255 - 1; // 35.5 -> 36
    expect(127.5 * (c2 + 1)).toBe(35.5);
    expect(clusterValueToByte(c2)).toBe(36);
    expect(clusterValueToByte(0)).toBe(128); // 127.5 -> 128
    expect(Array.from(dequantize([0, 1, 2], [[c, c2, 0], [-1, 1, -0.999], [5, -5, 1e-9]]))).toEqual([
      32, 36, 128, 0, 255, 0, 255, 0, 128,
    ]);
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001].map(rintHalfEven)).toEqual([0, 2, 2, 0, -2, 2, 3]);
  });

  it('rejects token ids outside the palette', () => {
    expect(() => dequantize([512], clusters)).toThrow(/512/);
    expect(() => dequantize([-1], clusters)).toThrow(RangeError);
  });

  it('quantize picks the nearest cluster (checked against a plain float64 search) and the first on ties', () => {
    const rgb = new Uint8Array(3 * 4096);
    let s = 7;
    for (let i = 0; i < rgb.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      rgb[i] = s >>> 24;
    }
    const tokens = quantize(rgb, clusters);
    for (let p = 0; p < 4096; p++) {
      const x = [0, 1, 2].map((c) => rgb[p * 3 + c] / 127.5 - 1);
      let best = 0;
      let bestD = Infinity;
      clusters.forEach((cl, k) => {
        const d = (x[0] - cl[0]) ** 2 + (x[1] - cl[1]) ** 2 + (x[2] - cl[2]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = k;
        }
      });
      if (tokens[p] !== best) {
        // Only a near-tie may differ between the two formulas.
        const cl = clusters[tokens[p]];
        const d = (x[0] - cl[0]) ** 2 + (x[1] - cl[1]) ** 2 + (x[2] - cl[2]) ** 2;
        expect(d - bestD).toBeLessThan(1e-6);
      }
    }
    // Ties: duplicated clusters -> the first index wins.
    const dup = [[0.1, 0.2, 0.3], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]];
    expect(nearestCluster(191, 191, 191, preparePalette(dup))).toBe(1);
    expect(Array.from(quantize(new Uint8Array([191, 191, 191, 0, 0, 0]), dup))).toEqual([1, 0]);
  });
});
