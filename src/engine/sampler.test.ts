import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';
import { SamplerScratch, sampleBatch, sampleToken } from './sampler.ts';
import type { SampleSettings } from './types.ts';

const V = 512;

/** Random logits, N(0, sd^2) via Box-Muller, from a fixed seed. */
function randomLogits(seed: number, sd = 2, n = V): Float32Array {
  const r = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = 1 - r.nextFloat();
    const u2 = r.nextFloat();
    out[i] = sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

function softmax(logits: Float32Array, T: number): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = new Float64Array(logits.length);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += p[i] = Math.exp((logits[i] - max) / T);
  for (let i = 0; i < p.length; i++) p[i] /= s;
  return p;
}

const settings = (temperature: number, topK = 0, topP = 1, seed = 0): SampleSettings => ({ temperature, topK, topP, seed });

/** 0.999 quantile of chi-square(df), Wilson-Hilferty: df * (1 - 2/(9df) + z sqrt(2/(9df)))^3, z = 3.090232. */
function chiSquareQuantile999(df: number): number {
  const z = 3.090232306167813;
  const a = 2 / (9 * df);
  return df * Math.pow(1 - a + z * Math.sqrt(a), 3);
}

/** Pearson statistic of observed counts vs expected probabilities, merging bins with expected count < 5. */
function chiSquare(counts: Int32Array, expected: Float64Array, draws: number): { stat: number; df: number } {
  const idx = Array.from(expected.keys()).sort((a, b) => expected[a] - expected[b]);
  const groups: { e: number; o: number }[] = [];
  let e = 0;
  let o = 0;
  for (const i of idx) {
    e += expected[i] * draws;
    o += counts[i];
    if (e >= 5) {
      groups.push({ e, o });
      e = 0;
      o = 0;
    }
  }
  if (e > 0 || o > 0) {
    // leftover small bins merge into the smallest closed group
    groups[0].e += e;
    groups[0].o += o;
  }
  let stat = 0;
  for (const g of groups) stat += ((g.o - g.e) * (g.o - g.e)) / g.e;
  return { stat, df: groups.length - 1 };
}

function drawCounts(logits: Float32Array, s: SampleSettings, draws: number): Int32Array {
  const rng = new Rng(s.seed);
  const scratch = new SamplerScratch();
  const counts = new Int32Array(logits.length);
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, s, rng, scratch).token]++;
  return counts;
}

