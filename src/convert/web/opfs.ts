/**
 * Converted models in the Origin Private File System (OPFS):
 *
 *   igpt/bundles/<id>/      igpt.json, model*.onnx (+ external data), and entry.json written last
 *   igpt/downloads/<key>/   checkpoint files downloaded from a hub, state.json naming the complete ones
 *
 * A bundle folder is usable only once entry.json is there (the sink writes it on commit, after every
 * file of the bundle); a folder without it is an unfinished conversion, which `listConverted` removes
 * (the downloaded checkpoint stays, so converting again only repeats the conversion).
 * Runs in the convert worker (writes, with synchronous access handles where there are) and on the
 * page (listing, opening, deleting).
 */
import type { WeightDType } from '../../bundle/index.ts';
import type { BundleSink, FileWriter } from '../bundle.ts';
import { Sha256 } from '../sha256.ts';

export const ENTRY_FILE = 'entry.json';

/** What the model list shows of a converted bundle. */
export interface ConvertedModel {
  id: string;
  name: string;
  /** `owner/name` of a hub repo, or the label of local files. */
  source: string;
  revision?: string;
  /** The hub endpoint it came from, when it came from one. */
  endpoint?: string;
  dtype: WeightDType;
  attentionScale: string;
  /** Total bytes of the bundle's files. */
  bytes: number;
  files: string[];
  createdAt: string;
}

