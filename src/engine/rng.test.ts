import { describe, expect, it } from 'vitest';
import { Rng, splitmix32 } from './rng.ts';

// Pinned values were computed with src/engine/rng.reference.py, an independent Python
// implementation (unbounded integers masked to 32 bits), and agree with this module.
const SEED0_STATE = [2462723854, 1020716019, 454327756, 1275600319];
const SEED0_UINT32 = [3809008728, 1133695204, 53579671, 2891528803, 139681546, 2203266335, 104831812, 1587294886];
const SEED0_FLOAT = [0.8868539502021594, 0.012474988946590604, 0.032522145755498943, 0.024408060085556516];
const SEED42_STATE = [939911724, 3948730756, 321366731, 3317318717];
const SEED42_UINT32 = [2837322924, 544945897, 479756282, 3500138142, 339756180, 113173290, 65323186, 1112262688];
const SEED42_FLOAT = [0.6606157208001621, 0.1117019639532224, 0.0791056456144914, 0.015209237180418];
const SEEDMAX_UINT32 = [835879718, 1921286648, 2356205009, 1885780724, 980451116, 1053911718, 3677392737, 2464361898];

const take = (n: number, f: () => number) => Array.from({ length: n }, f);

describe('Rng (xoshiro128** seeded by splitmix32)', () => {
  it('matches the xoshiro128** reference vector from state {1,2,3,4}', () => {
    // Output of Blackman & Vigna's xoshiro128starstar.c v1.1 (also the rand_xoshiro crate test vector).
    const r = Rng.fromState([1, 2, 3, 4]);
    expect(take(10, () => r.nextUint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it('seeds 0, 42 and 2^32-1 give the pinned states and outputs', () => {
    expect(new Rng(0).getState()).toEqual(SEED0_STATE);
    expect(new Rng(42).getState()).toEqual(SEED42_STATE);
    const a = new Rng(0);
    expect(take(8, () => a.nextUint32())).toEqual(SEED0_UINT32);
    const b = new Rng(42);
    expect(take(8, () => b.nextUint32())).toEqual(SEED42_UINT32);
    const c = new Rng(0xffffffff);
    expect(take(8, () => c.nextUint32())).toEqual(SEEDMAX_UINT32);
    const fa = new Rng(0);
    expect(take(4, () => fa.nextFloat())).toEqual(SEED0_FLOAT);
    const fb = new Rng(42);
    expect(take(4, () => fb.nextFloat())).toEqual(SEED42_FLOAT);
  });

  it('splitmix32 first output for counter 0', () => {
    expect(splitmix32(0)).toEqual([0x9e3779b9, SEED0_STATE[0]]);
  });

  it('reduces the seed modulo 2^32 and rejects non-integers', () => {
    expect(new Rng(-1).getState()).toEqual(new Rng(0xffffffff).getState());
    expect(new Rng(2 ** 32 + 42).getState()).toEqual(SEED42_STATE);
    expect(() => new Rng(1.5)).toThrow(/seed/);
    expect(() => new Rng(Number.NaN)).toThrow(/seed/);
  });

  it('is reproducible, and getState/fromState/clone continue the same stream', () => {
    const a = new Rng(1234);
    const b = new Rng(1234);
    expect(take(1000, () => a.nextUint32())).toEqual(take(1000, () => b.nextUint32()));
    const saved = a.getState();
    const next = take(50, () => a.nextFloat());
    expect(take(50, () => Rng.fromState(saved).nextFloat())[0]).toBe(next[0]);
    const r = Rng.fromState(saved);
    expect(take(50, () => r.nextFloat())).toEqual(next);
    const c = b.clone();
    expect(take(20, () => c.nextUint32())).toEqual(take(20, () => b.nextUint32()));
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/all-zero/);
    expect(() => Rng.fromState([1, 2, 3])).toThrow(/four/);
  });

  it('nextFloat is in [0, 1) with mean ~1/2 and nextUint32 spreads over 32 bits', () => {
    const r = new Rng(7);
    let sum = 0;
    let min = 1;
    let max = 0;
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const x = r.nextFloat();
      sum += x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // mean of N uniforms has sd sqrt(1/12/N) ~ 0.0009; allow 5 sd
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(0.0046);
    let bits = 0;
    for (let i = 0; i < 64; i++) bits |= r.nextUint32();
    expect(bits >>> 0).toBe(0xffffffff);
  });
});
