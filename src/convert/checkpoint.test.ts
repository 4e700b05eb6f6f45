import { openAsBlob, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type FileMap } from './types.ts';
import { InputError } from '../errors.ts';
import { expectedTensorShapes, isLegacyBuffer, normaliseTensorName, openCheckpoint } from './checkpoint.ts';
import { encodeSafetensors, readSafetensorsHeader } from './safetensors.ts';
import { inputError } from '../../test/expectInputError.ts';

const DIR = new URL('../../test/data/imagegpt-tiny-a/', import.meta.url);

async function fixtureFiles(only?: string[]): Promise<FileMap> {
  const files: FileMap = new Map();
  for (const name of readdirSync(DIR)) {
    if (only && !only.includes(name)) continue;
    files.set(name, (await openAsBlob(new URL(name, DIR))) as unknown as Blob);
  }
  return files;
}
const jsonBlob = (v: unknown) => new Blob([JSON.stringify(v)]);
const CONFIG_FILES = ['config.json', 'preprocessor_config.json'];


/** The fixture's safetensors tensors as raw records, for crafting variants. */
async function rawTensors() {
  const blob = (await fixtureFiles(['model.safetensors'])).get('model.safetensors')!;
  const h = await readSafetensorsHeader('model.safetensors', blob);
  return Promise.all(
    h.entries.map(async (e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, data: new Uint8Array(await blob.slice(e.start, e.end).arrayBuffer()) })),
  );
}

