/**
 * 4-bit block-wise weight quantisation in the layout of onnxruntime's contrib op `MatMulNBits`
 * (bits 4, block_size 32), computed the way onnxruntime's own quantiser (MLAS
 * `BlockwiseQuantizer<float, 32, 4, columnwise>::quantizeAndTranspose`) does, in float32:
 *
 *   W is [K, N] (input features x output features); each output column n is cut along K into
 *   blocks of 32 values, and each block gets its own scale (and zero point):
 *
 *   asymmetric: lo = min(min(block), 0), hi = max(max(block), 0), scale = (hi - lo) / 15,
 *               zp = clamp(roundf(-lo / scale), 0, 15)
 *   symmetric:  m = the block value of largest magnitude (with its sign), scale = m / -8, zp = 8
 *               (no zero_points input: MatMulNBits then uses 2^(bits-1) = 8)
 *   q = clamp(roundf(w / scale + zp), 0, 15);  dequantised w' = (q - zp) * scale
 *
 * Packing (what MatMulNBits reads):
 *   B            uint8 [N, kBlocks, 16]: element k of block b of column n is the low nibble of
 *                byte (n, b, k >> 1) when k is even, the high nibble when k is odd
 *   scales       float [N, kBlocks]
 *   zero_points  uint8 [N, ceil(kBlocks / 2)]: block b's zero point is the low nibble of byte
 *                (n, b >> 1) when b is even, the high nibble when b is odd; an unused last nibble
 *                holds 8 (as MLAS writes it)
 * A K that is not a multiple of 32 is padded with the block's zero point (dequantises to 0).
 */

export const Q4_BLOCK_SIZE = 32;
const BLOB_BYTES = Q4_BLOCK_SIZE / 2;

export interface Q4Weight {
  /** [N, kBlocks, 16] */
  packed: Uint8Array;
  /** [N, kBlocks] */
  scales: Float32Array;
  /** [N, ceil(kBlocks / 2)], or null for symmetric quantisation. */
  zeroPoints: Uint8Array | null;
  K: number;
  N: number;
  kBlocks: number;
}

export const q4Blocks = (K: number) => Math.ceil(K / Q4_BLOCK_SIZE);

/** Byte sizes of the three MatMulNBits initializers of a [K, N] weight. */
export function q4Bytes(K: number, N: number, symmetric: boolean): { packed: number; scales: number; zeroPoints: number } {
  const kBlocks = q4Blocks(K);
  return { packed: N * kBlocks * BLOB_BYTES, scales: N * kBlocks * 4, zeroPoints: symmetric ? 0 : N * Math.ceil(kBlocks / 2) };
}

const f = Math.fround;
/** C's roundf: halves away from zero. */
const roundf = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));
const clamp15 = (x: number) => (x < 0 ? 0 : x > 15 ? 15 : x);

/**
 * Quantises W. `layout` 'kn': values are [K, N] row-major (Hugging Face Conv1D, `x @ W`);
 * 'nk': [N, K] row-major (nn.Linear, `x @ W^T`).
 */
export function quantizeQ4(values: Float32Array, K: number, N: number, layout: 'kn' | 'nk', symmetric: boolean): Q4Weight {
  if (values.length !== K * N) throw new Error(`quantizeQ4: ${values.length} values for [${K}, ${N}]`);
  const kBlocks = q4Blocks(K);
  const zpStride = Math.ceil(kBlocks / 2);
  const packed = new Uint8Array(N * kBlocks * BLOB_BYTES);
  const scales = new Float32Array(N * kBlocks);
  const zeroPoints = symmetric ? null : new Uint8Array(N * zpStride).fill(0x88);
  const at = layout === 'kn' ? (k: number, n: number) => values[k * N + n] : (k: number, n: number) => values[n * K + k];
  const block = new Float32Array(Q4_BLOCK_SIZE);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * Q4_BLOCK_SIZE;
      const len = Math.min(Q4_BLOCK_SIZE, K - k0);
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < len; i++) {
        const v = at(k0 + i, n);
        block[i] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      let scale: number;
      let zp: number;
      if (symmetric) {
        const m = Math.abs(max) > Math.abs(min) ? max : min;
        scale = f(m / -8);
        zp = 8;
      } else {
        min = Math.min(min, 0);
        max = Math.max(max, 0);
        scale = f((max - min) / 15);
        const zpFloat = scale !== 0 ? f(0 - f(min / scale)) : min;
        zp = zpFloat < 0 ? 0 : zpFloat > 15 ? 15 : roundf(zpFloat);
        const zi = n * zpStride + (b >> 1);
        zeroPoints![zi] = b & 1 ? (zeroPoints![zi] & 0x0f) | (zp << 4) : (zeroPoints![zi] & 0xf0) | zp;
      }
      scales[n * kBlocks + b] = scale;
      const reciprocal = scale !== 0 ? f(1 / scale) : 0;
      const base = (n * kBlocks + b) * BLOB_BYTES;
      for (let i = 0; i < Q4_BLOCK_SIZE; i += 2) {
        const q0 = i < len ? clamp15(roundf(f(f(block[i] * reciprocal) + zp))) : zp;
        const q1 = i + 1 < len ? clamp15(roundf(f(f(block[i + 1] * reciprocal) + zp))) : zp;
        packed[base + (i >> 1)] = q0 | (q1 << 4);
      }
    }
  }
  return { packed, scales, zeroPoints, K, N, kBlocks };
}

/** W' as MatMulNBits sees it, [K, N] row-major (for tests and error estimates). */
export function dequantizeQ4(q: Q4Weight): Float32Array {
  const { K, N, kBlocks } = q;
  const zpStride = Math.ceil(kBlocks / 2);
  const out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = (k / Q4_BLOCK_SIZE) | 0;
      const i = k % Q4_BLOCK_SIZE;
      const byte = q.packed[(n * kBlocks + b) * BLOB_BYTES + (i >> 1)];
      const v = i & 1 ? byte >> 4 : byte & 0x0f;
      let zp = 8;
      if (q.zeroPoints) {
        const zb = q.zeroPoints[n * zpStride + (b >> 1)];
        zp = b & 1 ? zb >> 4 : zb & 0x0f;
      }
      out[k * N + n] = f((v - zp) * q.scales[n * kBlocks + b]);
    }
  }
  return out;
}
