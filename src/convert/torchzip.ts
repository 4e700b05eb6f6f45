/**
 * Streaming reader of `torch.save` zip archives (`pytorch_model.bin`): the zip central directory
 * is read from the end of the Blob (ZIP64 aware), `<archive>/data.pkl` is unpickled, and each
 * tensor's bytes are read from `<archive>/data/<key>` with a Blob slice when `read()` is called.
 */
import { type CheckpointDType, type TensorSource } from './types.ts';
import { InputError } from '../errors.ts';
import { bytesToFloat32, DTYPE_BYTES, numelOf, readRange } from './safetensors.ts';
import { isTuple, PickleGlobal, unpickle, type PickleCallable } from './pickle.ts';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate, ... */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

function u64(dv: DataView, at: number, file: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new InputError(file, 'corrupt zip: 64-bit value too large');
  return Number(v);
}

/** Reads the zip central directory from the end of `blob`. */
export async function readZipDirectory(file: string, blob: Blob): Promise<ZipEntry[]> {
  if (blob.size === 0) throw new InputError(file, 'empty file (0 bytes), expected a torch zip archive');
  if (blob.size < 22) throw new InputError(file, `truncated or corrupt zip: ${blob.size} bytes is too small for a zip archive`);
  const tailLen = Math.min(blob.size, 22 + 0xffff);
  const tailStart = blob.size - tailLen;
  const tail = await readRange(blob, tailStart, blob.size, file, 'zip end of central directory');
  const tdv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tdv.getUint32(i, true) === SIG_EOCD && i + 22 + tdv.getUint16(i + 20, true) <= tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    const head = await readRange(blob, 0, 4, file, 'zip signature');
    const isZip = new DataView(head.buffer).getUint32(0, true) === SIG_LOCAL;
    throw new InputError(
      file,
      isZip
        ? 'truncated or corrupt zip: no end-of-central-directory record at the end of the file (was the download cut short?)'
        : 'not a zip archive (no end-of-central-directory record); legacy non-zip torch files are not supported',
    );
  }
  let count = tdv.getUint16(eocd + 10, true);
  let cdSize = tdv.getUint32(eocd + 12, true);
  let cdOffset = tdv.getUint32(eocd + 16, true);
  const eocdAbs = tailStart + eocd;
  const needs64 = count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  if (eocdAbs >= 20) {
    const loc = await readRange(blob, eocdAbs - 20, eocdAbs, file, 'zip64 locator');
    const ldv = new DataView(loc.buffer);
    if (ldv.getUint32(0, true) === SIG_EOCD64_LOCATOR) {
      const at = u64(ldv, 8, file);
      const rec = await readRange(blob, at, at + 56, file, 'zip64 end of central directory');
      const rdv = new DataView(rec.buffer);
      if (rdv.getUint32(0, true) !== SIG_EOCD64) throw new InputError(file, 'corrupt zip: bad zip64 end-of-central-directory record');
      count = u64(rdv, 32, file);
      cdSize = u64(rdv, 40, file);
      cdOffset = u64(rdv, 48, file);
    } else if (needs64) {
      throw new InputError(file, 'corrupt zip: zip64 locator missing');
    }
  }
  if (cdOffset + cdSize > blob.size) {
    throw new InputError(file, `truncated or corrupt zip: central directory (${cdOffset}..${cdOffset + cdSize}) lies beyond the file size ${blob.size}`);
  }
  const cd = await readRange(blob, cdOffset, cdOffset + cdSize, file, 'zip central directory');
  const dv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const dec = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || dv.getUint32(p, true) !== SIG_CENTRAL) {
      throw new InputError(file, `corrupt zip: bad central directory entry ${k}`);
    }
    const method = dv.getUint16(p + 10, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localHeaderOffset = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new InputError(file, `corrupt zip: central directory entry ${k} overruns`);
    const name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information: only the fields saturated in the fixed header are present, in this order.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          if (q + 8 > e + 4 + len) throw new InputError(file, `corrupt zip: short zip64 extra field for ${name}`);
          const v = u64(dv, q, file);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Absolute byte offset where an entry's data begins (reads the entry's local header). */
