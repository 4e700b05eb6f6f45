import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256, sha256HexOf } from './sha256.ts';

describe('Sha256', () => {
  it('matches node:crypto for lengths around the block and padding boundaries', () => {
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 100_003]) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
      expect(sha256HexOf(data), `length ${n}`).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('gives the same digest however the input is split', () => {
    const data = new Uint8Array(5000).map((_, i) => (i * 7) & 255);
    const h = new Sha256();
    for (let i = 0, step = 1; i < data.length; i += step, step = (step * 3 + 1) % 97) h.update(data.subarray(i, i + step));
    expect(h.hex()).toBe(createHash('sha256').update(data).digest('hex'));
    expect(sha256HexOf(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
