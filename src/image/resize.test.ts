import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resizeBilinear } from './resize.ts';

interface GoldenCase {
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  pattern: 'noise' | 'gradient';
  seed: number;
  output: string;
}
const golden = JSON.parse(
  readFileSync(new URL('../../test/data/pillow/resize_bilinear.json', import.meta.url), 'utf8'),
) as { pillow: string; cases: GoldenCase[] };

/** Same generator as test/data/pillow/gen_resize_golden.py. */
function makePixels(w: number, h: number, pattern: string, seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  if (pattern === 'noise') {
    let state = seed >>> 0;
    for (let i = 0; i < out.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      out[i] = state >>> 24;
    }
  } else {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        out[i] = Math.floor((x * 255) / Math.max(1, w - 1));
        out[i + 1] = Math.floor((y * 255) / Math.max(1, h - 1));
        out[i + 2] = ((x * 7 + y * 13 + seed) * 5) & 255;
      }
    }
  }
  return out;
}

describe('resizeBilinear', () => {
  it(`matches Pillow ${golden.pillow} Image.resize(BILINEAR) byte for byte`, () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(10);
    for (const c of golden.cases) {
      const src = makePixels(c.width, c.height, c.pattern, c.seed);
      const got = resizeBilinear(src, c.width, c.height, c.outWidth, c.outHeight, 3, 'pillow');
      const want = new Uint8Array(Buffer.from(c.output, 'base64'));
      expect(want.length).toBe(c.outWidth * c.outHeight * 3);
      let diffs = 0;
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) diffs++;
      expect({ case: `${c.width}x${c.height}->${c.outWidth}x${c.outHeight} ${c.pattern}`, diffs }).toEqual({
        case: `${c.width}x${c.height}->${c.outWidth}x${c.outHeight} ${c.pattern}`,
        diffs: 0,
      });
    }
  });

  it("'torch' flavour stays within 1 of Pillow", () => {
    for (const c of golden.cases) {
      const src = makePixels(c.width, c.height, c.pattern, c.seed);
      const a = resizeBilinear(src, c.width, c.height, c.outWidth, c.outHeight, 3, 'pillow');
      const b = resizeBilinear(src, c.width, c.height, c.outWidth, c.outHeight, 3, 'torch');
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1);
    }
  });

  it('returns a copy when the size is unchanged', () => {
    const src = makePixels(32, 32, 'noise', 42);
    const out = resizeBilinear(src, 32, 32, 32, 32);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
  });

  it('keeps a flat colour flat and rejects bad sizes', () => {
    const src = new Uint8Array(61 * 45 * 3).fill(200);
    expect(Array.from(new Set(resizeBilinear(src, 61, 45, 32, 32)))).toEqual([200]);
    expect(() => resizeBilinear(src, 60, 45, 32, 32)).toThrow(RangeError);
    expect(() => resizeBilinear(src, 61, 45, 0, 32)).toThrow(RangeError);
  });
});
