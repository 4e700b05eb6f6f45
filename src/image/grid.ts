/**
 * Tokens to pictures: a 32x32 image of palette tokens, and the completion grid (per row the
 * original, then each sample; one row per temperature) that both the app's "Export PNG" and
 * `igpt complete --out` write. PNG encoding with fast-png. Pure: no DOM, no Node.
 */
import { encode } from 'fast-png';
import { dequantize } from './palette.ts';

/** A packed RGB raster (3 bytes per pixel, row-major). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export function encodeRgbPng(img: RgbImage): Uint8Array {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`encodeRgbPng: ${img.data.length} bytes for a ${img.width}x${img.height} RGB image`);
  }
  return encode({ width: img.width, height: img.height, data: img.data, channels: 3, depth: 8 });
}

const SIDE = 32;
/** Pixels not generated (a stopped run): mid grey. */
const PENDING = 128;

/** A 32x32 image of tokens in raster order; positions past `tokens.length`, or -1, are mid grey. */
export function tokensImage(tokens: ArrayLike<number>, clusters: number[][]): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3).fill(PENDING);
  const n = Math.min(tokens.length, SIDE * SIDE);
  const known: number[] = [];
  for (let i = 0; i < n && tokens[i] >= 0; i++) known.push(tokens[i]);
  data.set(dequantize(known, clusters));
  return { width: SIDE, height: SIDE, data };
}

export interface GridStyle {
  /** Output pixels per image pixel. */
  scale: number;
  /** Space between and around cells, in output pixels. */
  gap: number;
  background: [number, number, number];
}

export const GRID_STYLE: GridStyle = { scale: 8, gap: 16, background: [17, 19, 24] };

/** Tiles equally sized cells (cells[row][col]; rows may be shorter) with gaps, each upscaled by nearest neighbour. */
export function gridImage(cells: RgbImage[][], style: GridStyle = GRID_STYLE): RgbImage {
  const first = cells.flat()[0];
  if (!first) throw new RangeError('gridImage: no cells');
  const { scale, gap, background } = style;
  const cw = first.width * scale;
  const ch = first.height * scale;
  const cols = Math.max(...cells.map((r) => r.length));
  const width = cols * cw + (cols + 1) * gap;
  const height = cells.length * ch + (cells.length + 1) * gap;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  cells.forEach((row, r) =>
    row.forEach((cell, c) => {
      if (cell.width !== first.width || cell.height !== first.height) {
        throw new RangeError(`gridImage: cell ${r},${c} is ${cell.width}x${cell.height}, expected ${first.width}x${first.height}`);
      }
      const x0 = gap + c * (cw + gap);
      const y0 = gap + r * (ch + gap);
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          const s = (Math.floor(y / scale) * cell.width + Math.floor(x / scale)) * 3;
          data.set(cell.data.subarray(s, s + 3), ((y0 + y) * width + x0 + x) * 3);
        }
      }
    }),
  );
  return { width, height, data };
}

/**
 * The completion grid of a run: row r holds the original image, then the samples of temperature r
 * (kept prompt + generated tokens). `generated` is row-major, rows x cols.
 */
export function completionGrid(
  original: ArrayLike<number>,
  keptLen: number,
  generated: ArrayLike<number>[],
  rows: number,
  clusters: number[][],
  style: GridStyle = GRID_STYLE,
): RgbImage {
  const cols = generated.length / rows;
  const originalImage = tokensImage(original, clusters);
  const cells = Array.from({ length: rows }, (_, r) => [
    originalImage,
    ...Array.from({ length: cols }, (_, c) => {
      const gen = generated[r * cols + c];
      const full = new Int32Array(keptLen + gen.length);
      for (let i = 0; i < keptLen; i++) full[i] = original[i];
      full.set(Array.from(gen), keptLen);
      return tokensImage(full, clusters);
    }),
  ]);
  return gridImage(cells, style);
}
