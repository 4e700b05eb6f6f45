/**
 * Parity with the reference implementation (Hugging Face transformers' ImageGPT), through the
 * exported ONNX bundle and onnxruntime-web's wasm backend. Tolerance: 1e-4 absolute in fp32.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionScaleFor } from '../src/convert/graph.ts';
import { loadEngine, type OrtEngine } from '../src/engine/engine.ts';
import type { Engine } from '../src/engine/types.ts';
import { exportFixture, type Expected, folderFiles, maxAbsDiff, readExpected } from './fixture.ts';

const TOL = 1e-4;
let expected: Expected;

async function engineFor(prefer: 'safetensors' | 'pytorch', attentionScale?: 'default'): Promise<Engine & OrtEngine> {
  const dir = await exportFixture(attentionScale === 'default' ? { prefer, attentionScale: undefined } : { prefer });
  return loadEngine({ kind: 'files', files: await folderFiles(dir), label: dir }, { backend: 'wasm' });
}

beforeAll(async () => {
  expected = await readExpected();
});

for (const prefer of ['safetensors', 'pytorch'] as const) {
  describe(`exported from ${prefer === 'safetensors' ? 'model.safetensors' : 'pytorch_model.bin'}`, () => {
    let engine: Engine & OrtEngine;
    beforeAll(async () => {
      engine = await engineFor(prefer);
    });

    it('full-sequence logits match at the listed positions', async () => {
      const logits = await engine.logits([expected.full_input_ids]);
      expected.full_logits_positions.forEach((p, j) => {
        expect(maxAbsDiff(logits.subarray(p * 512, (p + 1) * 512), expected.full_logits[j])).toBeLessThan(TOL);
      });
    });

    it('batch logits of two different sequences match', async () => {
      const logits = await engine.logits(expected.batch_input_ids);
      expect(maxAbsDiff(logits, expected.batch_logits.flat(2))).toBeLessThan(TOL);
    });

    it('bits per token of image32 match', async () => {
      const [score] = await engine.score([expected.image32_tokens]);
      expect(Math.abs(score.bitsPerToken - expected.image32_bits_per_token)).toBeLessThan(TOL);
      expect(score.bits.length).toBe(1024);
    });

    it('greedy decoding gives the reference 32 tokens', async () => {
      const prompt = expected.full_input_ids.slice(1, expected.greedy_prefix_len);
      const result = await engine.generate({ prompt, samples: [{ temperature: 0, topK: 0, topP: 1, seed: 0 }], maxNewTokens: 32 });
      expect(Array.from(result.tokens[0])).toEqual(expected.greedy_new_tokens);
    });

    it('decoding step by step with the cache equals the full forward pass', async () => {
      const ids = expected.batch_input_ids;
      const full = await engine.logits(ids);
      const S = ids[0].length;
      const stepwise = await engine.exclusive(async () => {
        const dec = engine.decoder(2);
        const out = new Float32Array(2 * S * 512);
        try {
          // A 5-token chunk first, then one token at a time.
          const first = await dec.feed([...ids[0].slice(0, 5), ...ids[1].slice(0, 5)], 5);
          for (let b = 0; b < 2; b++) out.set(first.subarray(b * 5 * 512, (b + 1) * 5 * 512), (b * S) * 512);
          for (let s = 5; s < S; s++) {
            const l = await dec.feed([ids[0][s], ids[1][s]], 1);
            for (let b = 0; b < 2; b++) out.set(l.subarray(b * 512, (b + 1) * 512), (b * S + s) * 512);
          }
        } finally {
          dec.dispose();
        }
        return out;
      });
      expect(maxAbsDiff(stepwise, full)).toBeLessThan(TOL);
    });

    it('manifest palette holds the reference token RGB', () => {
      for (const [token, rgb] of Object.entries(expected.token_rgb)) {
        expect(engine.info.manifest.palette.rgb[Number(token)]).toEqual(rgb);
      }
      expect(engine.info.manifest.config.attentionScale).toBe(0.5);
      expect(engine.info.manifest.provenance.attentionScaleMode).toBe('transformers');
    });
  });
}

describe('attention scale', () => {
  it('the default exact 1/sqrt(head_dim) does not reproduce the fixture (transformers uses 1/int(sqrt(head_dim)))', async () => {
    const engine = await engineFor('safetensors', 'default');
    expect(engine.info.manifest.config.attentionScale).toBeCloseTo(1 / Math.sqrt(8), 12);
    expect(engine.info.manifest.provenance.attentionScaleMode).toBe('exact');
    const logits = await engine.logits(expected.batch_input_ids);
    expect(maxAbsDiff(logits, expected.batch_logits.flat(2))).toBeGreaterThan(0.1);
    // Bits per token move less (3.6e-3 measured), still 36 times the parity tolerance.
    const [score] = await engine.score([expected.image32_tokens]);
    expect(Math.abs(score.bitsPerToken - expected.image32_bits_per_token)).toBeGreaterThan(1e-3);
    await engine.dispose();
  });

  it('the modes give the documented scales for the fixture and the iGPT sizes', () => {
    const scales = (d: number, h: number) => [attentionScaleFor('exact', d, h).scale, attentionScaleFor('transformers', d, h).scale];
    expect(scales(32, 4)).toEqual([1 / Math.sqrt(8), 1 / 2]); // fixture, head_dim 8
    expect(scales(512, 8)).toEqual([1 / 8, 1 / 8]); // iGPT-S, head_dim 64: the same
    expect(scales(1024, 8)).toEqual([1 / Math.sqrt(128), 1 / 11]); // iGPT-M, head_dim 128
    expect(scales(1536, 16)).toEqual([1 / Math.sqrt(96), 1 / 9]); // iGPT-L, head_dim 96
    expect(attentionScaleFor(undefined, 32, 4)).toEqual({ scale: 1 / Math.sqrt(8), mode: 'exact' });
    expect(attentionScaleFor(0.25, 32, 4)).toEqual({ scale: 0.25, mode: 'custom' });
    expect(() => attentionScaleFor(-1, 32, 4)).toThrow(/positive number/);
  });
});
