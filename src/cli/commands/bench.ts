/** `igpt bench`: prefill and decode speed per batch size, cold (first run) and warm. */
import type { Engine, GenerateResult } from '../../engine/types.ts';
import { intOption, numberListOption, parseArgs, UsageError, type OptionSpecs } from '../args.ts';
import { BACKEND_OPTIONS, makeCtx, openEngine, resolveModelDir, round, writeJson, type CliIO } from './common.ts';

export const BENCH_USAGE = `usage: igpt bench [--model DIR] [--batch 1,8] [--steps 64] [--prefix 512]
                  [--backend wasm|webgpu] [--dtype fp32|fp16|q4|auto] [--json] [--profile] [--progress]
  For each batch size: a short first run (cold: session warm-up, shader compilation), then a
  measured run with a --prefix token prompt and --steps decode steps.
  --profile (webgpu): count the GPU work of each decode step (compute dispatches = kernels_per_step,
  queue submits, buffer writes and copies, readbacks); adds a little CPU time per call.
  --progress: one JSON line per finished batch size on stderr (survives a run that is cut off).`;

const SPECS = {
  model: { type: 'string', short: 'm' },
  batch: { type: 'string', short: 'b' },
  steps: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  profile: { type: 'boolean' },
  progress: { type: 'boolean' },
  ...BACKEND_OPTIONS,
} satisfies OptionSpecs;

const COLD_STEPS = 4;

/** A fixed pseudo-random prompt (LCG), the same on every run. */
export function benchPrompt(length: number, seed = 1): Int32Array {
  const out = new Int32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 23; // 0..511
  }
  return out;
}

export interface BenchTiming {
  prefill_ms: number;
  decode_ms: number;
  decode_ms_per_step: number;
  tokens_per_second: number;
  steps: number;
}

function timing(r: GenerateResult, batch: number): BenchTiming {
  const steps = r.steps;
  return {
    prefill_ms: r.prefillMs,
    decode_ms: r.decodeMs,
    decode_ms_per_step: steps > 0 ? r.decodeMs / steps : 0,
    tokens_per_second: r.decodeMs > 0 ? (batch * steps) / (r.decodeMs / 1000) : 0,
    steps,
  };
}

/** Counts of WebGPU calls (all devices in this process) since the counters were installed. */
export interface GpuCounts {
  dispatch: number;
  submit: number;
  writeBuffer: number;
  copyBufferToBuffer: number;
  mapAsync: number;
}

type Proto = Record<string, unknown>;
const COUNTED: [klass: string, method: string, counter: keyof GpuCounts][] = [
  ['GPUComputePassEncoder', 'dispatchWorkgroups', 'dispatch'],
  ['GPUComputePassEncoder', 'dispatchWorkgroupsIndirect', 'dispatch'],
  ['GPUQueue', 'submit', 'submit'],
  ['GPUQueue', 'writeBuffer', 'writeBuffer'],
  ['GPUCommandEncoder', 'copyBufferToBuffer', 'copyBufferToBuffer'],
  ['GPUBuffer', 'mapAsync', 'mapAsync'],
];
const COUNTS_KEY = Symbol.for('igpt.gpuCounts');

/**
 * Wraps the WebGPU methods in COUNTED on the classes found in `scope` (globalThis: Dawn's globals
 * in Node, the browser's own classes) so each call is counted. Installs once per scope and returns
 * the live counters; null when `scope` has no GPUComputePassEncoder class (no WebGPU).
 */
