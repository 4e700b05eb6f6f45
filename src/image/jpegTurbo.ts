/**
 * JPEG decoding with libjpeg-turbo (the library Pillow uses), compiled to WebAssembly: the
 * TurboJPEG decoder of @cwasm/jpeg-turbo, embedded in jpegTurboWasm.ts. Synchronous, with no
 * fetch: the module is compiled with `new WebAssembly.Module` on first use (139 kB), which Node, Web
 * Workers and the page all allow for a module this small. Pure (no Node, no DOM).
 *
 * Decoding uses TurboJPEG's defaults, which are libjpeg's and Pillow's: accurate integer IDCT
 * (JDCT_ISLOW) and "fancy" (triangle-filter) upsampling of subsampled chroma, so the RGB equals
 * Pillow's `Image.open(f).convert('RGB')` byte for byte (test/data/jpeg/).
 */
import { JPEG_TURBO_WASM_BASE64 } from './jpegTurboWasm.ts';

interface TurboExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  tjInitDecompress(): number;
  tjDecompressHeader3(handle: number, src: number, size: number, width: number, height: number, subsamp: number, colorspace: number): number;
  tjDecompress2(handle: number, src: number, size: number, dst: number, width: number, pitch: number, height: number, pixelFormat: number, flags: number): number;
  tjDestroy(handle: number): number;
}

/** TurboJPEG constants (turbojpeg.h). */
const TJPF_RGBA = 7;
export const TJCS = { RGB: 0, YCbCr: 1, GRAY: 2, CMYK: 3, YCCK: 4 } as const;
export const TJSAMP = ['4:4:4', '4:2:2', '4:2:0', 'gray', '4:4:0', '4:1:1'] as const;

/** A fatal libjpeg error: the wasm called longjmp, which we turn into this exception. */
class LongJump extends Error {}

export class JpegTurboError extends Error {}

let compiled: WebAssembly.Module | undefined;
let live: { exports: TurboExports; errStr: number } | undefined;

function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * turbojpeg.c keeps the last error message in a static `errStr` initialised to "No error"; its
 * address is the second of the two "No error" strings in the data segment (the first is a string
 * literal). We read the message from there after a failure; 0 when not found.
 */
function findErrStr(memory: WebAssembly.Memory): number {
  const mem = new Uint8Array(memory.buffer);
  const needle = [...'No error'].map((c) => c.charCodeAt(0)).concat(0);
  const hits: number[] = [];
  outer: for (let p = 0; p + needle.length <= mem.length && hits.length < 3; p++) {
    for (let j = 0; j < needle.length; j++) if (mem[p + j] !== needle[j]) continue outer;
    hits.push(p);
  }
  return hits.length === 2 ? hits[1] : 0;
}

