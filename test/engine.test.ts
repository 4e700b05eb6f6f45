/** Engine behaviour on a real exported bundle (wasm): seeded sampling, batching, bad bundles. */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type OrtEngine } from '../src/engine/engine.ts';
import type { Engine, SampleSettings } from '../src/engine/types.ts';
import { exportFixture, type Expected, folderFiles, maxAbsDiff, readExpected } from './fixture.ts';

let expected: Expected;
let bundleDir: string;
let engine: Engine & OrtEngine;

const greedy: SampleSettings = { temperature: 0, topK: 0, topP: 1, seed: 0 };

beforeAll(async () => {
  expected = await readExpected();
  bundleDir = await exportFixture();
  engine = await loadEngine({ kind: 'files', files: await folderFiles(bundleDir) }, { backend: 'wasm' });
});

describe('sampling through the engine', () => {
  const prompt = () => expected.image32_tokens.slice(0, 28 * 32);

  it('a fixed seed reproduces the same tokens; another seed differs', async () => {
    const s: SampleSettings = { temperature: 1, topK: 0, topP: 1, seed: 1234 };
    const a = await engine.generate({ prompt: prompt(), samples: [s], maxNewTokens: 40 });
    const b = await engine.generate({ prompt: prompt(), samples: [s], maxNewTokens: 40 });
    const c = await engine.generate({ prompt: prompt(), samples: [{ ...s, seed: 1235 }], maxNewTokens: 40 });
    expect(Array.from(a.tokens[0])).toEqual(Array.from(b.tokens[0]));
    expect(Array.from(a.tokens[0])).not.toEqual(Array.from(c.tokens[0]));
  });

  it('row i of a batch equals the same sample run alone', async () => {
    const samples: SampleSettings[] = [
      { temperature: 1, topK: 0, topP: 1, seed: 7 },
      { temperature: 0.6, topK: 40, topP: 1, seed: 8 },
      { temperature: 1.4, topK: 0, topP: 0.9, seed: 9 },
      greedy,
    ];
    const batch = await engine.generate({ prompt: prompt(), samples, maxNewTokens: 32 });
    for (let i = 0; i < samples.length; i++) {
      const alone = await engine.generate({ prompt: prompt(), samples: [samples[i]], maxNewTokens: 32 });
      expect(Array.from(batch.tokens[i])).toEqual(Array.from(alone.tokens[0]));
    }
  });

  it('top-k 1 and temperature 0 both give the greedy tokens', async () => {
    const p = expected.full_input_ids.slice(1, expected.greedy_prefix_len);
    const r = await engine.generate({
      prompt: p,
      samples: [greedy, { temperature: 1, topK: 1, topP: 1, seed: 99 }, { temperature: 0.7, topK: 1, topP: 1, seed: 5 }],
      maxNewTokens: 32,
    });
    for (const t of r.tokens) expect(Array.from(t)).toEqual(expected.greedy_new_tokens);
  });

  it('streams one step event per token and stops on abort', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const r = await engine.generate(
      { prompt: prompt(), samples: [greedy, greedy], maxNewTokens: 50 },
      {
        signal: controller.signal,
        onStep: (e) => {
          steps.push(e.position);
          expect(e.tokens.length).toBe(2);
          expect(e.candidates.length).toBe(10);
          if (e.step === 9) controller.abort();
        },
      },
    );
    expect(r.aborted).toBe(true);
    expect(r.steps).toBe(10);
    expect(steps).toEqual(Array.from({ length: 10 }, (_, i) => 28 * 32 + i));
    expect(r.tokens[0].length).toBe(10);
  });

  it('fills the image when maxNewTokens is not given, and rejects bad prompts', async () => {
    const r = await engine.generate({ prompt: expected.image32_tokens.slice(0, 1000), samples: [greedy] });
    expect(r.tokens[0].length).toBe(24);
    await expect(engine.generate({ prompt: [512], samples: [greedy] })).rejects.toThrow(/prompt: token 512/);
    await expect(engine.generate({ prompt: expected.image32_tokens, samples: [greedy] })).rejects.toThrow(/at most 1023/);
    await expect(engine.generate({ prompt: [1, 2], samples: [] })).rejects.toThrow(/samples/);
  });
});

describe('bad bundles', () => {
  it('a missing graph file names the file', async () => {
    const dir = `${bundleDir}-missing`;
    await cp(bundleDir, dir, { recursive: true });
    await rm(join(dir, 'model.onnx'));
    await expect(loadEngine({ kind: 'files', files: await folderFiles(dir) }, { backend: 'wasm' })).rejects.toThrow(/model\.onnx: is missing/);
  });

  it('a sha256 mismatch names the file and the problem', async () => {
    const dir = `${bundleDir}-corrupt`;
    await cp(bundleDir, dir, { recursive: true });
    const bytes = await readFile(join(dir, 'model.onnx'));
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(join(dir, 'model.onnx'), bytes);
    await expect(loadEngine({ kind: 'files', files: await folderFiles(dir) }, { backend: 'wasm' })).rejects.toThrow(/model\.onnx: sha256 mismatch/);
  });

  it('a folder without igpt.json is not a bundle', async () => {
    await expect(loadEngine({ kind: 'files', files: new Map(), label: 'empty-folder' }, { backend: 'wasm' })).rejects.toThrow(/empty-folder: contains no igpt\.json/);
  });
});

describe('fp16 variant', () => {
  it('exports fp16 weights next to fp32, with half the weight bytes', async () => {
    const dir = await exportFixture({ dtypes: ['fp32', 'fp16'] });
    const manifest = JSON.parse(await readFile(join(dir, 'igpt.json'), 'utf8'));
    const [fp32, fp16] = manifest.variants;
    expect(fp16.dtype).toBe('fp16');
    expect(fp16.graph).toBe('model.fp16.onnx');
    expect(fp16.files[0].bytes).toBeLessThan(fp32.files[0].bytes * 0.55);
    expect(fp16.nodesPerLayer).toBe(fp32.nodesPerLayer);
    // fp16 weights and activations (wasm runs the fp16 graph too): looser tolerance, 2e-2 absolute.
    const half = await loadEngine({ kind: 'files', files: await folderFiles(dir) }, { backend: 'wasm', dtype: 'fp16' });
    expect(half.info.dtype).toBe('fp16');
    const logits = await half.logits(expected.batch_input_ids);
    expect(maxAbsDiff(logits, expected.batch_logits.flat(2))).toBeLessThan(2e-2);
  });
});
