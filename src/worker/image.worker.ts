/// <reference lib="webworker" />
/**
 * Turns an uploaded image into the 32x32 token prompt off the UI thread: PNG and JPEG through the
 * project's decoder (same pixels as the CLI), other formats the browser knows through
 * createImageBitmap + OffscreenCanvas; then resize and quantize with the model's palette.
 */
import { InputError } from '../errors.ts';
import { decodeImage, imageToTokens, sniffFormat, type RgbaImage } from '../image/index.ts';
import type { ImageApi } from './protocol.ts';
import { serve } from './rpc.ts';

declare const self: DedicatedWorkerGlobalScope;

async function toRgba(bytes: Uint8Array, name: string, blob: Blob): Promise<RgbaImage> {
  if (sniffFormat(bytes)) return decodeImage(bytes, name);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new InputError(name, bytes.length === 0 ? 'empty file (0 bytes)' : `not an image this browser can decode (starts with bytes ${head})`);
  }
  if (bitmap.width * bitmap.height > 64 * 1024 * 1024) throw new InputError(name, `image too large (${bitmap.width}x${bitmap.height})`);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context in the worker');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width: img.width, height: img.height, data: img.data };
}

serve<ImageApi>(
  {
    async tokenize({ file, name, clusters }) {
      const rgba = await toRgba(new Uint8Array(await file.arrayBuffer()), name, file);
      const { tokens } = imageToTokens(rgba, clusters);
      return { tokens, width: rgba.width, height: rgba.height };
    },
  },
  self,
  (v) => [(v as { tokens: Int32Array }).tokens.buffer as ArrayBuffer],
);
