import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type TensorSource } from './types.ts';
import { InputError } from '../errors.ts';
import { openTorchZip, readZipDirectory, readZipEntry } from './torchzip.ts';
import { inputError } from '../../test/expectInputError.ts';

const DATA = new URL('../../test/data/', import.meta.url);
const blobAt = async (rel: string) => (await openAsBlob(new URL(rel, DATA))) as unknown as Blob;


async function readAll(ts: TensorSource[]): Promise<Map<string, { t: TensorSource; v: Float32Array }>> {
  const m = new Map<string, { t: TensorSource; v: Float32Array }>();
  for (const t of ts) m.set(t.name, { t, v: await t.read() });
  return m;
}

// test/data/crafted/*.bin are written by test/data/crafted/make.py (standard library only).
describe('crafted torch zip files', () => {
  for (const file of ['torch_dtypes.bin', 'torch_dtypes_zip64.bin']) {
    it(`${file}: F16, BF16, F64, I64, U8, offsets and non-contiguous strides`, async () => {
      const ts = await openTorchZip(file, await blobAt(`crafted/${file}`));
      expect(ts.map((t) => t.name)).toEqual(['transformer.f16', 'bf16', 'transposed', 'offset', 'f64', 'i64', 'transformer.h.0.attn.bias']);
      const m = await readAll(ts);
      const f16 = m.get('transformer.f16')!;
      expect(f16.t.dtype).toBe('F16');
      expect(f16.t.shape).toEqual([2, 3]);
      expect(f16.t.file).toBe(`${file}:archive/data/0`);
      expect(Array.from(f16.v.slice(0, 5))).toEqual([1, -2, 65504, 2 ** -24, Infinity]);
      expect(Number.isNaN(f16.v[5])).toBe(true);
      expect(m.get('bf16')!.t.dtype).toBe('BF16');
      expect(Array.from(m.get('bf16')!.v)).toEqual([1, -3.5]);
      // size (3, 4), stride (1, 3) over storage 0..11: out[i][j] = i + 3 j
      const tr = m.get('transposed')!;
      expect(tr.t.shape).toEqual([3, 4]);
      expect(Array.from(tr.v)).toEqual([0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
      expect(Array.from(m.get('offset')!.v)).toEqual([2, 3, 4, 5, 6]);
      expect(Array.from(m.get('f64')!.v)).toEqual([0.5, -1.25]);
      expect(Array.from(m.get('i64')!.v)).toEqual([3, -4]);
      expect(m.get('transformer.h.0.attn.bias')!.t.dtype).toBe('U8');
      expect(m.get('transformer.h.0.attn.bias')!.t.shape).toEqual([1, 1, 4, 4]);
    });
  }

  it('reads ZIP64 central directory records', async () => {
    const blob = await blobAt('crafted/torch_dtypes_zip64.bin');
    const entries = await readZipDirectory('z64.bin', blob);
    expect(entries.map((e) => e.name)).toContain('archive/data/2');
    const e2 = entries.find((e) => e.name === 'archive/data/2')!;
    expect(e2.size).toBe(48);
    expect(e2.compressionMethod).toBe(0);
    const ver = entries.find((e) => e.name === 'archive/version')!;
    expect(new TextDecoder().decode(await readZipEntry('z64.bin', ver))).toBe('3\n');
  });

  it('refuses compressed entries clearly', async () => {
    const e = await inputError(openTorchZip('deflated.bin', await blobAt('crafted/torch_deflated.bin')));
    expect(e.message).toMatch(/deflated\.bin.*archive\/data\.pkl is compressed \(method 8\)/);
  });

  it('unknown storage type names file, storage entry and dtype', async () => {
    const e = await inputError(openTorchZip('complex.bin', await blobAt('crafted/torch_complex.bin')));
    expect(e.message).toMatch(/complex\.bin:archive\/data\/0.*unknown dtype: storage type torch\.ComplexFloatStorage/);
  });
});

describe('fixture pytorch_model.bin', () => {
  it('lists the state dict with legacy buffers, reading by slice', async () => {
    const ts = await openTorchZip('pytorch_model.bin', await blobAt('imagegpt-tiny-a/pytorch_model.bin'));
    expect(ts.length).toBe(28);
    const m = new Map(ts.map((t) => [t.name, t]));
    expect(m.get('transformer.h.0.attn.bias')!.shape).toEqual([1, 1, 1024, 1024]);
    expect(m.get('transformer.h.0.attn.bias')!.dtype).toBe('U8');
    expect(m.get('transformer.h.1.attn.masked_bias')!.shape).toEqual([]);
    expect(Array.from(await m.get('transformer.h.1.attn.masked_bias')!.read())).toEqual([-10000]);
    const wte = m.get('transformer.wte.weight')!;
    expect(wte.shape).toEqual([513, 32]);
    expect(wte.file).toBe('pytorch_model.bin:pytorch_model/data/0');
    // Values read with Python zipfile + struct from pytorch_model/data/0 and data/23.
    const v = await wte.read();
    expect(v[0]).toBe(Math.fround(-0.0167577862739563));
    expect(v[16415]).toBe(Math.fround(-0.20460554957389832));
    expect((await m.get('lm_head.weight')!.read())[16383]).toBe(Math.fround(-0.1870441436767578));
  });

  it('a truncated archive (no end of central directory) is an InputError naming the file', async () => {
    const full = await blobAt('imagegpt-tiny-a/pytorch_model.bin');
    const e = await inputError(openTorchZip('pytorch_model.bin', full.slice(0, 1_500_000)));
    expect(e.message).toMatch(/pytorch_model\.bin.*truncated or corrupt zip: no end-of-central-directory/);
  });

  it('a file that is not a zip, an empty file', async () => {
    const notZip = await inputError(openTorchZip('notzip.bin', new Blob([new Uint8Array(4000).fill(7)])));
    expect(notZip.message).toMatch(/notzip\.bin.*not a zip archive/);
    const empty = await inputError(openTorchZip('pytorch_model.bin', new Blob([])));
    expect(empty.message).toMatch(/pytorch_model\.bin.*empty file/);
  });

  it('a truncated pickle inside the archive names the entry', async () => {
    // Keep the zip structure but make data.pkl's stored size say fewer bytes: patch the central
    // directory and local header size fields of the first entry (data.pkl, 2620 bytes) to 100.
    const bytes = new Uint8Array(await (await blobAt('imagegpt-tiny-a/pytorch_model.bin')).arrayBuffer());
    const dv = new DataView(bytes.buffer);
    dv.setUint32(18, 100, true);
    dv.setUint32(22, 100, true);
    let cd = -1;
    for (let i = bytes.length - 22; i >= 0; i--) {
      if (dv.getUint32(i, true) === 0x06054b50) {
        cd = dv.getUint32(i + 16, true);
        break;
      }
    }
    expect(dv.getUint32(cd, true)).toBe(0x02014b50);
    dv.setUint32(cd + 20, 100, true);
    dv.setUint32(cd + 24, 100, true);
    const e = await inputError(openTorchZip('pytorch_model.bin', new Blob([bytes])));
    expect(e.message).toMatch(/pytorch_model\.bin:pytorch_model\/data\.pkl.*truncated pickle/);
  });
});
