/** The page contender's worker: loads the bundle by URL into the engine (wasm) and measures it. */
import { loadEngine } from '../../../src/engine/engine.ts';
import { benchPrompt } from '../../../src/engine/plan.ts';
import { measureEngine } from '../measure.ts';

export interface PageBenchRequest {
  url: string;
  threads: number;
  batches: number[];
  prefix: number;
  steps: number;
  repeat: number;
  graph: 'cpu' | 'bundle';
}

self.onmessage = async (e: MessageEvent<PageBenchRequest>) => {
  const r = e.data;
  try {
    const t0 = performance.now();
    const engine = await loadEngine({ kind: 'url', url: r.url }, { backend: 'wasm', wasmThreads: r.threads, wasmGraph: r.graph });
    const loadMs = performance.now() - t0;
    const m = await measureEngine(engine, { prompt: benchPrompt(r.prefix), batches: r.batches, steps: r.steps, repeat: r.repeat });
    await engine.dispose();
    self.postMessage({ ok: true, result: { contender: 'engine-page', graph: r.graph, threads: engine.info.wasmThreads, load_ms: loadMs, ...m } });
  } catch (err) {
    self.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
  }
};
