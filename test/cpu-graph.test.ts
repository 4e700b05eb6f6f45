/**
 * The CPU form of the graph (src/engine/cpuGraph.ts, the wasm default) against the bundle's own
 * GroupQueryAttention graph, both run by onnxruntime-web's wasm backend on the exported fixture:
 * the same logits and the same KV cache (1e-4 absolute, fp32) through a chunked one-row prefill,
 * expansion to several rows, multi-token and one-token batched steps (past the CPU form's
 * generated-cache block of 32, so it regrows), and the same seeded samples.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type Decoder, type OrtEngine } from '../src/engine/engine.ts';
import { GEN_BLOCK } from '../src/engine/cpuGraph.ts';
import type { SampleSettings } from '../src/engine/types.ts';
import { exportFixture, type Expected, folderFiles, maxAbsDiff, readExpected } from './fixture.ts';

const TOL = 1e-4;
let expected: Expected;
let cpu: OrtEngine;
let bundle: OrtEngine;

beforeAll(async () => {
  expected = await readExpected();
  const dir = await exportFixture();
  const files = await folderFiles(dir);
  cpu = await loadEngine({ kind: 'files', files, label: dir }, { backend: 'wasm', wasmGraph: 'cpu' });
  bundle = await loadEngine({ kind: 'files', files, label: dir }, { backend: 'wasm', wasmGraph: 'bundle' });
});

/** Runs the same feeds through a decoder of each engine; calls check after every feed. */
async function both(
  batch: number,
  script: (feed: (tokens: number[], seqLen: number) => Promise<void>, expand: (b: number) => Promise<void>) => Promise<void>,
  check: (a: Float32Array, b: Float32Array, da: Decoder, db: Decoder, what: string) => void,
): Promise<number> {
  let feeds = 0;
  await cpu.exclusive(() =>
    bundle.exclusive(async () => {
      const da = cpu.decoder(batch);
      const db = bundle.decoder(batch);
      try {
        await script(
          async (tokens, seqLen) => {
            const a = await da.feed(tokens, seqLen);
            // GroupQueryAttention takes several new tokens per row only for one row or an empty
            // cache ("batch_size must be 1 when sequence_length > 1 and past context is given"):
            // the bundle graph then gets them one at a time, the CPU graph in one run.
            const b = db.batch > 1 && seqLen > 1 && db.sequenceLength > 0 ? await stepwise(db, tokens, seqLen) : await db.feed(tokens, seqLen);
            check(a, b, da, db, `feed ${feeds} (${seqLen} tokens per row, ${da.batch} rows, position ${da.sequenceLength})`);
            feeds++;
          },
          async (b) => {
            await da.expandBatch(b);
            await db.expandBatch(b);
          },
        );
      } finally {
        da.dispose();
        db.dispose();
      }
    }),
  );
  return feeds;
}

async function stepwise(d: Decoder, tokens: number[], seqLen: number): Promise<Float32Array> {
  const B = d.batch;
  const out = new Float32Array(B * seqLen * 512);
  for (let s = 0; s < seqLen; s++) {
    const l = await d.feed(Array.from({ length: B }, (_, b) => tokens[b * seqLen + s]), 1);
    for (let b = 0; b < B; b++) out.set(l.subarray(b * 512, (b + 1) * 512), (b * seqLen + s) * 512);
  }
  return out;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  const d = maxAbsDiff(a, b);
  if (!(d < TOL)) throw new Error(`${what}: largest difference ${d}`);
}

function compare(a: Float32Array, b: Float32Array, da: Decoder, db: Decoder, what: string): void {
  expect(cpu.cpuGraph).toBe(true);
  expect(bundle.cpuGraph).toBe(false);
  expectClose(a, b, `${what}: logits`);
  const ca = da.readCache();
  const cb = db.readCache();
  expect(ca.keys.length).toBe(cpu.info.manifest.config.nLayer);
  for (let i = 0; i < ca.keys.length; i++) {
    expectClose(ca.keys[i], cb.keys[i], `${what}: layer ${i} keys`);
    expectClose(ca.values[i], cb.values[i], `${what}: layer ${i} values`);
  }
}

describe('CPU graph against the bundle graph (wasm)', () => {
  it('the same logits and cache: chunked prefill, expansion to 3 rows, batched steps past the block size', async () => {
    const prompt = expected.image32_tokens.slice(0, 100);
    const rows = 3;
    const feeds = await both(
      1,
      async (feed, expand) => {
        // Prefill one row in chunks of 64, 31 and 5 (the start token first).
        const input = [expected.full_input_ids[0], ...prompt];
        await feed(input.slice(0, 64), 64);
        await feed(input.slice(64, 95), 31);
        await feed(input.slice(95, 100), 5);
        await expand(rows);
        // A 2-token step per row (rows differ; the bundle graph takes it as two steps), then one
        // token per row per step.
        await feed([1, 2, 3, 4, 5, 6], 2);
        for (let s = 0; s < GEN_BLOCK + 8; s++) await feed([(s * 7) % 512, (s * 13 + 100) % 512, (s * 29 + 300) % 512], 1);
      },
      compare,
    );
    expect(feeds).toBe(4 + GEN_BLOCK + 8);
  });

  it('the same logits and cache for several rows from an empty cache (no shared prompt)', async () => {
    const ids = expected.batch_input_ids;
    const S = ids[0].length;
    await both(
      2,
      async (feed) => {
        await feed([...ids[0].slice(0, 5), ...ids[1].slice(0, 5)], 5);
        for (let s = 5; s < S; s++) await feed([ids[0][s], ids[1][s]], 1);
      },
      compare,
    );
    // And both reproduce the reference batch logits.
    const logits = await cpu.logits(ids);
    expect(maxAbsDiff(logits, expected.batch_logits.flat(2))).toBeLessThan(TOL);
  });

  it('the same seeded samples at batch 4 and batch 1', async () => {
    const prompt = expected.image32_tokens.slice(0, 20 * 32);
    const samples: SampleSettings[] = [
      { temperature: 1, topK: 0, topP: 1, seed: 11 },
      { temperature: 0.8, topK: 40, topP: 1, seed: 12 },
      { temperature: 1.2, topK: 0, topP: 0.9, seed: 13 },
      { temperature: 1, topK: 0, topP: 1, seed: 14 },
    ];
    const a = await cpu.generate({ prompt, samples, maxNewTokens: 48 });
    const b = await bundle.generate({ prompt, samples, maxNewTokens: 48 });
    expect(a.tokens.map((t) => Array.from(t))).toEqual(b.tokens.map((t) => Array.from(t)));
    const one = await cpu.generate({ prompt, samples: [samples[2]], maxNewTokens: 48 });
    expect(Array.from(one.tokens[0])).toEqual(Array.from(b.tokens[2]));
  });
});
