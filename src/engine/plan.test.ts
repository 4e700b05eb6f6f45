import { describe, expect, it } from 'vitest';
import { LIMITS, planRun, sampleSeed, recentTokensPerSecond, timeLeftText, tokensPerSecond, validateSampleSettings } from './plan.ts';

const image = Int32Array.from({ length: 1024 }, (_, i) => i % 512);
const base = { temperatures: [1], samples: 4, topK: 0, topP: 1, seed: 1234, rowsToKeep: 16 };

describe('planRun', () => {
  it('keeps the top rows and gives column j the seed sampleSeed(seed, j) in every row', () => {
    const p = planRun(image, { ...base, temperatures: [0.5, 1, 1.5], samples: 4, seed: 99, topK: 10 });
    expect(p.prompt).toEqual(image.subarray(0, 16 * 32));
    expect([p.rows, p.cols, p.maxNewTokens]).toEqual([3, 4, 512]);
    expect(p.samples).toHaveLength(12);
    p.samples.forEach((s, i) => {
      expect(s).toEqual({ temperature: p.temperatures[Math.floor(i / 4)], topK: 10, topP: 1, seed: sampleSeed(99, i % 4) });
    });
  });

  it('names the setting that is out of range', () => {
    expect(() => planRun(image, { ...base, temperatures: [2.5] })).toThrow(/^temperature: must be between 0 and 2/);
    expect(() => planRun(image, { ...base, topK: 1.5 })).toThrow(/^top-k: must be a whole number from 0/);
    expect(() => planRun(image, { ...base, topP: 0 })).toThrow(/^top-p: must be between 0.01 and 1/);
    expect(() => planRun(image, { ...base, seed: -1 })).toThrow(/^seed: must be a whole number/);
    expect(() => planRun(image, { ...base, rowsToKeep: 32 })).toThrow(/^rows to keep: must be a whole number from 0 to 31/);
    expect(() => planRun(image, { ...base, temperatures: [] })).toThrow(/^temperatures: give 1 to 6/);
    expect(() => planRun(image, { ...base, temperatures: [1, 1], samples: 33 })).toThrow(/^samples: must be a whole number from 1 to 32 with 2 temperature/);
    expect(() => planRun(image, { ...base, maxNewTokens: 513 })).toThrow(/^max new tokens: must be a whole number from 1 to 512/);
    expect(() => planRun(image.subarray(0, 100), base)).toThrow(/^image: has 100 tokens, expected 1024/);
    expect(() => planRun(Int32Array.from(image, () => 600), base)).toThrow(/^image: token 600 is not a palette index/);
  });

  it('allows the whole batch and the limits themselves', () => {
    const p = planRun(image, { ...base, temperatures: [0, 2], samples: LIMITS.batch / 2, topK: 512, topP: 0.01, seed: 0xffffffff, rowsToKeep: 0 });
    expect(p.samples).toHaveLength(LIMITS.batch);
    expect(p.prompt).toHaveLength(0);
    expect(() => validateSampleSettings({ temperature: 2, topK: 0, topP: 1, seed: 0 })).not.toThrow();
  });
});

describe('sampleSeed', () => {
  it('mixes seed and column, reproducibly', () => {
    expect(sampleSeed(1, 0)).not.toBe(sampleSeed(2, 0));
    expect(sampleSeed(1, 0)).not.toBe(sampleSeed(1, 1));
    expect(sampleSeed(1, 1)).not.toBe(sampleSeed(2, 0));
    expect(sampleSeed(123, 4)).toBe(sampleSeed(123, 4));
    expect(sampleSeed(123, 4)).toBeGreaterThanOrEqual(0);
  });
});

describe('tokensPerSecond', () => {
  it('is per sample, decode only', () => {
    expect(tokensPerSecond(100, 2000)).toBe(50);
    expect(tokensPerSecond(0, 2000)).toBe(0);
    expect(tokensPerSecond(5, 0)).toBe(0);
  });
});

describe('timeLeftText', () => {
  it('reads the pixels left at the speed so far', () => {
    expect(timeLeftText(400, 10, 100)).toBe('about 40 s');
    expect(timeLeftText(401, 10, 100)).toBe('about 41 s');
    expect(timeLeftText(1800, 10, 100)).toBe('about 3 min');
    expect(timeLeftText(72_000, 10, 100)).toBe('about 2.0 h');
    expect(timeLeftText(5, 10, 100)).toBe('under a second');
  });
  it('says nothing before the speed is known or when nothing is left', () => {
    expect(timeLeftText(400, 10, 7)).toBeNull();
    expect(timeLeftText(400, 0, 100)).toBeNull();
    expect(timeLeftText(0, 10, 100)).toBeNull();
  });
});

describe('recentTokensPerSecond', () => {
  it('measures over the last window only, so a speed-up shows at once', () => {
    // 10 tokens/s for 10 s, then 40 tokens/s for 2 s.
    const history = [];
    for (let ms = 0; ms <= 10_000; ms += 500) history.push({ ms, tokens: ms / 100 });
    for (let ms = 10_500; ms <= 12_000; ms += 500) history.push({ ms, tokens: 100 + (ms - 10_000) / 25 });
    expect(recentTokensPerSecond(history, 2000)).toBeCloseTo(40, 6);
    expect(recentTokensPerSecond(history, 3000)).toBeCloseTo((180 - 90) / 3, 6);
    expect(tokensPerSecond(180, 12_000)).toBe(15); // the average since the start lags behind
  });
  it('is 0 without two reports, and uses the last two when they are further apart than the window', () => {
    expect(recentTokensPerSecond([])).toBe(0);
    expect(recentTokensPerSecond([{ ms: 5, tokens: 1 }])).toBe(0);
    expect(recentTokensPerSecond([{ ms: 0, tokens: 0 }, { ms: 10_000, tokens: 50 }], 3000)).toBe(5);
  });
});
