/**
 * A run plan: which tokens are kept, and one SampleSettings per sample, laid out as one row per
 * temperature and one column per sample. The app and the CLI both plan their runs here, so the
 * same prompt, settings and seed give the same samples in both. Limits live here, once.
 */
import { IMAGE_SIZE, IMAGE_TOKENS, NUM_COLOURS } from '../bundle/index.ts';
import { InputError } from '../errors.ts';
import type { SampleSettings } from './types.ts';

export const LIMITS = {
  temperature: { min: 0, max: 2 }, // 0 = greedy
  topK: { min: 0, max: NUM_COLOURS }, // 0 = off
  topP: { min: 0.01, max: 1 }, // 1 = off
  rowsToKeep: { min: 0, max: IMAGE_SIZE - 1 },
  /** Temperatures compared side by side (rows of samples). */
  temperatures: 6,
  /** Samples per run, all rows together (the batch). */
  batch: 64,
} as const;

export interface RunSettings {
  /** One row of samples per temperature. */
  temperatures: number[];
  /** Samples per row (columns). */
  samples: number;
  topK: number;
  topP: number;
  /** The run's seed; sample column j draws from sampleSeed(seed, j) in every row. */
  seed: number;
  rowsToKeep: number;
  /** Default: the rest of the image. */
  maxNewTokens?: number;
}

export interface RunPlan {
  /** The kept tokens (rowsToKeep rows). */
  prompt: Int32Array;
  rows: number;
  cols: number;
  temperatures: number[];
  /** rows x cols, row-major: sample i is row floor(i / cols), column i % cols. */
  samples: SampleSettings[];
  maxNewTokens: number;
}

/** Each sample's own seed: a 32-bit mix of the run seed and the sample's column. */
export function sampleSeed(seed: number, column: number): number {
  let h = (seed ^ Math.imul(column + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function check(ok: boolean, input: string, problem: string): void {
  if (!ok) throw new InputError(input, problem);
}

/** One sample's settings within LIMITS; an InputError names the setting. */
export function validateSampleSettings(s: SampleSettings): void {
  const { temperature: T, topK: K, topP: P } = LIMITS;
  check(Number.isFinite(s.temperature) && s.temperature >= T.min && s.temperature <= T.max, 'temperature', `must be between ${T.min} and ${T.max} (0 = greedy), got ${s.temperature}`);
  check(Number.isInteger(s.topK) && s.topK >= K.min && s.topK <= K.max, 'top-k', `must be a whole number from ${K.min} (off) to ${K.max}, got ${s.topK}`);
  check(s.topP >= P.min && s.topP <= P.max, 'top-p', `must be between ${P.min} and ${P.max} (1 = off), got ${s.topP}`);
  check(Number.isInteger(s.seed) && s.seed >= 0 && s.seed <= 0xffffffff, 'seed', `must be a whole number from 0 to ${0xffffffff}, got ${s.seed}`);
}

/** Validates the settings once and lays out the run over a full 32x32 image's tokens. */
export function planRun(image: ArrayLike<number>, s: RunSettings): RunPlan {
  const { rowsToKeep: R } = LIMITS;
  check(image.length === IMAGE_TOKENS, 'image', `has ${image.length} tokens, expected ${IMAGE_TOKENS}`);
  check(Number.isInteger(s.rowsToKeep) && s.rowsToKeep >= R.min && s.rowsToKeep <= R.max, 'rows to keep', `must be a whole number from ${R.min} to ${R.max}, got ${s.rowsToKeep}`);
  const rows = s.temperatures.length;
  check(rows >= 1 && rows <= LIMITS.temperatures, 'temperatures', `give 1 to ${LIMITS.temperatures} temperatures, got ${rows}`);
  check(Number.isInteger(s.samples) && s.samples >= 1 && rows * s.samples <= LIMITS.batch, 'samples', `must be a whole number from 1 to ${Math.floor(LIMITS.batch / rows)} with ${rows} temperature(s) (at most ${LIMITS.batch} in all), got ${s.samples}`);
  check(Number.isInteger(s.seed) && s.seed >= 0 && s.seed <= 0xffffffff, 'seed', `must be a whole number from 0 to ${0xffffffff}, got ${s.seed}`);
  const keptLen = s.rowsToKeep * IMAGE_SIZE;
  const room = IMAGE_TOKENS - keptLen;
  const maxNewTokens = s.maxNewTokens ?? room;
  check(Number.isInteger(maxNewTokens) && maxNewTokens >= 1 && maxNewTokens <= room, 'max new tokens', `must be a whole number from 1 to ${room}, got ${s.maxNewTokens}`);
  const prompt = Int32Array.from({ length: keptLen }, (_, i) => image[i]);
  for (const t of prompt) check(Number.isInteger(t) && t >= 0 && t < NUM_COLOURS, 'image', `token ${t} is not a palette index`);
  const samples: SampleSettings[] = [];
  for (const temperature of s.temperatures) {
    for (let j = 0; j < s.samples; j++) samples.push({ temperature, topK: s.topK, topP: s.topP, seed: sampleSeed(s.seed, j) });
  }
  samples.forEach(validateSampleSettings);
  return { prompt, rows, cols: s.samples, temperatures: [...s.temperatures], samples, maxNewTokens };
}

/** Decode speed of one sample, in tokens per second: the one definition shown everywhere. */
export function tokensPerSecond(decodeSteps: number, decodeMs: number): number {
  return decodeSteps > 0 && decodeMs > 0 ? decodeSteps / (decodeMs / 1000) : 0;
}

/**
 * Decode speed of one sample over the recent past, in tokens per second: from `history`, the
 * (run time, tokens painted) pairs reported so far in order, the rate between the last one and the
 * first one at most `windowMs` before it. 0 until two reports span some time. It follows a speed
 * that changes during a run (V8's compiler catching up, attention growing with the image), which
 * the average since the first step does not.
 */
export function recentTokensPerSecond(history: readonly { ms: number; tokens: number }[], windowMs = 3000): number {
  if (history.length < 2) return 0;
  const last = history[history.length - 1];
  let first = history[history.length - 2];
  for (let i = history.length - 2; i >= 0 && last.ms - history[i].ms <= windowMs; i--) first = history[i];
  return tokensPerSecond(last.tokens - first.tokens, last.ms - first.ms);
}

/**
 * What is left of a run, as a person reads it ("about 40 s", "about 3 min"), from the pixels
 * still to paint per sample and the decode speed so far; null until the speed is known from at
 * least `minSteps` steps (the first steps carry the prefill and V8's compilation).
 */
export function timeLeftText(remainingTokens: number, tokensPerSec: number, stepsSoFar: number, minSteps = 8): string | null {
  if (remainingTokens <= 0 || tokensPerSec <= 0 || stepsSoFar < minSteps) return null;
  const s = remainingTokens / tokensPerSec;
  if (s < 1) return 'under a second';
  if (s < 90) return `about ${Math.ceil(s)} s`;
  if (s < 90 * 60) return `about ${Math.round(s / 60)} min`;
  return `about ${(s / 3600).toFixed(1)} h`;
}

/** A fixed pseudo-random prompt (LCG), the same on every run: `igpt bench` and `npm run bench:cpu` (its PyTorch script has the same LCG). */
export function benchPrompt(length: number, seed = 1): Int32Array {
  const out = new Int32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 23; // 0..511
  }
  return out;
}
