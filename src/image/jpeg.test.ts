// JPEG decoding against Pillow (libjpeg-turbo): test/data/jpeg/ holds JPEGs made with Pillow and
// Pillow's RGB and iGPT tokens of each (make.py there).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decode as decodeJpegJs } from 'jpeg-js';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.ts';
import { decodeImage, imageToTokens, preparePalette } from './index.ts';
import { decodeJpegTurbo, readJpegHeader } from './jpegTurbo.ts';
import { JPEG_TURBO_WASM_BASE64, JPEG_TURBO_WASM_SHA256 } from './jpegTurboWasm.ts';
import type { RgbaImage } from './types.ts';

const dataDir = new URL('../../test/data/jpeg/', import.meta.url);
const fixtureDir = new URL('../../test/data/imagegpt-tiny-a/', import.meta.url);
const clusters = (JSON.parse(readFileSync(new URL('preprocessor_config.json', fixtureDir), 'utf8')) as { clusters: number[][] }).clusters;
const palette = preparePalette(clusters);
const golden = JSON.parse(readFileSync(new URL('expected.json', dataDir), 'utf8')) as {
  made_with: string;
  images: { file: string; width: number; height: number; components: number; save: Record<string, unknown>; rgb_base64: string; tokens: number[] }[];
};
const bytesOf = (file: string) => new Uint8Array(readFileSync(new URL(file, dataDir)));

/** Samples (of width*height*3) that differ from Pillow's RGB. */
function rgbDiff(img: RgbaImage, pillowRgb: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < img.width * img.height; i++) for (let c = 0; c < 3; c++) if (img.data[i * 4 + c] !== pillowRgb[i * 3 + c]) n++;
  return n;
}
const sameTokens = (a: ArrayLike<number>, b: number[]) => b.filter((t, i) => a[i] === t).length;

describe('JPEG decoding matches Pillow', () => {
  const rows: string[] = [];
  for (const g of golden.images) {
    const cmyk = g.components === 4;
    it(`${g.file}: ${cmyk ? 'CMYK (jpeg-js fallback)' : 'identical RGB and 1024/1024 tokens'}`, () => {
      const bytes = bytesOf(g.file);
      const pillowRgb = new Uint8Array(Buffer.from(g.rgb_base64, 'base64'));
      const img = decodeImage(bytes, g.file);
      expect([img.width, img.height]).toEqual([g.width, g.height]);
      for (let i = 3; i < img.data.length; i += 4) expect(img.data[i]).toBe(255);
      // 'pillow' resample: these references were resized with Pillow (32x32 images are not resized)
      const tokens = imageToTokens(img, palette, 'pillow').tokens;
      const legacy = decodeJpegJs(bytes, { useTArray: true, formatAsRGBA: true });
      const legacyImg = { width: legacy.width, height: legacy.height, data: new Uint8ClampedArray(legacy.data) };
      const legacyTokens = imageToTokens(legacyImg, palette, 'pillow').tokens;
      rows.push(
        `${g.file}: tokens ${sameTokens(tokens, g.tokens)}/1024 (jpeg-js ${sameTokens(legacyTokens, g.tokens)}/1024), differing RGB samples ${rgbDiff(img, pillowRgb)} (jpeg-js ${rgbDiff(legacyImg, pillowRgb)}) of ${g.width * g.height * 3}`,
      );
      if (cmyk) {
        // jpeg-js and Pillow convert CMYK differently; it decodes, near Pillow's colours.
        expect(sameTokens(tokens, g.tokens)).toBeGreaterThanOrEqual(1000); // 1014 measured
        return;
      }
      expect(rgbDiff(img, pillowRgb)).toBe(0);
      expect(sameTokens(tokens, g.tokens)).toBe(1024);
    });
  }
  afterAll(() => console.log(`${golden.made_with}\n${rows.join('\n')}`));
});

describe('libjpeg-turbo in WebAssembly', () => {
  it('embeds the wasm file of the @cwasm/jpeg-turbo package', () => {
    const file = readFileSync(createRequire(import.meta.url).resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm'));
    expect(createHash('sha256').update(file).digest('hex')).toBe(JPEG_TURBO_WASM_SHA256);
    expect(Buffer.from(JPEG_TURBO_WASM_BASE64, 'base64').equals(file)).toBe(true);
  });

  it('reads the header: size, chroma subsampling', () => {
    expect(readJpegHeader(bytesOf('image32_q90_420.jpg'))).toMatchObject({ width: 32, height: 32, subsampling: '4:2:0' });
    expect(readJpegHeader(bytesOf('gradient48x40_q90_444.jpg'))).toMatchObject({ width: 48, height: 40, subsampling: '4:4:4' });
    expect(readJpegHeader(bytesOf('shapes32_gray.jpg')).subsampling).toBe('gray');
  });

  it("names libjpeg's error for a corrupt JPEG, and decodes the next one", () => {
    const good = bytesOf('image32_q90_420.jpg');
    const bad = good.slice();
    const dht = bad.findIndex((b, i) => b === 0xff && bad[i + 1] === 0xc4);
    bad.fill(0xff, dht + 5, dht + 25); // Huffman code counts that overflow
    let err: unknown;
    try {
      decodeImage(bad, 'bad.jpg');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('bad.jpg: corrupt JPEG: Bogus Huffman table definition');
    expect(decodeJpegTurbo(good).width).toBe(32);
    // again and again: a failed call must not leak the instance's stack
    for (let i = 0; i < 50; i++) expect(() => decodeJpegTurbo(bad)).toThrow(/Bogus Huffman/);
    expect(decodeJpegTurbo(good).data.length).toBe(32 * 32 * 4);
  });

  it('decodes a large JPEG and a sequence of JPEGs without growing without bound', () => {
    const big = bytesOf('shapes_97x61_q80_420_progressive.jpg');
    for (let i = 0; i < 20; i++) expect(decodeJpegTurbo(big).width).toBe(97);
  });
});
