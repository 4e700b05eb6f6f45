/**
 * PNG / JPEG bytes to RGBA, with the image size checked from the header before anything is
 * decoded or allocated. Format is sniffed from magic bytes, never from the file name.
 *
 * JPEG is decoded with libjpeg-turbo compiled to WebAssembly (jpegTurbo.ts), as Pillow does it
 * (accurate IDCT, fancy chroma upsampling), so a JPEG gives Pillow's pixels and tokens; jpeg-js
 * (box upsampling, a different IDCT) only decodes the CMYK/YCCK JPEGs TurboJPEG cannot turn into RGB.
 */
import { decode as decodePng } from 'fast-png';
import { decode as decodeJpeg } from 'jpeg-js';
import { InputError } from '../errors.ts';
import { decodeJpegTurbo, JpegTurboError } from './jpegTurbo.ts';
import type { RgbaImage } from './types.ts';

export type ImageFormat = 'png' | 'jpeg';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

export interface ImageLimits {
  /** Largest width accepted (default 16384). */
  maxWidth?: number;
  /** Largest height accepted (default 16384). */
  maxHeight?: number;
  /** Largest width*height accepted (default 64 * 2^20 = 67,108,864 pixels). */
  maxPixels?: number;
}

export const DEFAULT_LIMITS: Required<ImageLimits> = {
  maxWidth: 16384,
  maxHeight: 16384,
  maxPixels: 64 * 1024 * 1024,
};

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function ascii(b: Uint8Array, o: number, n: number): string {
  return String.fromCharCode(...b.subarray(o, o + n));
}

/** The format from the magic bytes, or null. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIG.every((v, i) => bytes[i] === v)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Position and size of the first JPEG frame header (SOFn), or null if none before the scan. */
function findJpegFrame(bytes: Uint8Array): { width: number; height: number; offset: number } | null {
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null; // lost sync: corrupt
    let m = bytes[pos + 1];
    while (m === 0xff && pos + 2 < bytes.length) {
      pos++; // fill bytes
      m = bytes[pos + 1];
    }
    pos += 2;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; // standalone markers
    if (m === 0xd9 || m === 0xda) return null; // end of image / start of scan before any frame
    if (pos + 2 > bytes.length) return null;
    const len = u16be(bytes, pos);
    if (len < 2) return null;
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (pos + 7 > bytes.length) return null;
      return { height: u16be(bytes, pos + 3), width: u16be(bytes, pos + 5), offset: pos };
    }
    pos += len;
  }
  return null;
}

/**
 * Width and height from the PNG IHDR or JPEG SOF header, without decoding; null when the bytes
 * are not a PNG/JPEG or the header is missing/cut off.
 */
export function readImageSize(bytes: Uint8Array): ImageHeader | null {
  const format = sniffFormat(bytes);
  if (format === 'png') {
    if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return null;
    return { format, width: u32be(bytes, 16), height: u32be(bytes, 20) };
  }
  if (format === 'jpeg') {
    const f = findJpegFrame(bytes);
    return f ? { format, width: f.width, height: f.height } : null;
  }
  return null;
}

function checkSize(name: string, h: ImageHeader, limits: ImageLimits): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const kind = h.format === 'png' ? 'PNG' : 'JPEG';
  if (h.width === 0 || h.height === 0) {
    throw new InputError(name, `${kind} header gives an empty image (${h.width}x${h.height})`);
  }
  const size = `${kind} image is ${h.width}x${h.height} pixels`;
  if (h.width > lim.maxWidth || h.height > lim.maxHeight) {
    throw new InputError(name, `${size}, wider or taller than the limit of ${lim.maxWidth}x${lim.maxHeight}; downscale it first`);
  }
  if (h.width * h.height > lim.maxPixels) {
    const mp = (n: number) => `${Math.round(n / 1e5) / 10} megapixels`;
    throw new InputError(name, `${size} (${mp(h.width * h.height)}), over the limit of ${mp(lim.maxPixels)}; downscale it first`);
  }
}

/** Walk the PNG chunk list (no decompression) so truncation is reported as such. */
function checkPngStructure(name: string, bytes: Uint8Array): void {
  let pos = 8;
  let sawIdat = false;
  while (pos + 8 <= bytes.length) {
    const len = u32be(bytes, pos);
    const type = ascii(bytes, pos + 4, 4);
    const end = pos + 12 + len;
    if (end > bytes.length) {
      throw new InputError(name, `truncated PNG: chunk ${type} at byte ${pos} runs past the end of the file (${bytes.length} bytes)`);
    }
    if (type === 'IDAT') sawIdat = true;
    if (type === 'IEND') {
      if (!sawIdat) throw new InputError(name, 'corrupt PNG: no image data (IDAT) before IEND');
      return;
    }
    pos = end;
  }
  throw new InputError(name, `truncated PNG: file ends after ${bytes.length} bytes without an IEND chunk`);
}

