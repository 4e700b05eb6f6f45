/** Exposes the engine to Playwright: load a bundle by URL and return raw logits, greedy tokens and scores. */
import { loadEngine, type OrtEngine } from '../../src/engine/engine.ts';
import type { Backend, Engine } from '../../src/engine/types.ts';

let engine: (Engine & OrtEngine) | null = null;

const api = {
  async load(url: string, backend: Backend) {
    engine = await loadEngine({ kind: 'url', url }, { backend });
    return { backend: engine.info.backend, adapter: engine.info.adapter, fallbackReason: engine.info.fallbackReason ?? null };
  },
  async logits(rows: number[][]) {
    return Array.from(await engine!.logits(rows));
  },
  async stepwise(rows: number[][]) {
    const e = engine!;
    const B = rows.length;
    const S = rows[0].length;
    return e.exclusive(async () => {
      const dec = e.decoder(B);
      const out = new Float32Array(B * S * 512);
      try {
        for (let s = 0; s < S; s++) {
          const l = await dec.feed(rows.map((r) => r[s]), 1);
          for (let b = 0; b < B; b++) out.set(l.subarray(b * 512, (b + 1) * 512), (b * S + s) * 512);
        }
      } finally {
        dec.dispose();
      }
      return Array.from(out);
    });
  },
  async greedy(prompt: number[], n: number) {
    const r = await engine!.generate({ prompt, samples: [{ temperature: 0, topK: 0, topP: 1, seed: 0 }], maxNewTokens: n });
    return Array.from(r.tokens[0]);
  },
  async sample(prompt: number[], seeds: number[], n: number) {
    const r = await engine!.generate({ prompt, samples: seeds.map((seed) => ({ temperature: 1, topK: 0, topP: 1, seed })), maxNewTokens: n });
    return r.tokens.map((t) => Array.from(t));
  },
  async score(tokens: number[]) {
    return (await engine!.score([tokens]))[0].bitsPerToken;
  },
};

(globalThis as unknown as { parity: typeof api }).parity = api;
document.body.dataset.ready = 'true';
