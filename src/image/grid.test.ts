import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { completionGrid, encodeRgbPng, gridImage, tokensImage, type RgbImage } from './grid.ts';

const solid = (w: number, h: number, rgb: [number, number, number]): RgbImage => {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
};
const clusters = Array.from({ length: 512 }, (_, j) => [j / 511 * 2 - 1, -1, 1]);

describe('grid', () => {
  it('tiles upscaled cells with gaps, fills missing cells, and round-trips through PNG', () => {
    const grid = gridImage([[solid(2, 2, [255, 0, 0]), solid(2, 2, [0, 255, 0])], [solid(2, 2, [0, 0, 255])]], { scale: 3, gap: 1, background: [9, 9, 9] });
    expect([grid.width, grid.height]).toEqual([15, 15]);
    const png = decode(encodeRgbPng(grid));
    expect([png.width, png.height, png.channels, png.depth]).toEqual([15, 15, 3, 8]);
    const px = (x: number, y: number) => Array.from(png.data.slice((y * 15 + x) * 3, (y * 15 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([9, 9, 9]);
    expect(px(1, 1)).toEqual([255, 0, 0]);
    expect(px(6, 6)).toEqual([255, 0, 0]);
    expect(px(13, 6)).toEqual([0, 255, 0]);
    expect(px(6, 13)).toEqual([0, 0, 255]);
    expect(px(12, 12)).toEqual([9, 9, 9]); // no cell here
    expect(() => gridImage([[solid(2, 2, [0, 0, 0]), solid(3, 2, [0, 0, 0])]])).toThrow(/cell 0,1/);
    expect(() => encodeRgbPng({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(RangeError);
  });

  it('draws tokens through the palette, pending pixels grey', () => {
    const img = tokensImage([0, 511, -1], clusters);
    expect(Array.from(img.data.subarray(0, 9))).toEqual([0, 0, 255, 255, 0, 255, 128, 128, 128]);
  });

  it('lays out a run: original, then each sample of the row with the kept prompt', () => {
    const original = Int32Array.from({ length: 1024 }, () => 7);
    const generated = [Int32Array.from({ length: 512 }, () => 300), Int32Array.from({ length: 10 }, () => 400)];
    const g = completionGrid(original, 512, generated, 1, clusters, { scale: 1, gap: 0, background: [0, 0, 0] });
    expect([g.width, g.height]).toEqual([96, 32]);
    const at = (x: number, y: number) => Array.from(g.data.subarray((y * 96 + x) * 3, (y * 96 + x) * 3 + 3));
    const rgb = (t: number) => tokensImage([t], clusters).data.subarray(0, 3);
    expect(at(5, 30)).toEqual(Array.from(rgb(7)));
    expect(at(32 + 5, 5)).toEqual(Array.from(rgb(7))); // kept rows
    expect(at(32 + 5, 30)).toEqual(Array.from(rgb(300)));
    expect(at(64 + 5, 16)).toEqual(Array.from(rgb(400))); // first generated row of the stopped sample
    expect(at(64 + 5, 30)).toEqual([128, 128, 128]); // not generated
  });
});
