/**
 * Streaming safetensors reader: only the header is read when opening; each tensor's bytes are
 * read with one Blob slice when its `read()` is called. Also holds the dtype -> float32
 * conversion shared with the torch reader.
 */
import { type CheckpointDType, type TensorSource } from './types.ts';
import { InputError } from '../errors.ts';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<CheckpointDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  U8: 1,
  I8: 1,
  BOOL: 1,
};

export function isCheckpointDType(s: unknown): s is CheckpointDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Largest header the format allows (100 MB, as in the reference implementation). */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** IEEE half (binary16) bits -> number. */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let f16Table: Float32Array | undefined;
function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToNumber(i);
  }
  return f16Table;
}

/**
 * Converts little-endian raw tensor bytes to float32. `bytes` must hold exactly
 * `count * DTYPE_BYTES[dtype]` bytes. `where` names the tensor for errors.
 */
export function bytesToFloat32(bytes: Uint8Array, dtype: CheckpointDType, where: string): Float32Array {
  const size = DTYPE_BYTES[dtype];
  if (size === undefined) throw new InputError(where, `unsupported dtype ${String(dtype)}`);
  if (bytes.byteLength % size !== 0) {
    throw new InputError(where, `byte length ${bytes.byteLength} is not a multiple of ${size} (${dtype})`);
  }
  const n = bytes.byteLength / size;
  // F32 from a fresh read that owns its whole buffer: view it instead of copying (halves peak memory).
  if (dtype === 'F32' && LITTLE_ENDIAN_HOST && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return new Float32Array(bytes.buffer, 0, n);
  }
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST) {
        new Uint8Array(out.buffer).set(bytes);
      } else {
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      }
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case 'F16': {
      const t = halfTable();
      for (let i = 0; i < n; i++) out[i] = t[dv.getUint16(i * 2, true)];
      break;
    }
    case 'BF16': {
      // bf16 is the top half of a float32; a Uint32Array view shares the host's byte order.
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = bytes[i];
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
  }
  return out;
}

/** Reads a Blob range, reporting a short read as truncation. */
export async function readRange(blob: Blob, start: number, end: number, file: string, what: string): Promise<Uint8Array<ArrayBuffer>> {
  if (start < 0 || end < start) throw new InputError(file, `invalid byte range ${start}..${end} for ${what}`);
  if (end > blob.size) {
    throw new InputError(file, `truncated file: ${what} needs bytes ${start}..${end} but the file has ${blob.size} bytes`);
  }
  const buf = new Uint8Array(await blob.slice(start, end).arrayBuffer());
  if (buf.byteLength !== end - start) {
    throw new InputError(file, `truncated file: read ${buf.byteLength} of ${end - start} bytes of ${what}`);
  }
  return buf;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** One entry of a safetensors header. */
export interface SafetensorsEntry {
  name: string;
  dtype: CheckpointDType;
  shape: number[];
  /** Absolute byte range in the file. */
  start: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Where tensor data starts: 8 + header length. */
  dataStart: number;
}

/** Reads and validates a safetensors header (8-byte length + JSON) from `blob`, named `file` in errors. */
export async function readSafetensorsHeader(file: string, blob: Blob): Promise<SafetensorsHeader> {
  if (blob.size === 0) throw new InputError(file, 'empty file (0 bytes), expected a safetensors file');
  if (blob.size < 8) throw new InputError(file, `truncated file: ${blob.size} bytes, a safetensors file starts with an 8-byte header length`);
  const lenBytes = await readRange(blob, 0, 8, file, 'header length');
  const len = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (len > MAX_HEADER) throw new InputError(file, `corrupt safetensors header: header length ${len} is too large`);
  if (8 + len > blob.size) {
    throw new InputError(file, `truncated file: header length ${len} goes beyond the file size ${blob.size}`);
  }
  const headerBytes = await readRange(blob, 8, 8 + len, file, 'header');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new InputError(file, `corrupt safetensors header: not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    throw new InputError(file, 'corrupt safetensors header: not a JSON object');
  }
  const dataStart = 8 + len;
  const dataSize = blob.size - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v && typeof v === 'object') metadata = v as Record<string, string>;
      continue;
    }
    const info = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!info || typeof info !== 'object') throw new InputError(file, `corrupt safetensors header: entry for tensor ${name} is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isCheckpointDType(dtype)) {
      throw new InputError(file, `tensor ${name} has unknown dtype ${JSON.stringify(dtype)} (supported: F32, F16, BF16, F64, I64, I32, U8, I8, BOOL)`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InputError(file, `corrupt safetensors header: tensor ${name} has invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[1] < offsets[0]
    ) {
      throw new InputError(file, `corrupt safetensors header: tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [b, e] = offsets as [number, number];
    const want = numelOf(shape) * DTYPE_BYTES[dtype];
    if (e - b !== want) {
      throw new InputError(file, `corrupt safetensors header: tensor ${name} ${dtype}${JSON.stringify(shape)} needs ${want} bytes but data_offsets span ${e - b}`);
    }
    if (e > dataSize) {
      throw new InputError(file, `truncated file: tensor ${name} data ends at byte ${dataStart + e} but the file has ${blob.size} bytes`);
    }
    entries.push({ name, dtype, shape: shape.slice(), start: dataStart + b, end: dataStart + e });
  }
  return { entries, metadata, dataStart };
}

/** Opens one safetensors file: tensors keep their names as stored in the file. */
export async function openSafetensors(file: string, blob: Blob): Promise<TensorSource[]> {
  const { entries } = await readSafetensorsHeader(file, blob);
  return entries.map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    file,
    read: async () => bytesToFloat32(await readRange(blob, e.start, e.end, file, `tensor ${e.name}`), e.dtype, `${file}: tensor ${e.name}`),
  }));
}

/**
 * The start of a safetensors file (8-byte length + JSON header padded to 8 bytes) for tensors of
 * the given byte sizes, whose data follows in the given order. Used to stream large files.
 */
export function encodeSafetensorsHeader(
  tensors: { name: string; dtype: CheckpointDType; shape: number[]; bytes: number }[],
  metadata?: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const t of tensors) header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, (off += t.bytes)] };
  let json = new TextEncoder().encode(JSON.stringify(header));
  json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat((8 - (json.byteLength % 8)) % 8));
  const out = new Uint8Array(8 + json.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

/** Builds a safetensors file in memory (for tests and small tools). Tensors are written in the given order. */
export function encodeSafetensors(
  tensors: { name: string; dtype: CheckpointDType; shape: number[]; data: Uint8Array }[],
  metadata?: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const head = encodeSafetensorsHeader(tensors.map((t) => ({ ...t, bytes: t.data.byteLength })), metadata);
  const out = new Uint8Array(head.byteLength + tensors.reduce((n, t) => n + t.data.byteLength, 0));
  out.set(head);
  let p = head.byteLength;
  for (const t of tensors) {
    out.set(t.data, p);
    p += t.data.byteLength;
  }
  return out;
}
