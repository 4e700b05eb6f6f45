import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { encodeRgbPng, gridImage, upscaleNearest, type RgbImage } from './png.ts';

const solid = (w: number, h: number, rgb: [number, number, number]): RgbImage => {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
};

describe('png', () => {
  it('upscales by nearest neighbour', () => {
    const img = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
    const up = upscaleNearest(img, 2);
    expect(up.width).toBe(4);
    expect(up.height).toBe(2);
    expect(Array.from(up.data)).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });

  it('tiles a grid, fills missing cells, and round-trips through PNG', () => {
    const grid = gridImage([[solid(2, 2, [255, 0, 0]), solid(2, 2, [0, 255, 0])], [solid(2, 2, [0, 0, 255])]], 3, [9, 9, 9]);
    expect([grid.width, grid.height]).toEqual([12, 12]);
    const png = decode(encodeRgbPng(grid));
    expect([png.width, png.height, png.channels, png.depth]).toEqual([12, 12, 3, 8]);
    const px = (x: number, y: number) => Array.from(png.data.slice((y * 12 + x) * 3, (y * 12 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([255, 0, 0]);
    expect(px(11, 5)).toEqual([0, 255, 0]);
    expect(px(5, 11)).toEqual([0, 0, 255]);
    expect(px(6, 6)).toEqual([9, 9, 9]);
  });

  it('rejects mismatched cells and data', () => {
    expect(() => gridImage([[solid(2, 2, [0, 0, 0]), solid(3, 2, [0, 0, 0])]])).toThrow(/cell 0,1/);
    expect(() => encodeRgbPng({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(RangeError);
  });
});