function instance(): NonNullable<typeof live> {
  if (live) return live;
  compiled ??= new WebAssembly.Module(base64Bytes(JPEG_TURBO_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  const unsupported = (name: string) => () => {
    throw new JpegTurboError(`libjpeg-turbo called the unsupported system function ${name}`);
  };
  const inst = new WebAssembly.Instance(compiled, {
    env: {
      setjmp: () => 0,
      longjmp: () => {
        throw new LongJump();
      },
    },
    wasi_snapshot_preview1: {
      environ_sizes_get: () => 0,
      environ_get: unsupported('environ_get'),
      proc_exit: unsupported('proc_exit'),
      fd_close: unsupported('fd_close'),
      fd_seek: unsupported('fd_seek'),
      fd_write: unsupported('fd_write'),
    },
  });
  const exports = inst.exports as unknown as TurboExports;
  live = { exports, errStr: findErrStr(exports.memory) };
  return live;
}

function lastError(inst: NonNullable<typeof live>): string {
  if (!inst.errStr) return 'libjpeg-turbo could not decode it';
  const mem = new Uint8Array(inst.exports.memory.buffer);
  let end = inst.errStr;
  while (end < mem.length && mem[end] !== 0 && end - inst.errStr < 200) end++;
  return String.fromCharCode(...mem.subarray(inst.errStr, end)).trim() || 'libjpeg-turbo could not decode it';
}

export interface JpegHeader {
  width: number;
  height: number;
  /** '4:2:0' and the like, or 'gray'. */
  subsampling: string;
  colorspace: number;
}

/** Once an instance has grown past this, it is dropped after the call (its memory never shrinks). */
const KEEP_MEMORY_BYTES = 64 << 20;

/**
 * Runs `fn` with the JPEG bytes copied into the instance and a decompressor. Any exception (a
 * libjpeg error is a longjmp, turned into an exception through the wasm frames) leaves the
 * instance's stack and heap unknown, so it is thrown away and the next call makes a new one.
 */
function withDecompressor<T>(bytes: Uint8Array, fn: (x: TurboExports, src: number, handle: number) => T): T {
  const inst = instance();
  const x = inst.exports;
  let ok = false;
  try {
    const src = x.malloc(bytes.length);
    if (!src) throw new JpegTurboError(`out of memory for ${bytes.length} bytes of JPEG data`);
    new Uint8Array(x.memory.buffer, src, bytes.length).set(bytes);
    const handle = x.tjInitDecompress();
    if (!handle) throw new JpegTurboError('could not create a decompressor');
    const result = fn(x, src, handle);
    x.tjDestroy(handle);
    x.free(src);
    ok = true;
    return result;
  } catch (e) {
    if (e instanceof LongJump) throw new JpegTurboError(lastError(inst));
    throw e;
  } finally {
    if (!ok || x.memory.buffer.byteLength > KEEP_MEMORY_BYTES) live = undefined;
  }
}

function header(x: TurboExports, src: number, size: number, handle: number, inst: () => NonNullable<typeof live>): JpegHeader {
  const meta = x.malloc(16);
  if (!meta) throw new JpegTurboError('out of memory');
  const status = x.tjDecompressHeader3(handle, src, size, meta, meta + 4, meta + 8, meta + 12);
  const [width, height, subsamp, colorspace] = new Int32Array(x.memory.buffer, meta, 4);
  x.free(meta);
  if (status !== 0) throw new JpegTurboError(lastError(inst()));
  return { width, height, subsampling: TJSAMP[subsamp] ?? `unknown (${subsamp})`, colorspace };
}

/** The frame's size, chroma subsampling and colour space, without decoding the image. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  return withDecompressor(bytes, (x, src, handle) => header(x, src, bytes.length, handle, instance));
}

/**
 * Decodes a JPEG to RGBA (alpha 255). Grayscale comes out as R = G = B. CMYK and YCCK JPEGs are
 * refused (TurboJPEG has no conversion to RGB for them): callers fall back to another decoder.
 * Warnings (e.g. extraneous bytes, as Pillow, which ignores them) still give the image; a fatal
 * error throws JpegTurboError with libjpeg's message.
 */
export function decodeJpegTurbo(bytes: Uint8Array): { width: number; height: number; data: Uint8ClampedArray; header: JpegHeader } {
  return withDecompressor(bytes, (x, src, handle) => {
    const h = header(x, src, bytes.length, handle, instance);
    if (h.colorspace === TJCS.CMYK || h.colorspace === TJCS.YCCK) throw new JpegTurboError('CMYK JPEG: no conversion to RGB');
    const size = h.width * h.height * 4;
    const dst = x.malloc(size);
    if (!dst) throw new JpegTurboError(`out of memory for a ${h.width}x${h.height} image`);
    // Flags 0: accurate IDCT and fancy upsampling (libjpeg's defaults, as in Pillow). A return of -1
    // without a longjmp is a warning: the image is decoded all the same.
    x.tjDecompress2(handle, src, bytes.length, dst, h.width, h.width * 4, h.height, TJPF_RGBA, 0);
    const data = new Uint8ClampedArray(size);
    data.set(new Uint8Array(x.memory.buffer, dst, size));
    x.free(dst);
    return { width: h.width, height: h.height, data, header: h };
  });
}
