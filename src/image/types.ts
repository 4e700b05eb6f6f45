/** An 8-bit RGBA raster, row-major, 4 bytes per pixel (the layout of canvas ImageData). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}
