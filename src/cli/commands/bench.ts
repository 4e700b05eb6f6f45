/** `igpt bench`: prefill and decode speed per batch size, cold (first run) and warm. */
import type { Engine, GenerateResult } from '../../engine/types.ts';
import { intOption, numberListOption, parseArgs, UsageError, type OptionSpecs } from '../args.ts';
import { BACKEND_OPTIONS, makeCtx, openEngine, resolveModelDir, round, writeJson, type CliIO } from './common.ts';

export const BENCH_USAGE = `usage: igpt bench [--model DIR] [--batch 1,8] [--steps 64] [--prefix 512]
                  [--backend wasm|webgpu] [--dtype fp32|fp16|auto] [--json]
  For each batch size: a short first run (cold: session warm-up, shader compilation), then a
  measured run with a --prefix token prompt and --steps decode steps.`;

const SPECS: OptionSpecs = {
  model: { type: 'string', short: 'm' },
  batch: { type: 'string', short: 'b' },
  steps: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'flag' },
  ...BACKEND_OPTIONS,
};

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

async function run(engine: Engine, prompt: Int32Array, batch: number, steps: number): Promise<BenchTiming> {
  const samples = Array.from({ length: batch }, (_, j) => ({ temperature: 1, topK: 0, topP: 1, seed: j }));
  const r = await engine.generate({ prompt, samples, maxNewTokens: steps });
  return timing(r, batch);
}

export async function benchCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.flags.has('json'));
  if (args.positionals.length > 0) throw new UsageError(`bench takes no arguments, got "${args.positionals[0]}"`);
  const batches = numberListOption(args, 'batch', [1, 8], 1, 256, true);
  const prefix = intOption(args, 'prefix', 512, 0, 1023);
  const steps = intOption(args, 'steps', 64, 1, 1024);
  if (prefix + steps > 1024) throw new UsageError(`--prefix ${prefix} + --steps ${steps} exceeds the 1024 pixels of an image`);

  const dir = await resolveModelDir(ctx, args);
  const { engine, loadMs } = await openEngine(ctx, dir, args);
  try {
    const info = engine.info;
    const prompt = benchPrompt(prefix);
    ctx.say(`model ${info.manifest.name} (${dir}), ${info.dtype}, ${info.backend} on ${info.adapter}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`);
    ctx.say(`engine load ${round(loadMs, 1)} ms; prompt ${prefix} tokens, ${steps} steps per measured run`);
    const runs = [];
    for (const batch of batches) {
      const cold = await run(engine, prompt, batch, Math.min(COLD_STEPS, steps));
      const warm = await run(engine, prompt, batch, steps);
      runs.push({ batch, cold, warm });
      if (!ctx.json) {
        ctx.say(
          `batch ${String(batch).padStart(3)}: prefill ${round(warm.prefill_ms, 1)} ms (cold ${round(cold.prefill_ms, 1)}), ` +
            `decode ${round(warm.decode_ms_per_step, 2)} ms/step (cold ${round(cold.decode_ms_per_step, 2)}), ${round(warm.tokens_per_second, 1)} tokens/s`,
        );
      }
    }
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
        runs,
      });
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
