import { describe, expect, it } from 'vitest';
import { stratifiedSplit } from './split.ts';

const labels = Int32Array.from({ length: 300 }, (_, i) => (i < 200 ? 0 : i < 270 ? 1 : 2));

describe('stratifiedSplit', () => {
  it('covers every item once, sorted, with about testFraction of each class on the test side', () => {
    const { train, test } = stratifiedSplit(labels, { testFraction: 0.2, seed: 1 });
    expect(train.length + test.length).toBe(300);
    expect(new Set([...train, ...test]).size).toBe(300);
    expect(Array.from(test)).toEqual([...test].sort((a, b) => a - b));
    const count = (rows: Int32Array, c: number) => rows.filter((i) => labels[i] === c).length;
    expect([count(test, 0), count(test, 1), count(test, 2)]).toEqual([40, 14, 6]);
  });

  it('is deterministic for a seed and changes with the seed', () => {
    const a = stratifiedSplit(labels, { testFraction: 0.25, seed: 7 });
    const b = stratifiedSplit(labels, { testFraction: 0.25, seed: 7 });
    const c = stratifiedSplit(labels, { testFraction: 0.25, seed: 8 });
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.test)).not.toEqual(Array.from(c.test));
  });

  it('keeps each group on one side, and a one-group class on the train side', () => {
    const groups = Array.from(labels, (_, i) => (i >= 290 ? 'solo' : `g${Math.floor(i / 3)}`));
    const { train, test } = stratifiedSplit(labels, { testFraction: 0.2, seed: 3, groups });
    const sideOf = new Map<string, string>();
    for (const [rows, side] of [[train, 'train'], [test, 'test']] as const) {
      for (const i of rows) {
        expect(sideOf.get(groups[i]) ?? side).toBe(side);
        sideOf.set(groups[i], side);
      }
    }
    expect(sideOf.get('solo')).toBe('train');
    expect(test.filter((i) => labels[i] === 0).length).toBeGreaterThanOrEqual(39);
  });

  it('rejects a test fraction outside (0, 1)', () => {
    expect(() => stratifiedSplit(labels, { testFraction: 0, seed: 1 })).toThrow(RangeError);
    expect(() => stratifiedSplit(labels, { testFraction: 1, seed: 1 })).toThrow(RangeError);
  });
});