type SyncHandle = {
  write(buffer: BufferSource, options?: { at?: number }): number;
  read(buffer: BufferSource, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
};
type FileHandleWithSync = FileSystemFileHandle & { createSyncAccessHandle?: () => Promise<SyncHandle> };

export function opfsAvailable(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.storage && typeof navigator.storage.getDirectory === 'function';
}

export async function igptDir(): Promise<FileSystemDirectoryHandle> {
  if (!opfsAvailable()) throw new Error('This browser has no Origin Private File System (navigator.storage.getDirectory), where converted models are kept');
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle('igpt', { create: true });
}

export async function subDir(...names: string[]): Promise<FileSystemDirectoryHandle> {
  let dir = await igptDir();
  for (const n of names) dir = await dir.getDirectoryHandle(n, { create: true });
  return dir;
}

/** A name safe as one OPFS path component. */
export const slug = (s: string) => s.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_').slice(0, 120) || '_';

async function* entriesOf(dir: FileSystemDirectoryHandle): AsyncGenerator<[string, FileSystemHandle]> {
  yield* (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
}

/**
 * A writer into an OPFS file that starts at `at` (0 truncates): a synchronous access handle in a
 * worker, else a writable stream. Returns the writer and a close that flushes.
 */
export async function openOpfsWriter(
  handle: FileSystemFileHandle,
  at: number,
): Promise<{ write(chunk: Uint8Array): Promise<void>; close(): Promise<void>; abort(): Promise<void> }> {
  const h = handle as FileHandleWithSync;
  if (typeof h.createSyncAccessHandle === 'function') {
    const sync = await h.createSyncAccessHandle();
    sync.truncate(at);
    let pos = at;
    let closed = false;
    return {
      async write(chunk) {
        let off = 0;
        while (off < chunk.length) {
          const n = sync.write(chunk.subarray(off) as Uint8Array<ArrayBuffer>, { at: pos });
          if (n <= 0) throw new Error(`could not write to ${handle.name} in the browser's storage (disk full?)`);
          off += n;
          pos += n;
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        sync.flush();
        sync.close();
      },
      async abort() {
        if (closed) return;
        closed = true;
        sync.close();
      },
    };
  }
  const w = await handle.createWritable({ keepExistingData: at > 0 });
  if (at > 0) {
    await w.truncate(at);
    await w.seek(at);
  }
  return {
    write: (chunk) => w.write(chunk as Uint8Array<ArrayBuffer>),
    close: () => w.close(),
    abort: () => w.abort().catch(() => undefined),
  };
}

export async function removeEntry(dir: FileSystemDirectoryHandle, name: string): Promise<void> {
  await dir.removeEntry(name, { recursive: true }).catch((e: Error) => {
    if (e.name !== 'NotFoundError') throw e;
  });
}

/**
 * A BundleSink into `igpt/bundles/<id>/`: an existing bundle of that id is removed first; commit
 * writes entry.json (what the list shows); abort removes the folder.
 */
export async function createOpfsBundleSink(id: string, entry: Omit<ConvertedModel, 'id' | 'bytes' | 'files' | 'createdAt'>): Promise<BundleSink> {
  const bundles = await subDir('bundles');
  await removeEntry(bundles, id);
  const dir = await bundles.getDirectoryHandle(id, { create: true });
  const open = new Set<{ abort(): Promise<void> }>();
  const written = new Map<string, number>();
  return {
    async create(path: string): Promise<FileWriter> {
      const handle = await dir.getFileHandle(path, { create: true });
      const w = await openOpfsWriter(handle, 0);
      open.add(w);
      const hash = new Sha256();
      let bytes = 0;
      return {
        async write(chunk) {
          hash.update(chunk);
          bytes += chunk.length;
          await w.write(chunk);
        },
        async close() {
          await w.close();
          open.delete(w);
          written.set(path, bytes);
          return { bytes, sha256: hash.hex() };
        },
      };
    },
    async commit() {
      const files = [...written.keys()];
      const bytes = [...written.values()].reduce((a, b) => a + b, 0);
      const full: ConvertedModel = { ...entry, id, bytes, files, createdAt: new Date().toISOString() };
      const w = await openOpfsWriter(await dir.getFileHandle(ENTRY_FILE, { create: true }), 0);
      await w.write(new TextEncoder().encode(JSON.stringify(full, null, 1)));
      await w.close();
    },
    async abort() {
      await Promise.all([...open].map((w) => w.abort().catch(() => undefined)));
      open.clear();
      await removeEntry(bundles, id);
    },
  };
}

/**
 * Converted bundles with their entry.json, newest first. Folders without one are unfinished
 * conversions: removed unless `keep` names them (a conversion still running).
 */
export async function listConverted(keep: ReadonlySet<string> = new Set()): Promise<ConvertedModel[]> {
  if (!opfsAvailable()) return [];
  const bundles = await subDir('bundles');
  const out: ConvertedModel[] = [];
  const unfinished: string[] = [];
  for await (const [name, handle] of entriesOf(bundles)) {
    if (handle.kind !== 'directory') continue;
    try {
      const file = await (await (handle as FileSystemDirectoryHandle).getFileHandle(ENTRY_FILE)).getFile();
      out.push({ ...(JSON.parse(await file.text()) as ConvertedModel), id: name });
    } catch {
      if (!keep.has(name)) unfinished.push(name);
    }
  }
  for (const name of unfinished) await removeEntry(bundles, name).catch(() => undefined);
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function deleteConverted(id: string): Promise<void> {
  await removeEntry(await subDir('bundles'), id);
}

/** A converted bundle's files (OPFS Files, read lazily) for the bundle loader, and its entry. */
export async function openConverted(id: string): Promise<{ entry: ConvertedModel; files: Map<string, Blob> }> {
  const bundles = await subDir('bundles');
  let dir: FileSystemDirectoryHandle;
  let entry: ConvertedModel;
  try {
    dir = await bundles.getDirectoryHandle(id);
    entry = JSON.parse(await (await (await dir.getFileHandle(ENTRY_FILE)).getFile()).text()) as ConvertedModel;
  } catch {
    throw new Error(`The converted model "${id}" is not in this browser's storage (deleted, or its conversion did not finish)`);
  }
  const files = new Map<string, Blob>();
  for (const f of entry.files) files.set(f, await (await dir.getFileHandle(f)).getFile());
  return { entry: { ...entry, id }, files };
}
