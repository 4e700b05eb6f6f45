/** The measurement shared by the engine contenders of `npm run bench:cpu` (Node and the page). */
import type { Engine } from '../../src/engine/types.ts';

export interface EngineMeasurement {
  /** Prefill of the one-row prompt (start token + prefix), per batch size's run. */
  prefill_ms: Record<string, number>;
  /** Median decode ms per step, per batch size. */
  decode_ms_per_step: Record<string, number>;
  /** With repeat > 1: the first repeat's figures (the ones above are the last repeat's). */
  first?: { prefill_ms: Record<string, number>; decode_ms_per_step: Record<string, number> };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * A short warm-up generation, then for each batch size one generation of `steps` tokens after
 * `prompt`; decode time per step is the median of the step-to-step intervals (the first step
 * is the prefill's). With `repeat` > 1 the batch sizes are measured that many times in turn in
 * the same engine, and the last repeat is reported: the runtime's compiled code has settled by
 * then (V8 tiers onnxruntime's wasm up in the background during the first).
 */
export async function measureEngine(engine: Engine, opts: { prompt: Int32Array; batches: number[]; steps: number; repeat?: number }): Promise<EngineMeasurement> {
  const samples = (b: number) => Array.from({ length: b }, (_, j) => ({ temperature: 1, topK: 0, topP: 1, seed: j }));
  await engine.generate({ prompt: opts.prompt.subarray(0, 16), samples: samples(1), maxNewTokens: 3 });
  const repeats: EngineMeasurement[] = [];
  for (let i = 0; i < Math.max(1, opts.repeat ?? 1); i++) {
    const out: EngineMeasurement = { prefill_ms: {}, decode_ms_per_step: {} };
    for (const b of opts.batches) {
      const times: number[] = [];
      const r = await engine.generate(
        { prompt: opts.prompt, samples: samples(b), maxNewTokens: opts.steps + 1 },
        { onStep: () => times.push(performance.now()) },
      );
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      out.prefill_ms[b] = r.prefillMs;
      out.decode_ms_per_step[b] = median(gaps);
    }
    repeats.push(out);
  }
  const last = repeats[repeats.length - 1];
  return repeats.length > 1 ? { ...last, first: repeats[0] } : last;
}