function pngToRgba(name: string, bytes: Uint8Array, interlaced: boolean): RgbaImage {
  let png;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (e) {
    throw new InputError(name, `corrupt PNG: ${(e as Error).message}`);
  }
  const { width, height, depth, channels, palette, transparency } = png;
  const data = png.data;
  if (depth < 8 && interlaced) {
    throw new InputError(name, `interlaced PNG with ${depth}-bit samples is not supported; re-save it non-interlaced`);
  }
  const rowBytes = depth < 8 ? Math.ceil((width * depth * channels) / 8) : width * channels;
  if (data.length < rowBytes * height) {
    throw new InputError(name, `corrupt PNG: ${data.length} samples decoded, ${rowBytes * height} expected`);
  }
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  const maxVal = (1 << depth) - 1;
  const to8 = (v: number): number => (depth === 16 ? v >> 8 : depth === 8 ? v : (v * 255) / maxVal);
  // Raw sample c of pixel (x, y), at the file's bit depth.
  const sample = (x: number, y: number, c: number): number => {
    if (depth >= 8) return data[(y * width + x) * channels + c];
    const bit = x * depth; // depth < 8 only for 1-channel (gray / palette)
    const byte = data[y * rowBytes + (bit >> 3)];
    return (byte >> (8 - depth - (bit & 7))) & maxVal;
  };
  const hasKey = transparency !== undefined && transparency.length > 0 && !palette;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (palette) {
        const idx = sample(x, y, 0);
        const entry = palette[idx];
        if (!entry) throw new InputError(name, `corrupt PNG: palette index ${idx} outside a ${palette.length}-colour palette`);
        out[o] = entry[0];
        out[o + 1] = entry[1];
        out[o + 2] = entry[2];
        out[o + 3] = entry.length > 3 ? entry[3] : 255;
      } else if (channels === 1 || channels === 2) {
        const g = sample(x, y, 0);
        const v = to8(g);
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
        out[o + 3] = channels === 2 ? to8(sample(x, y, 1)) : hasKey && g === transparency![0] ? 0 : 255;
      } else {
        const r = sample(x, y, 0);
        const g = sample(x, y, 1);
        const b = sample(x, y, 2);
        out[o] = to8(r);
        out[o + 1] = to8(g);
        out[o + 2] = to8(b);
        if (channels === 4) out[o + 3] = to8(sample(x, y, 3));
        else out[o + 3] = hasKey && transparency!.length >= 3 && r === transparency![0] && g === transparency![1] && b === transparency![2] ? 0 : 255;
      }
    }
  }
  return { width, height, data: out };
}

function jpegToRgba(name: string, bytes: Uint8Array): RgbaImage {
  // A complete JPEG has an EOI marker (FF D9) after its frame header; entropy-coded data never
  // contains FF D9 (FF is stuffed as FF 00), and EXIF thumbnails sit before the frame header.
  const frameAt = findJpegFrame(bytes)?.offset ?? 0;
  let hasEoi = false;
  for (let i = bytes.length - 2; i > frameAt; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) {
      hasEoi = true;
      break;
    }
  }
  if (!hasEoi) {
    throw new InputError(name, `truncated JPEG: no end-of-image marker (file is ${bytes.length} bytes)`);
  }
  try {
    const img = decodeJpegTurbo(bytes);
    return { width: img.width, height: img.height, data: img.data };
  } catch (e) {
    if (!(e instanceof JpegTurboError)) throw e;
    if (!/^CMYK JPEG/.test(e.message)) throw new InputError(name, `corrupt JPEG: ${e.message}`);
  }
  // CMYK / YCCK (Adobe) JPEGs: jpeg-js converts them to RGB.
  try {
    const img = decodeJpeg(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      maxResolutionInMP: 1e4,
      maxMemoryUsageInMB: 4096,
    });
    return { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length) };
  } catch (e) {
    throw new InputError(name, `corrupt JPEG: ${(e as Error).message}`);
  }
}

/**
 * Decode PNG (1/2/4/8/16-bit; gray, gray+alpha, palette, RGB, RGBA; tRNS honoured) or JPEG bytes to
 * RGBA. 16-bit samples keep their high byte (as Pillow does for RGB/RGBA). Throws InputError naming
 * `name` for an empty file, unknown format, truncated/corrupt data, or an image over `limits`
 * (checked from the header before decoding).
 */
export function decodeImage(bytes: Uint8Array, name: string, limits: ImageLimits = {}): RgbaImage {
  if (bytes.length === 0) throw new InputError(name, 'empty file (0 bytes)');
  const format = sniffFormat(bytes);
  if (!format) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new InputError(name, `not a PNG or JPEG image (starts with bytes ${head})`);
  }
  const header = readImageSize(bytes);
  if (!header) {
    throw new InputError(
      name,
      format === 'png' ? 'truncated or corrupt PNG: no complete IHDR header' : 'truncated or corrupt JPEG: no frame (SOF) header',
    );
  }
  checkSize(name, header, limits);
  if (format === 'png') {
    if (bytes.length < 33) throw new InputError(name, 'truncated PNG: IHDR chunk is cut off');
    checkPngStructure(name, bytes);
    return pngToRgba(name, bytes, bytes[28] === 1);
  }
  return jpegToRgba(name, bytes);
}
