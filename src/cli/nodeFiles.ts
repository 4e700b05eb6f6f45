/**
 * Node-only: a folder on disk as the `FileMap` (name -> Blob) the converter and engine take.
 * Blobs come from `fs.openAsBlob`, so nothing is read until a consumer slices them.
 */
import { openAsBlob } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type FileMap } from '../convert/types.ts';
import { InputError } from '../errors.ts';

export interface ReadFolderOptions {
  /** How many folder levels below `dir` to include (default 2); names use '/' separators. */
  maxDepth?: number;
}

/**
 * Lists the regular files of `dir` (hidden entries and unfinished `*.part` downloads skipped).
 * Throws InputError naming `dir` when it does not exist or is not a folder.
 */
export async function readFolderFiles(dir: string, options: ReadFolderOptions = {}): Promise<FileMap> {
  const maxDepth = options.maxDepth ?? 2;
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(dir, code === 'ENOENT' ? 'no such folder' : `cannot be read (${(e as Error).message})`);
  }
  if (!st.isDirectory()) throw new InputError(dir, 'is a file, expected a folder');
  const files: FileMap = new Map();
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    const entries = await readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name.endsWith('.part')) continue;
      const path = join(abs, e.name);
      const name = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const t = await stat(path).catch(() => undefined);
        isDir = !!t?.isDirectory();
        isFile = !!t?.isFile();
      }
      if (isFile) files.set(name, await openAsBlob(path));
      else if (isDir && depth < maxDepth) await walk(path, name, depth + 1);
    }
  };
  await walk(dir, '', 0);
  return files;
}
