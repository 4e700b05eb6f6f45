/**
 * The app's sampling settings: clamping into the run plan's limits (src/engine/plan.ts), and the
 * plan's settings for a run (pure functions).
 */
import { LIMITS, type RunSettings } from '../engine/plan.ts';

export const MAX_BATCH = LIMITS.batch;
export const MAX_COMPARE_ROWS = LIMITS.temperatures;
/** Samples per temperature offered by the panel. */
const MAX_SAMPLES = 16;

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
  const t = clamp(num(v, fallback), LIMITS.temperature.min, LIMITS.temperature.max);
  return Math.round(t * 20) / 20;
}

/** Bring any partial, possibly hostile, settings object into range. */
export function clampSettings(input: Partial<Record<keyof Settings, unknown>>, base: Settings = DEFAULT_SETTINGS): Settings {
  const temps = Array.isArray(input.compareTemps)
    ? (input.compareTemps as unknown[]).map((t) => clampTemperature(t, 1)).slice(0, MAX_COMPARE_ROWS)
    : base.compareTemps;
  return {
    temperature: clampTemperature(input.temperature ?? base.temperature, base.temperature),
    topK: Math.round(clamp(num(input.topK ?? base.topK, base.topK), LIMITS.topK.min, LIMITS.topK.max)),
    topP: Math.round(clamp(num(input.topP ?? base.topP, base.topP), LIMITS.topP.min, LIMITS.topP.max) * 100) / 100,
    samples: Math.round(clamp(num(input.samples ?? base.samples, base.samples), 1, MAX_SAMPLES)),
    seed: Math.floor(Math.abs(num(input.seed ?? base.seed, base.seed))) % 2 ** 32 >>> 0,
    rowsToKeep: Math.round(clamp(num(input.rowsToKeep ?? base.rowsToKeep, base.rowsToKeep), LIMITS.rowsToKeep.min, LIMITS.rowsToKeep.max)),
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

export interface SampleLayout {
  /** One row per temperature (1 row outside compare mode). */
  rows: number;
  /** Samples per row. */
  cols: number;
  temperatures: number[];
}

/** The run plan's settings for these app settings (at most LIMITS.batch samples in all). */
export function runSettings(s: Settings): RunSettings {
  const temperatures = s.compare && s.compareTemps.length > 0 ? s.compareTemps : [s.temperature];
  const samples = Math.max(1, Math.min(s.samples, Math.floor(MAX_BATCH / temperatures.length)));
  return { temperatures, samples, topK: s.topK, topP: s.topP, seed: s.seed, rowsToKeep: s.rowsToKeep };
}

/** Rows and columns of samples a run with these settings shows. */
export function sampleLayout(s: Settings): SampleLayout {
  const r = runSettings(s);
  return { rows: r.temperatures.length, cols: r.samples, temperatures: r.temperatures };
}

export function randomSeed(): number {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] % 1_000_000;
}
