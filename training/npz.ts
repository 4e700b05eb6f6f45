// Minimal writer of NumPy .npy arrays and .npz archives (a zip of .npy members, deflated),
// so the dataset can be read on the training machine with plain `numpy.load`.
import { zipSync, type DeflateOptions } from 'fflate';

export type NpyArray =
  | { dtype: 'uint16'; shape: number[]; data: Uint16Array }
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'float64'; shape: number[]; data: Float64Array };

const DESCR = { uint16: '<u2', float32: '<f4', float64: '<f8' } as const;

/** Serialise one array in .npy format version 1.0 (little-endian, C order). */
export function npyBytes(arr: NpyArray): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) throw new Error(`npy: shape ${JSON.stringify(arr.shape)} does not hold ${arr.data.length} values`);
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[arr.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic(6) + version(2) + header length(2) + header, padded with spaces to a multiple of 64, ending in \n
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

/** An .npz archive (a zip of deflated .npy members, via fflate): `numpy.load(path)[name]` gives each array back. */
export function npzBytes(arrays: Record<string, NpyArray>, level: DeflateOptions['level'] = 9): Uint8Array {
  const members = Object.fromEntries(Object.entries(arrays).map(([name, arr]) => [`${name}.npy`, npyBytes(arr)]));
  if (Object.values(members).reduce((n, m) => n + m.length, 0) > 0xffffffff) throw new Error('npz: arrays too large for a zip without zip64');
  // A fixed timestamp (1980-01-01, the zip epoch) keeps the archive byte-identical from run to run.
  return zipSync(members, { level, mtime: new Date(1980, 0, 1) });
}
