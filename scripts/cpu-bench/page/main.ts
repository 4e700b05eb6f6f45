/** Exposes `bench.run(request)` to Playwright: one measurement in a fresh engine worker. */
import type { PageBenchRequest } from './worker.ts';

const api = {
  isolated: globalThis.crossOriginIsolated === true,
  cores: navigator.hardwareConcurrency,
  run(request: PageBenchRequest): Promise<unknown> {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ ok: boolean; result?: unknown; error?: string }>) => {
        worker.terminate();
        if (e.data.ok) resolve(e.data.result);
        else reject(new Error(e.data.error));
      };
      worker.onerror = (e) => {
        worker.terminate();
        reject(new Error(e.message));
      };
      worker.postMessage(request);
    });
  },
};

(globalThis as unknown as { bench: typeof api }).bench = api;
document.body.dataset.ready = 'true';
