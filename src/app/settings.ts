/**
 * Sampling settings: limits, clamping, and the batch layout of a run (pure functions).
 */
import type { SampleSettings } from '../engine/types';

export const IMAGE_SIZE = 32;
export const IMAGE_TOKENS = IMAGE_SIZE * IMAGE_SIZE;
export const MAX_BATCH = 64;
export const MAX_COMPARE_ROWS = 6;

export interface Settings {
  /** 0 = greedy, up to 2, step 0.05. */
  temperature: number;
  /** 0 = off, otherwise 1..512. */
  topK: number;
  /** (0, 1]; 1 = off. */
  topP: number;
  /** Samples per temperature, 1..16. */
  samples: number;
  /** uint32. */
  seed: number;
  /** Rows of the prompt kept, 0..31. */
  rowsToKeep: number;
  /** Compare mode: one row of samples per temperature in compareTemps. */
  compare: boolean;
  compareTemps: number[];
}

export const DEFAULT_SETTINGS: Settings = {
  temperature: 1,
  topK: 0,
  topP: 1,
  samples: 4,
  seed: 1234,
  rowsToKeep: 16,
  compare: false,
  compareTemps: [0.5, 0.8, 1, 1.2],
};

function num(v: unknown, fallback: number): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : fallback;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

export function clampTemperature(v: unknown, fallback = DEFAULT_SETTINGS.temperature): number {
  const t = clamp(num(v, fallback), 0, 2);
  return Math.round(t * 20) / 20;
}

/** Bring any partial, possibly hostile, settings object into range. */
export function clampSettings(input: Partial<Record<keyof Settings, unknown>>, base: Settings = DEFAULT_SETTINGS): Settings {
  const temps = Array.isArray(input.compareTemps)
    ? (input.compareTemps as unknown[]).map((t) => clampTemperature(t, 1)).slice(0, MAX_COMPARE_ROWS)
    : base.compareTemps;
  return {
    temperature: clampTemperature(input.temperature ?? base.temperature, base.temperature),
    topK: Math.round(clamp(num(input.topK ?? base.topK, base.topK), 0, 512)),
    topP: Math.round(clamp(num(input.topP ?? base.topP, base.topP), 0.01, 1) * 100) / 100,
    samples: Math.round(clamp(num(input.samples ?? base.samples, base.samples), 1, 16)),
    seed: Math.floor(Math.abs(num(input.seed ?? base.seed, base.seed))) % 2 ** 32 >>> 0,
    rowsToKeep: Math.round(clamp(num(input.rowsToKeep ?? base.rowsToKeep, base.rowsToKeep), 0, IMAGE_SIZE - 1)),
    compare: typeof input.compare === 'boolean' ? input.compare : base.compare,
    compareTemps: temps.length > 0 ? temps : DEFAULT_SETTINGS.compareTemps,
  };
}

/** Parse "0.5, 0.8 1.2" into clamped temperatures. */
export function parseTemperatureList(text: string): number[] {
  return text
    .split(/[\s,;]+/)
    .filter((s) => s.length > 0)
    .map(Number)
    .filter((n) => Number.isFinite(n))
    .map((n) => clampTemperature(n))
    .slice(0, MAX_COMPARE_ROWS);
}

/** Each sample's own seed: a 32-bit mix of the run seed and the sample's column. */
export function sampleSeed(seed: number, column: number): number {
  let h = (seed ^ Math.imul(column + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export interface SampleLayout {
  /** One row per temperature (1 row outside compare mode). */
  rows: number;
  /** Samples per row. */
  cols: number;
  temperatures: number[];
  /** rows x cols, row-major: sample i is row floor(i / cols), column i % cols. */
  samples: SampleSettings[];
}

/**
 * The batch of a run. In compare mode every row uses the same seeds (column j has the same
 * seed in all rows), so rows differ only by temperature.
 */
export function sampleLayout(s: Settings): SampleLayout {
  const temperatures = s.compare && s.compareTemps.length > 0 ? s.compareTemps : [s.temperature];
  const rows = temperatures.length;
  const cols = Math.max(1, Math.min(s.samples, Math.floor(MAX_BATCH / rows)));
  const samples: SampleSettings[] = [];
  for (const temperature of temperatures) {
    for (let j = 0; j < cols; j++) {
      samples.push({ temperature, topK: s.topK, topP: s.topP, seed: sampleSeed(s.seed, j) });
    }
  }
  return { rows, cols, temperatures, samples };
}

export function randomSeed(): number {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] % 1_000_000;
}
