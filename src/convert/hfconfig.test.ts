import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.ts';
import { expectedTensorShapes, parseClusters, parseImageGPTConfig, parseJsonFile } from './hfconfig.ts';

const DIR = new URL('../../test/data/imagegpt-tiny-a/', import.meta.url);
const raw = JSON.parse(readFileSync(new URL('config.json', DIR), 'utf8')) as Record<string, unknown>;
const pre = JSON.parse(readFileSync(new URL('preprocessor_config.json', DIR), 'utf8')) as Record<string, unknown>;

function err(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('parseImageGPTConfig', () => {
  it('reads the fixture config', () => {
    expect(parseImageGPTConfig(raw)).toEqual({
      vocabSize: 513,
      nPositions: 1024,
      nEmbd: 32,
      nLayer: 2,
      nHead: 4,
      nInner: 128,
      layerNormEpsilon: 1e-5,
      activation: 'quick_gelu',
    });
  });

  it('accepts architectures without model_type, explicit n_inner, default epsilon', () => {
    const { model_type: _m, layer_norm_epsilon: _e, ...rest } = raw;
    const c = parseImageGPTConfig({ ...rest, n_inner: 100 });
    expect(c.nInner).toBe(100);
    expect(c.layerNormEpsilon).toBe(1e-5);
  });

  it('rejects non-ImageGPT configs', () => {
    const e = err(() => parseImageGPTConfig({ ...raw, model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }, 'config.json'));
    expect(e.message).toMatch(/config\.json.*not an ImageGPT config/);
  });

  it('names a missing key', () => {
    for (const key of ['n_embd', 'n_layer', 'n_head', 'vocab_size', 'n_positions']) {
      const c = { ...raw };
      delete c[key];
      expect(err(() => parseImageGPTConfig(c)).message).toBe(`config.json: missing config key ${key}`);
    }
  });

  it('rejects bad values', () => {
    expect(err(() => parseImageGPTConfig({ ...raw, vocab_size: 512 })).message).toMatch(/vocab_size must be 513/);
    expect(err(() => parseImageGPTConfig({ ...raw, n_head: 5 })).message).toMatch(/n_embd 32 is not divisible by n_head 5/);
    expect(err(() => parseImageGPTConfig({ ...raw, activation_function: 'gelu' })).message).toMatch(/activation_function must be quick_gelu/);
    expect(err(() => parseImageGPTConfig({ ...raw, n_layer: 1.5 })).message).toMatch(/n_layer must be a positive integer/);
    expect(err(() => parseImageGPTConfig({ ...raw, layer_norm_epsilon: 'x' })).message).toMatch(/layer_norm_epsilon/);
  });

  it('parseJsonFile names the file', () => {
    expect(err(() => parseJsonFile('{', 'config.json')).message).toMatch(/^config\.json: invalid JSON/);
    expect(err(() => parseJsonFile('', 'config.json')).message).toMatch(/^config\.json: empty file/);
    expect(err(() => parseJsonFile('[1]', 'config.json')).message).toMatch(/expected a JSON object/);
  });
});

describe('parseClusters', () => {
  it('reads 512 x 3 clusters', () => {
    const c = parseClusters(pre);
    expect(c.length).toBe(512);
    expect(c[0]).toEqual([0.9533995389938354, -0.2396085262298584, 0.8464924693107605]);
  });
  it('rejects missing or malformed clusters', () => {
    expect(err(() => parseClusters({})).message).toMatch(/preprocessor_config\.json: missing key clusters/);
    const clusters = pre.clusters as number[][];
    expect(err(() => parseClusters({ clusters: clusters.slice(1) })).message).toMatch(/512 x 3/);
    const bad = clusters.slice();
    bad[7] = [1, 2];
    expect(err(() => parseClusters({ clusters: bad })).message).toMatch(/clusters row 7/);
  });
});

describe('expectedTensorShapes', () => {
  it('lists every tensor with its shape', () => {
    const m = expectedTensorShapes(parseImageGPTConfig(raw));
    expect(m.size).toBe(2 + 2 * 10 + 2);
    expect(m.get('wte.weight')).toEqual({ shape: [513, 32], optional: false });
    expect(m.get('wpe.weight')).toEqual({ shape: [1024, 32], optional: false });
    expect(m.get('h.1.attn.c_attn.weight')).toEqual({ shape: [32, 96], optional: false });
    expect(m.get('h.1.attn.c_attn.bias')).toEqual({ shape: [96], optional: true });
    expect(m.get('h.0.mlp.c_fc.weight')).toEqual({ shape: [32, 128], optional: false });
    expect(m.get('h.0.mlp.c_proj.weight')).toEqual({ shape: [128, 32], optional: false });
    expect(m.get('lm_head.weight')).toEqual({ shape: [512, 32], optional: false });
    expect([...m.keys()].at(-1)).toBe('lm_head.weight');
  });
});
