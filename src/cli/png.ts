/** PNG output for the CLI: nearest-neighbour upscaling, image grids, and encoding with fast-png. */
import { encode } from 'fast-png';

/** A packed RGB raster (3 bytes per pixel, row-major). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Encodes an RGB raster as an 8-bit RGB PNG. */
export function encodeRgbPng(img: RgbImage): Uint8Array {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`encodeRgbPng: ${img.data.length} bytes for a ${img.width}x${img.height} RGB image`);
  }
  return encode({ width: img.width, height: img.height, data: img.data, channels: 3, depth: 8 });
}

/** Nearest-neighbour upscale by an integer factor. */
export function upscaleNearest(img: RgbImage, factor: number): RgbImage {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`upscaleNearest: factor must be a positive integer, got ${factor}`);
  const width = img.width * factor;
  const height = img.height * factor;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < width; x++) {
      const s = (sy * img.width + Math.floor(x / factor)) * 3;
      const d = (y * width + x) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width, height, data: out };
}

/**
 * Tiles equally sized cells into a grid (cells[row][col]); rows may differ in length, missing
 * cells are filled with `background`. Then upscales the whole grid by `scale`.
 */
export function gridImage(cells: RgbImage[][], scale = 1, background: [number, number, number] = [255, 255, 255]): RgbImage {
  const first = cells.flat()[0];
  if (!first) throw new RangeError('gridImage: no cells');
  const cw = first.width;
  const ch = first.height;
  const cols = Math.max(...cells.map((r) => r.length));
  const width = cols * cw;
  const height = cells.length * ch;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  cells.forEach((row, r) =>
    row.forEach((cell, c) => {
      if (cell.width !== cw || cell.height !== ch) throw new RangeError(`gridImage: cell ${r},${c} is ${cell.width}x${cell.height}, expected ${cw}x${ch}`);
      for (let y = 0; y < ch; y++) {
        const src = cell.data.subarray(y * cw * 3, (y + 1) * cw * 3);
        data.set(src, ((r * ch + y) * width + c * cw) * 3);
      }
    }),
  );
  const grid = { width, height, data };
  return scale === 1 ? grid : upscaleNearest(grid, scale);
}
