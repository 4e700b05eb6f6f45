/**
 * Image pipeline: pixels in, iGPT tokens out; tokens in, RGB out. Pure functions (no Node, no DOM).
 */
import { compositeOnWhite } from './composite.ts';
import { preparePalette, quantize, type PreparedPalette } from './palette.ts';
import { resizeTo32, type ResampleFlavour } from './resize.ts';
import type { RgbaImage } from './types.ts';

export type { RgbaImage } from './types.ts';
export { decodeImage, readImageSize, sniffFormat, DEFAULT_LIMITS } from './decode.ts';
export type { ImageFormat, ImageHeader, ImageLimits } from './decode.ts';
export { resizeBilinear, resizeTo32 } from './resize.ts';
export type { ResampleFlavour } from './resize.ts';
export { compositeOnWhite } from './composite.ts';
export { completionGrid, encodeRgbPng, gridImage, tokensImage, GRID_STYLE, type GridStyle, type RgbImage } from './grid.ts';
export {
  quantize,
  dequantize,
  paletteRgb,
  preparePalette,
  nearestCluster,
  clusterValueToByte,
  rintHalfEven,
} from './palette.ts';
export type { PreparedPalette } from './palette.ts';

export interface ImageTokens {
  /** 1024 cluster ids, row-major. */
  tokens: Int32Array;
  /** The 32x32 RGB image (packed, 3072 bytes) that was quantised. */
  rgb32: Uint8Array;
}

/**
 * RGBA of any size -> composite on white -> squash-resize to 32x32 (antialiased bilinear; default
 * flavour 'torch' reproduces transformers' ImageGPT processor, 'pillow' is Pillow's
 * Image.resize(BILINEAR)) -> nearest of the clusters.
 */
export function imageToTokens(
  img: RgbaImage,
  clusters: number[][] | PreparedPalette,
  flavour: ResampleFlavour = 'torch',
): ImageTokens {
  const rgb = compositeOnWhite(img);
  const rgb32 = resizeTo32(rgb, img.width, img.height, flavour);
  const palette = Array.isArray(clusters) ? preparePalette(clusters) : clusters;
  return { tokens: quantize(rgb32, palette), rgb32 };
}