describe('sampleToken', () => {
  it('temperature 0 is greedy (first max on ties), draws nothing, entropy 0, candidates from softmax at T=1', () => {
    const logits = randomLogits(1);
    logits[17] = 50;
    logits[300] = 50; // tie: the first wins
    const rng = new Rng(5);
    const before = rng.getState();
    const r = sampleToken(logits, settings(0), rng);
    expect(r.token).toBe(17);
    expect(r.entropyBits).toBe(0);
    expect(rng.getState()).toEqual(before);
    const p = softmax(logits, 1);
    expect(Array.from(r.candidates.tokens.slice(0, 2))).toEqual([17, 300]);
    const byProb = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
    expect(Array.from(r.candidates.tokens)).toEqual(byProb.slice(0, 5));
    for (let j = 0; j < 5; j++) expect(r.candidates.probs[j]).toBeCloseTo(p[byProb[j]], 6);
  });

  it('top-k 1 == top-p tiny == greedy on random logits, and accepts subarray views', () => {
    const scratch = new SamplerScratch();
    const block = randomLogits(99, 2, V * 40);
    for (let i = 0; i < 40; i++) {
      const logits = block.subarray(i * V, (i + 1) * V);
      const g = sampleToken(logits, settings(0), new Rng(i), scratch).token;
      let argmax = 0;
      for (let t = 1; t < V; t++) if (logits[t] > logits[argmax]) argmax = t;
      expect(g).toBe(argmax);
      for (const T of [0.3, 1, 2.5]) {
        const k1 = sampleToken(logits, settings(T, 1), new Rng(i), scratch);
        expect(k1.token).toBe(g);
        expect(k1.entropyBits).toBe(0);
        expect(k1.candidates.probs[0]).toBe(1);
        expect(k1.candidates.probs[1]).toBe(0);
        expect(sampleToken(logits, settings(T, 0, 1e-9), new Rng(i + 1000), scratch).token).toBe(g);
      }
    }
  });

  it('a fixed seed reproduces exactly, and one draw is used per sampled token', () => {
    const logits = randomLogits(3);
    const s = settings(0.9, 40, 0.95, 1234);
    const run = () => {
      const rng = new Rng(s.seed);
      return Array.from({ length: 200 }, () => sampleToken(logits, s, rng).token);
    };
    expect(run()).toEqual(run());
    const rng = new Rng(8);
    const mirror = new Rng(8);
    sampleToken(logits, s, rng);
    mirror.nextFloat();
    expect(rng.getState()).toEqual(mirror.getState());
  });

  it('inverse CDF uses the order (probability desc, id asc) with the draw u', () => {
    // four tokens: p = [0.1, 0.4, 0.1, 0.4] -> order 1, 3, 0, 2 with cumulative 0.4, 0.8, 0.9, 1.0
    const logits = new Float32Array([0, Math.log(4), 0, Math.log(4)]);
    const seed = 77;
    const probe = new Rng(seed);
    const tokens: number[] = [];
    const expected: number[] = [];
    const rng = new Rng(seed);
    for (let i = 0; i < 200; i++) {
      const u = probe.nextFloat();
      expected.push(u < 0.4 ? 1 : u < 0.8 ? 3 : u < 0.9 ? 0 : 2);
      tokens.push(sampleToken(logits, settings(1), rng).token);
    }
    // cumulative boundaries are float64 sums; no u lands within 1e-12 of them for this seed
    expect(tokens).toEqual(expected);
    const r = sampleToken(logits, settings(1), new Rng(1));
    expect(Array.from(r.candidates.tokens)).toEqual([1, 3, 0, 2, -1]);
    expect(r.entropyBits).toBeCloseTo(-(2 * 0.4 * Math.log2(0.4) + 2 * 0.1 * Math.log2(0.1)), 6);
  });

  it('top-k ties at the boundary keep the smaller token id', () => {
    const logits = new Float32Array(V).fill(-10);
    logits[9] = 3;
    logits[4] = 1;
    logits[200] = 1;
    logits[100] = 1;
    const seen = new Set<number>();
    const rng = new Rng(2);
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, settings(1, 3), rng).token);
    expect([...seen].sort((a, b) => a - b)).toEqual([4, 9, 100]);
  });

  it('top-k k restricts the support to the k most likely tokens', () => {
    const logits = randomLogits(11, 0.5); // flat-ish so every kept token shows up
    const p = softmax(logits, 1);
    const top = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
    for (const k of [2, 7, 25]) {
      const rng = new Rng(k);
      const seen = new Set<number>();
      for (let i = 0; i < 20_000; i++) seen.add(sampleToken(logits, settings(1, k), rng).token);
      expect(seen.size).toBe(k);
      expect([...seen].sort((a, b) => a - b)).toEqual(top.slice(0, k).sort((a, b) => a - b));
    }
  });

  it('top-p keeps the smallest prefix with mass >= p; entropy and candidates describe the renormalised distribution', () => {
    // p = [0.5, 0.25, 0.125, 0.125]: top-p 0.7 keeps {0, 1} with q = [2/3, 1/3]
    const logits = new Float32Array([Math.log(4), Math.log(2), 0, 0]);
    const r = sampleToken(logits, settings(1, 0, 0.7), new Rng(3));
    expect(Array.from(r.candidates.tokens)).toEqual([0, 1, 2, 3, -1]);
    expect(r.candidates.probs[0]).toBeCloseTo(2 / 3, 6);
    expect(r.candidates.probs[1]).toBeCloseTo(1 / 3, 6);
    expect(r.candidates.probs[2]).toBe(0);
    expect(r.entropyBits).toBeCloseTo(-((2 / 3) * Math.log2(2 / 3) + (1 / 3) * Math.log2(1 / 3)), 6);
    const seen = new Set<number>();
    const rng = new Rng(4);
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, settings(1, 0, 0.7), rng).token);
    expect([...seen].sort()).toEqual([0, 1]);
    // exactly 0.75 = 0.5 + 0.25 keeps two tokens (mass >= p)
    const seen2 = new Set<number>();
    for (let i = 0; i < 2000; i++) seen2.add(sampleToken(logits, settings(1, 0, 0.75), rng).token);
    expect([...seen2].sort()).toEqual([0, 1]);
    // top-k 3 then top-p 0.8: renormalised over the top 3 (0.5, 0.25, 0.125)/0.875 -> 0.571, 0.857 -> keeps 2
    const r3 = sampleToken(logits, settings(1, 3, 0.8), new Rng(3));
    expect(r3.candidates.probs[1]).toBeCloseTo(1 / 3, 6);
    expect(r3.candidates.probs[2]).toBe(0);
  });

  it('entropy at T=1 without truncation equals the softmax entropy', () => {
    const logits = randomLogits(21);
    const p = softmax(logits, 1);
    let h = 0;
    for (const q of p) if (q > 0) h -= q * Math.log2(q);
    expect(sampleToken(logits, settings(1), new Rng(0)).entropyBits).toBeCloseTo(h, 4);
  });

  it('rejects NaN logits with a clear error', () => {
    const logits = randomLogits(1);
    const bad = logits.slice();
    bad[7] = Number.NaN;
    expect(() => sampleToken(bad, settings(1), new Rng(0))).toThrow(/logit 7 is NaN/);
  });

  it('a batch row equals that sample run alone', () => {
    const B = 4;
    const block = randomLogits(5, 2, B * V);
    const ss = [settings(1, 0, 1, 1), settings(0.7, 50, 1, 2), settings(1.3, 0, 0.9, 3), settings(0, 0, 1, 4)];
    const rngs = ss.map((s) => new Rng(s.seed));
    const alone = ss.map((s) => new Rng(s.seed));
    const scratch = new SamplerScratch();
    const out = {
      tokens: new Int32Array(B),
      entropy: new Float32Array(B),
      candidates: new Int32Array(B * 5),
      candidateProbs: new Float32Array(B * 5),
    };
    for (let step = 0; step < 50; step++) {
      sampleBatch(block, V, ss, rngs, scratch, out);
      for (let r = 0; r < B; r++) {
        const one = sampleToken(block.subarray(r * V, (r + 1) * V), ss[r], alone[r]);
        expect(out.tokens[r]).toBe(one.token);
        expect(out.entropy[r]).toBe(one.entropyBits);
        expect(Array.from(out.candidates.subarray(r * 5, r * 5 + 5))).toEqual(Array.from(one.candidates.tokens));
        expect(Array.from(out.candidateProbs.subarray(r * 5, r * 5 + 5))).toEqual(Array.from(one.candidates.probs));
      }
    }
  });
});