async function readAll(files: FileMap, prefer?: 'safetensors' | 'pytorch') {
  const ck = await openCheckpoint(files, { prefer });
  const out = new Map<string, Float32Array>();
  for (const [name, t] of ck.tensors) out.set(name, await t.read());
  return { ck, out };
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe('openCheckpoint on the fixture', () => {
  it('safetensors and pytorch_model.bin give the same names and bit-identical data', async () => {
    const files = await fixtureFiles();
    const st = await readAll(files);
    const pt = await readAll(files, 'pytorch');
    expect(st.ck.weightFiles).toEqual(['model.safetensors']);
    expect(pt.ck.weightFiles).toEqual(['pytorch_model.bin']);
    const expected = [...expectedTensorShapes(st.ck.config).keys()].sort();
    expect([...st.out.keys()].sort()).toEqual(expected);
    expect([...pt.out.keys()].sort()).toEqual(expected); // legacy attn.bias / masked_bias skipped
    for (const [name, v] of st.out) {
      const w = pt.out.get(name)!;
      expect(w.length, name).toBe(v.length);
      expect(bits(w), name).toEqual(bits(v));
      expect(st.ck.tensors.get(name)!.shape).toEqual(pt.ck.tensors.get(name)!.shape);
    }
    // Spot checks against values read with Python struct from the files (see safetensors.test.ts).
    expect(st.out.get('wte.weight')![0]).toBe(Math.fround(-0.0167577862739563));
    expect(pt.out.get('wpe.weight')![32005]).toBe(Math.fround(-0.3188101351261139));
    expect(pt.out.get('lm_head.weight')![16383]).toBe(Math.fround(-0.1870441436767578));
    expect(st.ck.config.nEmbd).toBe(32);
    expect(st.ck.clusters.length).toBe(512);
    expect(Object.keys(st.ck.rawConfig)).toEqual(['config.json', 'preprocessor_config.json']);
    expect(st.ck.tensors.get('h.0.attn.c_attn.weight')!.file).toBe('model.safetensors');
    expect(pt.ck.tensors.get('wte.weight')!.file).toBe('pytorch_model.bin:pytorch_model/data/0');
  });

  it('falls back to pytorch_model.bin, and honours prefer', async () => {
    const onlyPt = await fixtureFiles([...CONFIG_FILES, 'pytorch_model.bin']);
    expect((await openCheckpoint(onlyPt)).weightFiles).toEqual(['pytorch_model.bin']);
    const e = await inputError(openCheckpoint(onlyPt, { prefer: 'safetensors' }));
    expect(e.message).toMatch(/model\.safetensors: missing file/);
    const onlySt = await fixtureFiles([...CONFIG_FILES, 'model.safetensors']);
    expect((await inputError(openCheckpoint(onlySt, { prefer: 'pytorch' }))).message).toMatch(/pytorch_model\.bin: missing file/);
    const none = await fixtureFiles(CONFIG_FILES);
    expect((await inputError(openCheckpoint(none))).message).toMatch(/missing file: no weights found/);
  });

  it('accepts keys under a folder name', async () => {
    const files = await fixtureFiles([...CONFIG_FILES, 'model.safetensors']);
    const prefixed: FileMap = new Map([...files].map(([k, v]) => [`imagegpt-tiny-a/${k}`, v]));
    const ck = await openCheckpoint(prefixed);
    expect(ck.weightFiles).toEqual(['imagegpt-tiny-a/model.safetensors']);
    expect(ck.tensors.size).toBe(24);
  });

  it('reads sharded safetensors (index + two shards) the same', async () => {
    const raw = await rawTensors();
    const half = Math.ceil(raw.length / 2);
    const shards = [raw.slice(0, half), raw.slice(half)];
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const files = await fixtureFiles(CONFIG_FILES);
    const weightMap: Record<string, string> = {};
    shards.forEach((s, i) => {
      files.set(names[i], new Blob([encodeSafetensors(s, { format: 'pt' })]));
      for (const t of s) weightMap[t.name] = names[i];
    });
    files.set('model.safetensors.index.json', jsonBlob({ metadata: { total_size: 363520 }, weight_map: weightMap }));
    const sharded = await readAll(files);
    expect(sharded.ck.weightFiles).toEqual(names);
    const single = await readAll(await fixtureFiles());
    expect([...sharded.out.keys()].sort()).toEqual([...single.out.keys()].sort());
    for (const [name, v] of single.out) expect(bits(sharded.out.get(name)!), name).toEqual(bits(v));
    // A missing shard is named.
    files.delete(names[1]);
    expect((await inputError(openCheckpoint(files))).message).toMatch(/model-00002-of-00002\.safetensors: missing file/);
  });

  it('does not read whole weight files when opening, and reads one tensor by one slice', async () => {
    for (const [weights, prefer] of [
      ['model.safetensors', 'safetensors'],
      ['pytorch_model.bin', 'pytorch'],
    ] as const) {
      const files = await fixtureFiles();
      const inner = files.get(weights)!;
      const log = { slices: [] as number[], whole: 0 };
      const wrapped = {
        get size() {
          return inner.size;
        },
        type: inner.type,
        slice(start?: number, end?: number, type?: string) {
          const s = inner.slice(start, end, type);
          log.slices.push(s.size);
          return s;
        },
        arrayBuffer() {
          log.whole++;
          return inner.arrayBuffer();
        },
        text() {
          log.whole++;
          return inner.text();
        },
        stream() {
          log.whole++;
          return inner.stream();
        },
      } as unknown as Blob;
      files.set(weights, wrapped);
      const ck = await openCheckpoint(files, { prefer });
      expect(log.whole, weights).toBe(0);
      const opened = log.slices.reduce((a, b) => a + b, 0);
      // Header / zip directory + pickle only: a small part of the file.
      expect(opened, weights).toBeLessThan(80_000);
      expect(opened, weights).toBeLessThan(inner.size / 4);
      log.slices.length = 0;
      const wte = await ck.tensors.get('wte.weight')!.read();
      expect(wte.length).toBe(513 * 32);
      expect(log.whole).toBe(0);
      expect(Math.max(...log.slices)).toBe(513 * 32 * 4);
      expect(log.slices.reduce((a, b) => a + b, 0)).toBeLessThan(513 * 32 * 4 + 100);
    }
  });
});

describe('openCheckpoint bad input', () => {
  it('wrong tensor shape names file, tensor and both shapes', async () => {
    const raw = await rawTensors();
    const i = raw.findIndex((t) => t.name === 'transformer.h.0.ln_2.weight');
    raw[i] = { ...raw[i], shape: [31], data: raw[i].data.slice(0, 124) };
    const files = await fixtureFiles(CONFIG_FILES);
    files.set('model.safetensors', new Blob([encodeSafetensors(raw)]));
    const e = await inputError(openCheckpoint(files));
    expect(e.message).toBe('model.safetensors: tensor h.0.ln_2.weight has wrong shape [31], expected [32] for this config');
  });

  it('a missing required tensor is named; missing optional biases are fine', async () => {
    const raw = await rawTensors();
    const files = await fixtureFiles(CONFIG_FILES);
    files.set('model.safetensors', new Blob([encodeSafetensors(raw.filter((t) => !t.name.endsWith('.bias')))]));
    const ck = await openCheckpoint(files);
    expect(ck.tensors.size).toBe(24 - 8);
    files.set('model.safetensors', new Blob([encodeSafetensors(raw.filter((t) => t.name !== 'transformer.ln_f.weight'))]));
    expect((await inputError(openCheckpoint(files))).message).toMatch(/model\.safetensors: missing tensor ln_f\.weight/);
  });

  it('missing config key and non-ImageGPT config name config.json', async () => {
    const files = await fixtureFiles();
    const cfg = JSON.parse(await files.get('config.json')!.text()) as Record<string, unknown>;
    delete cfg.n_head;
    files.set('config.json', jsonBlob(cfg));
    expect((await inputError(openCheckpoint(files))).message).toBe('config.json: missing config key n_head');
    files.set('config.json', jsonBlob({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 32 }));
    expect((await inputError(openCheckpoint(files))).message).toMatch(/^config\.json: not an ImageGPT config/);
    files.delete('config.json');
    expect((await inputError(openCheckpoint(files))).message).toMatch(/^config\.json: missing file/);
  });

  it('missing preprocessor clusters', async () => {
    const files = await fixtureFiles();
    files.set('preprocessor_config.json', jsonBlob({ size: { height: 32, width: 32 } }));
    expect((await inputError(openCheckpoint(files))).message).toMatch(/^preprocessor_config\.json: missing key clusters/);
  });

  it('unknown dtype in the weights names file, tensor and dtype', async () => {
    const raw = await rawTensors();
    const bytes = encodeSafetensors(raw);
    const text = new TextDecoder('latin1').decode(bytes.subarray(0, 4096));
    const at = text.indexOf('"F32"'); // first tensor in the header: lm_head.weight
    bytes.set(new TextEncoder().encode('"F8X"'), at);
    const files = await fixtureFiles(CONFIG_FILES);
    files.set('model.safetensors', new Blob([bytes]));
    expect((await inputError(openCheckpoint(files))).message).toMatch(/^model\.safetensors: tensor lm_head\.weight has unknown dtype "F8X"/);
  });

  it('empty and truncated weight files name the file and say so', async () => {
    const files = await fixtureFiles();
    const st = files.get('model.safetensors')!;
    const pt = files.get('pytorch_model.bin')!;
    files.set('model.safetensors', new Blob([]));
    expect((await inputError(openCheckpoint(files))).message).toMatch(/^model\.safetensors: empty file/);
    files.set('model.safetensors', st.slice(0, st.size - 10));
    expect((await inputError(openCheckpoint(files))).message).toMatch(/^model\.safetensors: truncated file/);
    files.set('pytorch_model.bin', pt.slice(0, 2_000_000));
    expect((await inputError(openCheckpoint(files, { prefer: 'pytorch' }))).message).toMatch(/^pytorch_model\.bin: truncated or corrupt zip/);
    files.set('pytorch_model.bin', new Blob([]));
    expect((await inputError(openCheckpoint(files, { prefer: 'pytorch' }))).message).toMatch(/^pytorch_model\.bin: empty file/);
  });
});

describe('name helpers', () => {
  it('normalises names and spots legacy buffers', () => {
    expect(normaliseTensorName('transformer.h.3.ln_1.weight')).toBe('h.3.ln_1.weight');
    expect(normaliseTensorName('lm_head.weight')).toBe('lm_head.weight');
    expect(isLegacyBuffer('h.12.attn.bias')).toBe(true);
    expect(isLegacyBuffer('h.0.attn.masked_bias')).toBe(true);
    expect(isLegacyBuffer('h.0.attn.c_attn.bias')).toBe(false);
  });
});