export async function zipEntryDataOffset(file: string, blob: Blob, entry: ZipEntry): Promise<number> {
  const h = await readRange(blob, entry.localHeaderOffset, entry.localHeaderOffset + 30, file, `zip local header of ${entry.name}`);
  const dv = new DataView(h.buffer);
  if (dv.getUint32(0, true) !== SIG_LOCAL) throw new InputError(file, `corrupt zip: bad local header for ${entry.name}`);
  const start = entry.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
  if (start + entry.compressedSize > blob.size) {
    throw new InputError(file, `truncated file: zip entry ${entry.name} ends at byte ${start + entry.compressedSize} but the file has ${blob.size} bytes`);
  }
  return start;
}

function checkStored(file: string, entry: ZipEntry): void {
  if (entry.method !== 0) {
    throw new InputError(file, `zip entry ${entry.name} is compressed (method ${entry.method}); only stored (uncompressed) entries, as torch.save writes them, are supported`);
  }
}

/** Reads a whole (small) stored zip entry. */
export async function readZipEntry(file: string, blob: Blob, entry: ZipEntry): Promise<Uint8Array> {
  checkStored(file, entry);
  const start = await zipEntryDataOffset(file, blob, entry);
  return readRange(blob, start, start + entry.size, file, `zip entry ${entry.name}`);
}

const STORAGE_DTYPES: Record<string, CheckpointDType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ByteStorage: 'U8',
  CharStorage: 'I8',
  BoolStorage: 'BOOL',
};

interface StorageRef {
  dtype: CheckpointDType;
  key: string;
}

/** What `_rebuild_tensor_v2` gives back. */
class TorchTensorRef {
  constructor(
    public readonly storage: StorageRef,
    public readonly storageOffset: number,
    public readonly shape: number[],
    public readonly stride: number[],
  ) {}
}

function intList(v: unknown, what: string, file: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new InputError(file, `corrupt torch pickle: ${what} is not a tuple of non-negative integers`);
  }
  return v.slice() as number[];
}

/**
 * Opens a torch zip checkpoint. Tensor names are kept as stored in the state dict.
 * Tensors with non-contiguous strides are gathered on read.
 */
export async function openTorchZip(file: string, blob: Blob): Promise<TensorSource[]> {
  const entries = await readZipDirectory(file, blob);
  const pklEntries = entries.filter((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'));
  if (pklEntries.length === 0) throw new InputError(file, 'not a torch checkpoint: zip archive has no data.pkl');
  pklEntries.sort((a, b) => a.name.length - b.name.length);
  const pkl = pklEntries[0];
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length); // "<archive>/"
  const byName = new Map(entries.map((e) => [e.name, e]));
  const pklBytes = await readZipEntry(file, blob, pkl);

  const findClass = (module: string, name: string): unknown => {
    const full = `${module}.${name}`;
    if (full === 'collections.OrderedDict') return (...args: unknown[]) => (args.length && args[0] instanceof Map ? new Map(args[0]) : new Map());
    if (full === 'torch._utils._rebuild_tensor_v2' || full === 'torch._utils._rebuild_tensor') {
      return ((storage: unknown, offset: unknown, size: unknown, stride: unknown) => {
        if (!(storage && typeof storage === 'object' && 'key' in storage && 'dtype' in storage)) {
          throw new InputError(`${file}:${pkl.name}`, 'corrupt torch pickle: tensor storage is not a persistent storage reference');
        }
        if (typeof offset !== 'number') throw new InputError(`${file}:${pkl.name}`, 'corrupt torch pickle: storage offset is not an integer');
        const shape = intList(size, 'tensor size', `${file}:${pkl.name}`);
        const strides = intList(stride, 'tensor stride', `${file}:${pkl.name}`);
        if (shape.length !== strides.length) throw new InputError(`${file}:${pkl.name}`, 'corrupt torch pickle: size and stride lengths differ');
        return new TorchTensorRef(storage as StorageRef, offset, shape, strides);
      }) satisfies PickleCallable;
    }
    if (full === 'torch._utils._rebuild_parameter' || full === 'torch._utils._rebuild_parameter_with_state') {
      return ((data: unknown) => data) satisfies PickleCallable;
    }
    if (module === 'torch' && name in STORAGE_DTYPES) return new PickleGlobal(module, name);
    return undefined;
  };
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!isTuple(pid) || pid[0] !== 'storage' || pid.length < 3) {
      throw new InputError(`${file}:${pkl.name}`, `corrupt torch pickle: unexpected persistent id ${JSON.stringify(pid)}`);
    }
    const type = pid[1];
    const typeName = type instanceof PickleGlobal ? type.name : String(type);
    const dtype = STORAGE_DTYPES[typeName];
    if (!dtype) {
      const key = String(pid[2]);
      throw new InputError(`${file}:${prefix}data/${key}`, `unknown dtype: storage type ${type instanceof PickleGlobal ? type.fullName : typeName} is not supported`);
    }
    return { dtype, key: String(pid[2]) };
  };

  const root = unpickle(pklBytes, `${file}:${pkl.name}`, { findClass, persistentLoad });
  let dict: Map<unknown, unknown> | undefined = root instanceof Map ? root : undefined;
  if (dict && !Array.from(dict.values()).some((v) => v instanceof TorchTensorRef) && dict.get('state_dict') instanceof Map) {
    dict = dict.get('state_dict') as Map<unknown, unknown>;
  }
  if (!dict) throw new InputError(file, 'not a state dict: data.pkl does not hold a dict of tensors');

  const out: TensorSource[] = [];
  for (const [k, v] of dict) {
    if (typeof k !== 'string' || !(v instanceof TorchTensorRef)) continue;
    out.push(makeSource(file, blob, prefix, byName, k, v));
  }
  return out;
}

