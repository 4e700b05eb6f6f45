import type { RgbaImage } from './types.ts';

/**
 * Alpha-composite RGBA over an opaque white background, giving packed RGB.
 *
 * out = round(c * a/255 + 255 * (1 - a/255)), computed exactly in integers as
 * round(n / 255) with n = c*a + 255*(255 - a), i.e. floor((2n + 255) / 510). n/255 can never be
 * exactly x.5 (that would need 2n = 255(2x+1), an odd number), so the rounding rule for ties does
 * not matter. a = 255 gives c unchanged; a = 0 gives 255 (white).
 */
export function compositeOnWhite(img: RgbaImage): Uint8Array {
  const { width, height, data } = img;
  const n = width * height;
  if (data.length !== n * 4) {
    throw new RangeError(`compositeOnWhite: ${data.length} bytes for ${width}x${height} RGBA (want ${n * 4})`);
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = data[i * 4 + 3];
    for (let ch = 0; ch < 3; ch++) {
      const c = data[i * 4 + ch];
      out[i * 3 + ch] = a === 255 ? c : Math.floor((2 * (c * a + 255 * (255 - a)) + 255) / 510);
    }
  }
  return out;
}
