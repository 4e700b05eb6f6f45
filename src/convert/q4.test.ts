import { describe, expect, it } from 'vitest';
import { dequantizeQ4, q4Bytes, quantizeQ4 } from './q4.ts';

/** A deterministic pseudo-random [K, N] matrix. */
function matrix(K: number, N: number, seed = 1): Float32Array {
  const out = new Float32Array(K * N);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.4;
  }
  return out;
}

describe('4-bit block quantisation (MatMulNBits layout)', () => {
  it('packs one block: low nibble first, per-column scales, the zero point of an asymmetric block', () => {
    // K = 32 (one block), N = 1: w_k = k/31 - 0.25 spans [-0.25, 0.75].
    const w = Float32Array.from({ length: 32 }, (_, k) => k / 31 - 0.25);
    const q = quantizeQ4(w, 32, 1, 'kn', false);
    const scale = Math.fround(1 / 15);
    expect(q.scales[0]).toBe(scale);
    // zero point: roundf(0.25 / scale) = roundf(3.75) = 4, packed in the low nibble; unused high nibble 8
    expect(q.zeroPoints).toEqual(Uint8Array.of(0x84));
    expect(q.packed.length).toBe(16);
    const nib = (k: number) => (k & 1 ? q.packed[k >> 1] >> 4 : q.packed[k >> 1] & 15);
    expect(nib(0)).toBe(0); // -0.25 -> 0
    expect(nib(31)).toBe(15); // 0.75 -> 15
    for (let k = 0; k < 32; k++) expect(nib(k)).toBe(Math.min(15, Math.max(0, Math.round(w[k] / scale + 4))));
    // dequantised values are within half a step
    const back = dequantizeQ4(q);
    for (let k = 0; k < 32; k++) expect(Math.abs(back[k] - w[k])).toBeLessThanOrEqual(scale / 2 + 1e-7);
  });

  it('symmetric blocks: the value of largest magnitude maps to 0 with scale m / -8, no zero points', () => {
    const w = Float32Array.from({ length: 32 }, (_, k) => (k === 5 ? -0.8 : k === 9 ? 0.6 : 0.01 * k));
    const q = quantizeQ4(w, 32, 1, 'kn', true);
    expect(q.zeroPoints).toBeNull();
    expect(q.scales[0]).toBe(Math.fround(-0.8 / -8));
    expect(q.packed[2] >> 4).toBe(0); // k = 5, high nibble of byte 2
    expect(q.packed[4] >> 4).toBe(14); // k = 9: roundf(0.6 / 0.1 + 8) = 14
    const back = dequantizeQ4(q);
    expect(back[5]).toBeCloseTo(-0.8, 6);
  });

  it('lays out N rows of k-blocks; zero points two blocks a byte, row by row', () => {
    // K = 96: 3 blocks per column, so each column's zero points take 2 bytes (the last nibble unused).
    const K = 96;
    const N = 5;
    const w = matrix(K, N);
    const q = quantizeQ4(w, K, N, 'kn', false);
    expect([q.packed.length, q.scales.length, q.zeroPoints!.length]).toEqual([N * 3 * 16, N * 3, N * 2]);
    expect(q4Bytes(K, N, false)).toEqual({ packed: N * 3 * 16, scales: N * 3 * 4, zeroPoints: N * 2 });
    expect(q4Bytes(K, N, true).zeroPoints).toBe(0);
    for (let n = 0; n < N; n++) expect(q.zeroPoints![n * 2 + 1] >> 4).toBe(8);
    // Column n, block b holds w[b*32 .. b*32+31][n]: quantise that column alone and compare.
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < 3; b++) {
        const col = Float32Array.from({ length: 32 }, (_, i) => w[(b * 32 + i) * N + n]);
        const one = quantizeQ4(col, 32, 1, 'kn', false);
        expect(Array.from(q.packed.subarray((n * 3 + b) * 16, (n * 3 + b + 1) * 16))).toEqual(Array.from(one.packed));
        expect(q.scales[n * 3 + b]).toBe(one.scales[0]);
        const zb = q.zeroPoints![n * 2 + (b >> 1)];
        expect(b & 1 ? zb >> 4 : zb & 15).toBe(one.zeroPoints![0] & 15);
      }
    }
    const back = dequantizeQ4(q);
    let worst = 0;
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(back[i] - w[i]) / q.scales[Math.floor(i / N / 32) + (i % N) * 3]);
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-5);
  });

  it('an [N, K] (nn.Linear) layout gives the same bytes as its [K, N] transpose; a short last block is padded', () => {
    const K = 40;
    const N = 3;
    const kn = matrix(K, N, 7);
    const nk = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) nk[n * K + k] = kn[k * N + n];
    const a = quantizeQ4(kn, K, N, 'kn', false);
    const b = quantizeQ4(nk, K, N, 'nk', false);
    expect(a.packed).toEqual(b.packed);
    expect(a.scales).toEqual(b.scales);
    expect(a.zeroPoints).toEqual(b.zeroPoints);
    // K = 40: block 1 holds 8 values, the other 24 nibbles hold that block's zero point
    for (let n = 0; n < N; n++) {
      const zp = a.zeroPoints![n] >> 4;
      const blob = a.packed.subarray((n * 2 + 1) * 16, (n * 2 + 2) * 16);
      for (let i = 4; i < 16; i++) expect(blob[i]).toBe(zp | (zp << 4));
    }
    expect(dequantizeQ4(a).length).toBe(K * N);
  });

  it('an all-zero block quantises to zeros (scale 0)', () => {
    const q = quantizeQ4(new Float32Array(32), 32, 1, 'kn', false);
    expect(q.scales[0]).toBe(0);
    expect(Array.from(dequantizeQ4(q))).toEqual(new Array(32).fill(0));
  });
});