function makeSource(
  file: string,
  blob: Blob,
  prefix: string,
  byName: Map<string, ZipEntry>,
  name: string,
  t: TorchTensorRef,
): TensorSource {
  const entryName = `${prefix}data/${t.storage.key}`;
  const where = `${file}:${entryName}`;
  const entry = byName.get(entryName);
  if (!entry) throw new InputError(file, `tensor ${name}: storage entry ${entryName} is missing from the zip archive (truncated or corrupt file)`);
  checkStored(file, entry);
  const bs = DTYPE_BYTES[t.storage.dtype];
  const numel = numelOf(t.shape);
  // Highest storage element touched, to check the storage is big enough.
  let maxIndex = t.storageOffset;
  for (let i = 0; i < t.shape.length; i++) if (t.shape[i] > 0) maxIndex += (t.shape[i] - 1) * t.stride[i];
  if (numel > 0 && (maxIndex + 1) * bs > entry.size) {
    throw new InputError(where, `tensor ${name} [${t.shape.join(', ')}] needs ${(maxIndex + 1) * bs} bytes of storage but the entry has ${entry.size}`);
  }
  let contiguous = true;
  let expect = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expect) contiguous = false;
    expect *= t.shape[i];
  }
  return {
    name,
    dtype: t.storage.dtype,
    shape: t.shape,
    file: where,
    read: async () => {
      if (numel === 0) return new Float32Array(0);
      const start = await zipEntryDataOffset(file, blob, entry);
      if (contiguous) {
        const a = start + t.storageOffset * bs;
        return bytesToFloat32(await readRange(blob, a, a + numel * bs, file, `tensor ${name}`), t.storage.dtype, `${where}: tensor ${name}`);
      }
      // Non-contiguous: read the storage span the view touches, then gather in row-major order.
      const a = start + t.storageOffset * bs;
      const span = await readRange(blob, a, start + (maxIndex + 1) * bs, file, `tensor ${name}`);
      const all = bytesToFloat32(span, t.storage.dtype, `${where}: tensor ${name}`);
      const out = new Float32Array(numel);
      const rank = t.shape.length;
      const idx = new Array<number>(rank).fill(0);
      let src = 0;
      for (let o = 0; o < numel; o++) {
        out[o] = all[src];
        for (let d = rank - 1; d >= 0; d--) {
          idx[d]++;
          src += t.stride[d];
          if (idx[d] < t.shape[d]) break;
          src -= idx[d] * t.stride[d];
          idx[d] = 0;
        }
      }
      return out;
    },
  };
}