export function installGpuCounters(scope: object = globalThis): GpuCounts | null {
  const g = scope as Record<string | symbol, unknown>;
  const existing = g[COUNTS_KEY] as GpuCounts | undefined;
  if (existing) return existing;
  const pass = g.GPUComputePassEncoder as { prototype?: Proto } | undefined;
  if (typeof pass?.prototype?.dispatchWorkgroups !== 'function') return null;
  const counts: GpuCounts = { dispatch: 0, submit: 0, writeBuffer: 0, copyBufferToBuffer: 0, mapAsync: 0 };
  for (const [klass, method, counter] of COUNTED) {
    const proto = (g[klass] as { prototype?: Proto } | undefined)?.prototype;
    const original = proto?.[method];
    if (!proto || typeof original !== 'function') continue;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      counts[counter]++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  g[COUNTS_KEY] = counts;
  return counts;
}

/** GPU work per decode step, from counter snapshots at the first and last step of a run. */
export interface StepProfile {
  /** Compute dispatches (kernels) per decode step. */
  kernels_per_step: number;
  submits_per_step: number;
  writes_per_step: number;
  copies_per_step: number;
  readbacks_per_step: number;
  /** Dispatches of the prefill (prompt and batch expansion), before the first step. */
  prefill_kernels: number;
  decode_steps: number;
}

export function stepProfile(atStart: GpuCounts, atFirst: GpuCounts, atLast: GpuCounts, decodeSteps: number): StepProfile | null {
  if (decodeSteps < 1) return null;
  const per = (k: keyof GpuCounts) => round((atLast[k] - atFirst[k]) / decodeSteps, 3);
  return {
    kernels_per_step: per('dispatch'),
    submits_per_step: per('submit'),
    writes_per_step: per('writeBuffer'),
    copies_per_step: per('copyBufferToBuffer'),
    readbacks_per_step: per('mapAsync'),
    prefill_kernels: atFirst.dispatch - atStart.dispatch,
    decode_steps: decodeSteps,
  };
}

async function run(
  engine: Engine,
  prompt: Int32Array,
  batch: number,
  steps: number,
  counts: GpuCounts | null,
): Promise<BenchTiming & { profile?: StepProfile | null }> {
  const samples = Array.from({ length: batch }, (_, j) => ({ temperature: 1, topK: 0, topP: 1, seed: j }));
  if (!counts) return timing(await engine.generate({ prompt, samples, maxNewTokens: steps }), batch);
  const atStart = { ...counts };
  let atFirst = atStart;
  let atLast = atStart;
  let lastStep = -1;
  const r = await engine.generate(
    { prompt, samples, maxNewTokens: steps },
    {
      onStep: (e) => {
        if (e.step === 0) atFirst = { ...counts };
        atLast = { ...counts };
        lastStep = e.step;
      },
    },
  );
  // Step 0 is the prefill; steps 1..lastStep are decode steps (one session run each).
  return { ...timing(r, batch), profile: stepProfile(atStart, atFirst, atLast, lastStep) };
}

export async function benchCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.values.json);
  if (args.positionals.length > 0) throw new UsageError(`bench takes no arguments, got "${args.positionals[0]}"`);
  const batches = numberListOption(args, 'batch', [1, 8], 1, 256, true);
  const prefix = intOption(args, 'prefix', 512, 0, 1023);
  const steps = intOption(args, 'steps', 64, 1, 1024);
  if (prefix + steps > 1024) throw new UsageError(`--prefix ${prefix} + --steps ${steps} exceeds the 1024 pixels of an image`);

  const dir = await resolveModelDir(ctx, args);
  const { engine, loadMs } = await openEngine(ctx, dir, args);
  let counts: GpuCounts | null = null;
  if (args.values.profile) {
    counts = engine.info.backend === 'webgpu' ? installGpuCounters() : null;
    if (!counts) ctx.note(`bench: --profile counts WebGPU calls; the ${engine.info.backend} backend has none`);
  }
  try {
    const info = engine.info;
    const prompt = benchPrompt(prefix);
    ctx.say(`model ${info.manifest.name} (${dir}), ${info.dtype}, ${info.backend} on ${info.adapter}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`);
    ctx.say(`engine load ${round(loadMs, 1)} ms; prompt ${prefix} tokens, ${steps} steps per measured run`);
    const runs = [];
    for (const batch of batches) {
      const cold = await run(engine, prompt, batch, Math.min(COLD_STEPS, steps), counts);
      const warm = await run(engine, prompt, batch, steps, counts);
      const entry = { batch, cold, warm };
      runs.push(entry);
      if (args.values.progress) ctx.note(`bench: ${JSON.stringify(entry)}`);
      if (!ctx.json) {
        ctx.say(
          `batch ${String(batch).padStart(3)}: prefill ${round(warm.prefill_ms, 1)} ms (cold ${round(cold.prefill_ms, 1)}), ` +
            `decode ${round(warm.decode_ms_per_step, 2)} ms/step (cold ${round(cold.decode_ms_per_step, 2)}), ${round(warm.tokens_per_second, 1)} tokens/s` +
            (warm.profile ? `, ${warm.profile.kernels_per_step} kernels/step` : ''),
        );
      }
    }
    const firstProfile = runs.find((r) => r.warm.profile)?.warm.profile ?? null;
    if (ctx.json) {
      writeJson(ctx, {
        model: dir,
        backend: info.backend,
        adapter: info.adapter,
        fallback_reason: info.fallbackReason ?? null,
        dtype: info.dtype,
        load_ms: loadMs,
        prefix,
        steps,
        ...(args.values.profile ? { kernels_per_step: firstProfile?.kernels_per_step ?? null } : {}),
        runs,
      });
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
