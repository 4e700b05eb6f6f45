/**
 * Streaming reader of `torch.save` zip archives (`pytorch_model.bin`): unzipit reads the zip central
 * directory from the end of the Blob (ZIP64 aware), `<archive>/data.pkl` is unpickled, and each
 * tensor's bytes are read from `<archive>/data/<key>` with a Blob slice when `read()` is called.
 */
import { type CheckpointDType, type TensorSource } from './types.ts';
import { InputError } from '../errors.ts';
import { bytesToFloat32, DTYPE_BYTES, numelOf, readRange } from './safetensors.ts';
import { isTuple, PickleGlobal, unpickle, type PickleCallable } from './pickle.ts';
import { unzipRaw, type Reader, type ZipEntry } from 'unzipit';

/** The zip central directory of `blob` (unzipit, reading ranges through Blob slices). */
export async function readZipDirectory(file: string, blob: Blob): Promise<ZipEntry[]> {
  if (blob.size === 0) throw new InputError(file, 'empty file (0 bytes), expected a torch zip archive');
  const reader = {
    getLength: async () => blob.size,
    read: (offset: number, length: number) => readRange(blob, offset, offset + length, file, 'zip structure'),
    sliceAsBlob: async (offset: number, length: number) => blob.slice(offset, offset + length),
  } satisfies Reader;
  try {
    return (await unzipRaw(reader)).entries;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const head = await readRange(blob, 0, Math.min(4, blob.size), file, 'zip signature');
    if (head.length < 4 || new DataView(head.buffer).getUint32(0, true) !== 0x04034b50) {
      throw new InputError(file, 'not a zip archive (no end-of-central-directory record); legacy non-zip torch files are not supported');
    }
    const message = (e as Error).message;
    if (!/end of central directory/.test(message)) throw new InputError(file, `corrupt zip: ${message}`);
    throw new InputError(file, 'truncated or corrupt zip: no end-of-central-directory record at the end of the file (was the download cut short?)');
  }
}

function checkStored(file: string, entry: ZipEntry): void {
  if (entry.compressionMethod !== 0) {
    throw new InputError(file, `zip entry ${entry.name} is compressed (method ${entry.compressionMethod}); only stored (uncompressed) entries, as torch.save writes them, are supported`);
  }
}

/** A stored (uncompressed) entry's bytes as a Blob slice: nothing is read yet. */
async function storedEntry(file: string, entry: ZipEntry): Promise<Blob> {
  checkStored(file, entry);
  try {
    return await entry.blob();
  } catch (e) {
    if (e instanceof InputError) throw e;
    const message = (e as Error).message;
    if (/local file header signature/.test(message)) throw new InputError(file, `corrupt zip: bad local header for ${entry.name}`);
    if (/overflows file bounds/.test(message)) throw new InputError(file, `truncated file: zip entry ${entry.name} goes beyond the end of the file`);
    throw new InputError(file, `corrupt zip: ${entry.name}: ${message}`);
  }
}

/** Reads a whole (small) stored zip entry. */
export async function readZipEntry(file: string, entry: ZipEntry): Promise<Uint8Array> {
  const data = await storedEntry(file, entry);
  return readRange(data, 0, entry.size, file, `zip entry ${entry.name}`);
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
  const pklBytes = await readZipEntry(file, pkl);

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
    out.push(makeSource(file, prefix, byName, k, v));
  }
  return out;
}

function makeSource(
  file: string,
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
      const data = await storedEntry(file, entry);
      if (contiguous) {
        const a = t.storageOffset * bs;
        return bytesToFloat32(await readRange(data, a, a + numel * bs, file, `tensor ${name}`), t.storage.dtype, `${where}: tensor ${name}`);
      }
      // Non-contiguous: read the storage span the view touches, then gather in row-major order.
      const span = await readRange(data, t.storageOffset * bs, (maxIndex + 1) * bs, file, `tensor ${name}`);
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