describe('sampleToken distribution (chi-square goodness of fit, 200k draws, 512-way)', () => {
  const DRAWS = 200_000;
  const logits = randomLogits(2024);

  it('the Wilson-Hilferty 0.999 quantile is close to tabulated values', () => {
    // tables: chi2_0.999(100) = 149.449, chi2_0.999(500) = 603.446
    expect(chiSquareQuantile999(100)).toBeCloseTo(149.449, 0);
    expect(Math.abs(chiSquareQuantile999(500) - 603.446)).toBeLessThan(0.5);
  });

  for (const T of [1, 0.5]) {
    it(`T=${T}: counts fit softmax(logits/${T}) below the 0.999 quantile`, () => {
      const counts = drawCounts(logits, settings(T, 0, 1, 42), DRAWS);
      const { stat, df } = chiSquare(counts, softmax(logits, T), DRAWS);
      const limit = chiSquareQuantile999(df);
      expect(df).toBeGreaterThan(20);
      console.log(`chi-square T=${T}: stat ${stat.toFixed(1)}, df ${df}, limit ${limit.toFixed(1)}`);
      expect(stat).toBeLessThan(limit);
    });
  }

  it('the test can fail: draws at T=1.1 do not fit the T=1 distribution', () => {
    const counts = drawCounts(logits, settings(1.1, 0, 1, 42), DRAWS);
    const { stat, df } = chiSquare(counts, softmax(logits, 1), DRAWS);
    console.log(`chi-square T=1.1 vs T=1: stat ${stat.toFixed(1)}, df ${df}, limit ${chiSquareQuantile999(df).toFixed(1)}`);
    expect(stat).toBeGreaterThan(chiSquareQuantile999(df));
  });
});
