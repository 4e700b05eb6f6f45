import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.ts';
import { bytesToFloat32, encodeSafetensors, f16BitsToNumber, openSafetensors, readSafetensorsHeader } from './safetensors.ts';
import { inputError } from '../../test/expectInputError.ts';

const FIXTURE = new URL('../../test/data/imagegpt-tiny-a/', import.meta.url);
const fixtureBlob = async (name: string) => (await openAsBlob(new URL(name, FIXTURE))) as unknown as Blob;
const u16 = (...bits: number[]) => new Uint8Array(Uint16Array.from(bits).buffer);
const blobOf = (b: Uint8Array<ArrayBuffer>) => new Blob([b]);


describe('dtype conversion', () => {
  it('converts F16 bit patterns: 1, -2, 65504, smallest subnormal, inf, NaN, -0', async () => {
    const file = encodeSafetensors([{ name: 'h', dtype: 'F16', shape: [7], data: u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00, 0x8000) }]);
    const [t] = await openSafetensors('half.safetensors', blobOf(file));
    expect(t.dtype).toBe('F16');
    const v = await t.read();
    expect(Array.from(v.slice(0, 5))).toEqual([1, -2, 65504, 2 ** -24, Infinity]);
    expect(Number.isNaN(v[5])).toBe(true);
    expect(Object.is(v[6], -0)).toBe(true);
    expect(f16BitsToNumber(0xfc00)).toBe(-Infinity);
    expect(f16BitsToNumber(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
  });

  it('converts BF16: 1.0 and -3.5', async () => {
    const file = encodeSafetensors([{ name: 'b', dtype: 'BF16', shape: [1, 2], data: u16(0x3f80, 0xc060) }]);
    const [t] = await openSafetensors('bf.safetensors', blobOf(file));
    expect(t.shape).toEqual([1, 2]);
    expect(Array.from(await t.read())).toEqual([1, -3.5]);
  });

  it('converts F64, F32 and integer dtypes', async () => {
    const f64 = new Uint8Array(Float64Array.from([0.5, -1.25, 1e300]).buffer);
    expect(Array.from(bytesToFloat32(f64, 'F64', 'x'))).toEqual([0.5, -1.25, Infinity]);
    const f32 = new Uint8Array(Float32Array.from([3.25, -7]).buffer);
    expect(Array.from(bytesToFloat32(f32, 'F32', 'x'))).toEqual([3.25, -7]);
    expect(Array.from(bytesToFloat32(new Uint8Array(BigInt64Array.from([3n, -4n]).buffer), 'I64', 'x'))).toEqual([3, -4]);
    expect(Array.from(bytesToFloat32(Uint8Array.from([0, 255]), 'U8', 'x'))).toEqual([0, 255]);
    expect(Array.from(bytesToFloat32(Uint8Array.from([0, 255]), 'I8', 'x'))).toEqual([0, -1]);
    expect(() => bytesToFloat32(Uint8Array.from([1, 2, 3]), 'F32', 'odd')).toThrow(/odd.*multiple of 4/);
  });
});

describe('safetensors fixture', () => {
  it('reads the header without tensor data, and tensors by slice', async () => {
    const blob = await fixtureBlob('model.safetensors');
    const h = await readSafetensorsHeader('model.safetensors', blob);
    expect(h.entries.length).toBe(24);
    expect(h.metadata).toEqual({ format: 'pt' });
    const tensors = await openSafetensors('model.safetensors', blob);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    expect(byName.get('transformer.wte.weight')!.shape).toEqual([513, 32]);
    expect(byName.get('lm_head.weight')!.shape).toEqual([512, 32]);
    // Expected values extracted with Python's struct module straight from the file's bytes
    // (header parsed with json, then struct.unpack('<f') at 8 + header_len + data_offsets[0] + 4 * i);
    // the same values were found in pytorch_model.bin's storages by zipfile + struct.
    const wte = await byName.get('transformer.wte.weight')!.read();
    expect(wte.length).toBe(513 * 32);
    expect(wte[0]).toBe(Math.fround(-0.0167577862739563));
    expect(wte[16415]).toBe(Math.fround(-0.20460554957389832));
    const wpe = await byName.get('transformer.wpe.weight')!.read();
    expect(wpe[32005]).toBe(Math.fround(-0.3188101351261139));
    const lm = await byName.get('lm_head.weight')!.read();
    expect(lm[16383]).toBe(Math.fround(-0.1870441436767578));
    const cAttn = await byName.get('transformer.h.0.attn.c_attn.weight')!.read();
    expect(cAttn[128]).toBe(Math.fround(-0.08229520916938782));
  });
});

describe('safetensors bad input', () => {
  it('empty file', async () => {
    const e = await inputError(openSafetensors('model.safetensors', new Blob([])));
    expect(e.message).toMatch(/model\.safetensors.*empty file/);
  });

  it('header length beyond the file', async () => {
    const blob = (await fixtureBlob('model.safetensors')).slice(0, 100);
    const e = await inputError(openSafetensors('model.safetensors', blob));
    expect(e.message).toMatch(/model\.safetensors.*truncated file: header length 2264/);
    const tiny = await inputError(openSafetensors('tiny.safetensors', new Blob([new Uint8Array(5)])));
    expect(tiny.message).toMatch(/tiny\.safetensors.*truncated/);
  });

  it('tensor data beyond the file', async () => {
    const full = await fixtureBlob('model.safetensors');
    const e = await inputError(openSafetensors('model.safetensors', full.slice(0, full.size - 1000)));
    expect(e.message).toMatch(/model\.safetensors.*truncated file: tensor transformer\.wte\.weight data ends at byte 365792/);
  });

  it('unknown dtype names file, tensor and dtype', async () => {
    const file = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
    const text = new TextDecoder().decode(file).replace('"F32"', '"F8E4"'); // same length
    const e = await inputError(openSafetensors('odd.safetensors', blobOf(new TextEncoder().encode(text))));
    expect(e.message).toMatch(/odd\.safetensors.*tensor w has unknown dtype "F8E4"/);
  });

  it('corrupt header JSON and inconsistent offsets', async () => {
    const file = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
    const broken = file.slice();
    broken[8] = 0x5b; // '[' instead of '{'
    expect((await inputError(openSafetensors('bad.safetensors', blobOf(broken)))).message).toMatch(/bad\.safetensors.*corrupt safetensors header/);
    const text = new TextDecoder().decode(file).replace('"shape":[2]', '"shape":[3]');
    const e = await inputError(openSafetensors('size.safetensors', blobOf(new TextEncoder().encode(text))));
    expect(e.message).toMatch(/size\.safetensors.*tensor w F32\[3\] needs 12 bytes but data_offsets span 8/);
  });
});
