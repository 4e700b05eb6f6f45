import { readFileSync } from 'node:fs';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.ts';
import { decodeImage, readImageSize } from './decode.ts';

const dir = new URL('../../test/data/imagegpt-tiny-a/', import.meta.url);
const image32 = new Uint8Array(readFileSync(new URL('image32.png', dir)));
const imageOdd = new Uint8Array(readFileSync(new URL('image_odd.png', dir)));

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = CRC_TABLE[(c ^ v) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
/** A PNG whose valid IHDR (correct CRC) claims width x height, followed by a tiny IDAT and IEND. */
function pngClaiming(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('readImageSize', () => {
  it('reads PNG and JPEG headers', () => {
    expect(readImageSize(image32)).toEqual({ format: 'png', width: 32, height: 32 });
    expect(readImageSize(imageOdd)).toEqual({ format: 'png', width: 61, height: 45 });
    const jpg = encodeJpeg({ width: 13, height: 7, data: new Uint8Array(13 * 7 * 4).fill(128) }, 90).data;
    expect(readImageSize(new Uint8Array(jpg))).toEqual({ format: 'jpeg', width: 13, height: 7 });
    expect(readImageSize(new Uint8Array([1, 2, 3, 4]))).toBeNull();
    expect(readImageSize(pngClaiming(30000, 30000))).toEqual({ format: 'png', width: 30000, height: 30000 });
  });
});

describe('decodeImage', () => {
  it('decodes the fixture PNGs to opaque RGBA', () => {
    const img = decodeImage(imageOdd, 'image_odd.png');
    expect([img.width, img.height, img.data.length]).toEqual([61, 45, 61 * 45 * 4]);
    expect(img.data).toBeInstanceOf(Uint8ClampedArray);
    for (let i = 3; i < img.data.length; i += 4) expect(img.data[i]).toBe(255);
  });

  it('decodes gray, gray+alpha, RGB, RGBA at 8 and 16 bits', () => {
    const w = 3;
    const h = 2;
    const px = [
      [10, 20, 30, 255],
      [40, 50, 60, 0],
      [70, 80, 90, 128],
      [100, 110, 120, 1],
      [130, 140, 150, 200],
      [250, 251, 252, 254],
    ];
    for (const depth of [8, 16] as const) {
      for (const channels of [1, 2, 3, 4]) {
        const arr = depth === 16 ? new Uint16Array(w * h * channels) : new Uint8Array(w * h * channels);
        px.forEach((p, i) => {
          const vals = channels === 1 ? [p[0]] : channels === 2 ? [p[0], p[3]] : channels === 3 ? p.slice(0, 3) : p;
          vals.forEach((v, c) => (arr[i * channels + c] = depth === 16 ? v * 256 + 200 : v)); // 16-bit keeps the high byte
        });
        const bytes = encodePng({ width: w, height: h, data: arr, depth, channels });
        const img = decodeImage(bytes, `t${depth}_${channels}.png`);
        px.forEach((p, i) => {
          const want =
            channels === 1 ? [p[0], p[0], p[0], 255] : channels === 2 ? [p[0], p[0], p[0], p[3]] : channels === 3 ? [...p.slice(0, 3), 255] : p;
          expect(Array.from(img.data.subarray(i * 4, i * 4 + 4))).toEqual(want);
        });
      }
    }
  });

  it('decodes palette PNGs (with tRNS) and low bit depth gray', () => {
    const palette = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [9, 9, 9],
    ];
    // 2-bit indices, 5 pixels wide: packed rows.
    const idx = [0, 1, 2, 3, 1, 3, 2, 1, 0, 0];
    const packed = new Uint8Array(4);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 5; x++) packed[y * 2 + (x >> 2)] |= idx[y * 5 + x] << (6 - 2 * (x & 3));
    // (fast-png's encoder writes tRNS only for non-opaque entries, so make the transparent one first.)
    const bytes = encodePng({ width: 5, height: 2, data: packed, depth: 2, channels: 1, palette: palette.map((p, i) => (i === 0 ? [...p, 7] : [...p, 255])) });
    const img = decodeImage(bytes, 'pal.png');
    idx.forEach((k, i) => {
      expect(Array.from(img.data.subarray(i * 4, i * 4 + 4))).toEqual([...palette[k], k === 0 ? 7 : 255]);
    });
    const gray1 = encodePng({ width: 9, height: 1, data: new Uint8Array([0b10110000, 0b10000000]), depth: 1, channels: 1 });
    const g = decodeImage(gray1, 'g1.png');
    expect(Array.from(g.data.filter((_, i) => i % 4 === 0))).toEqual([255, 0, 255, 255, 0, 0, 0, 0, 255]);
  });

  it('round-trips a JPEG made with jpeg-js', () => {
    const w = 16;
    const h = 8;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([(i * 13) & 255, 100, 200 - (i % w) * 5, 255], i * 4);
    const jpg = new Uint8Array(encodeJpeg({ width: w, height: h, data: rgba }, 95).data);
    const img = decodeImage(jpg, 'photo.jpeg');
    expect([img.width, img.height]).toEqual([w, h]);
    let maxErr = 0;
    for (let i = 0; i < rgba.length; i++) maxErr = Math.max(maxErr, Math.abs(img.data[i] - rgba[i]));
    // Quality 95 JPEG of a smooth-ish pattern: small errors only; alpha is 255.
    expect(maxErr).toBeLessThan(48);
    for (let i = 3; i < img.data.length; i += 4) expect(img.data[i]).toBe(255);
    // Sniffed by content: a JPEG named .png still decodes as JPEG.
    expect(decodeImage(jpg, 'lies.png').width).toBe(w);
    // Truncated JPEG.
    const e = inputError(() => decodeImage(jpg.subarray(0, Math.floor(jpg.length * 0.7)), 'cut.jpg'));
    expect(e.message).toMatch(/^cut\.jpg: .*truncated JPEG/);
  });

  it('refuses empty, non-image and truncated files naming the file', () => {
    expect(inputError(() => decodeImage(new Uint8Array(0), 'empty.png')).message).toMatch(/^empty\.png: empty file/);
    const junk = new Uint8Array(300).map((_, i) => (i * 97 + 13) & 255);
    expect(inputError(() => decodeImage(junk, 'noise.bin')).message).toMatch(/^noise\.bin: not a PNG or JPEG image/);
    for (const cut of [10, 30, 60, image32.length - 20, image32.length - 1]) {
      const e = inputError(() => decodeImage(image32.subarray(0, cut), 'cut.png'));
      expect(e.input).toBe('cut.png');
      expect(e.message).toMatch(/truncated|corrupt/);
    }
    // Corrupted compressed data (same length) is caught by the CRC check.
    const bad = image32.slice();
    bad[bad.length - 30] ^= 0xff;
    expect(inputError(() => decodeImage(bad, 'bad.png')).message).toMatch(/^bad\.png: corrupt PNG/);
  });

  it('refuses a PNG whose header claims 30000x30000 before decoding', () => {
    const bytes = pngClaiming(30000, 30000);
    expect(bytes.length).toBeLessThan(100);
    const e = inputError(() => decodeImage(bytes, 'huge.png'));
    expect(e.input).toBe('huge.png');
    expect(e.message).toContain('30000x30000');
    expect(inputError(() => decodeImage(pngClaiming(20000, 10), 'wide.png')).message).toContain('20000x10');
    expect(inputError(() => decodeImage(pngClaiming(20000, 10), 'wide.png')).message).toContain('wider or taller than the limit of 16384x16384');
    // 9000x9000 fits 16384x16384 but not the pixel count: the message quotes the limit it broke.
    const mp = inputError(() => decodeImage(pngClaiming(9000, 9000), 'mp.png')).message;
    expect(mp).toContain('9000x9000 pixels (81 megapixels), over the limit of 67.1 megapixels');
    expect(mp).not.toContain('16384');
    expect(inputError(() => decodeImage(pngClaiming(0, 5), 'zero.png')).message).toContain('0x5');
    // Custom limits apply too.
    expect(inputError(() => decodeImage(imageOdd, 'image_odd.png', { maxPixels: 1000 })).message).toContain('61x45');
  });
});
