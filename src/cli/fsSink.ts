/**
 * A BundleSink on the file system: writes into a hidden temporary folder beside the target
 * (`.<name>.partial-<pid>-<time>`), renamed into place on commit. Creating a sink first removes
 * such folders left by an earlier export of the same target whose process is gone (a crash or a
 * kill -9); `abortSync` is for signal handlers, which cannot wait for promises.
 */
import { createHash } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BundleSink, FileWriter } from '../convert/bundle.ts';

export interface FolderSink extends BundleSink {
  /** The folder being written; gone after commit or abort. */
  readonly tempDir: string;
  /** Removes what was written (and puts back an old bundle a commit had moved aside), synchronously. */
  abortSync(): void;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Removes temporary folders of earlier exports to `target` whose process no longer runs. An old
 * bundle that a crashed commit had moved aside (`.partial-*.old`) while the target is missing is
 * put back instead. Returns the names removed or restored.
 */
export async function cleanStaleTemporaries(target: string): Promise<string[]> {
  const parent = dirname(target);
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(target))}\\.partial-(\\d+)-\\d+(\\.old)?$`);
  const names = await readdir(parent).catch(() => [] as string[]);
  const done: string[] = [];
  for (const name of names.sort()) {
    const m = pattern.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    const path = join(parent, name);
    if (m[2] && !existsSync(target)) await rename(path, target);
    else await rm(path, { recursive: true, force: true });
    done.push(name);
  }
  return done;
}

export async function createFolderSink(outDir: string): Promise<FolderSink> {
  const target = resolve(outDir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  await cleanStaleTemporaries(target);
  const temp = join(parent, `.${basename(target)}.partial-${process.pid}-${Date.now()}`);
  const old = `${temp}.old`;
  await mkdir(temp);
  /** Files not closed yet: an abort closes them. */
  const open_ = new Set<FileHandle>();
  return {
    tempDir: temp,
    async create(path: string): Promise<FileWriter> {
      const file = await open(join(temp, path), 'w');
      open_.add(file);
      const hash = createHash('sha256');
      let bytes = 0;
      return {
        async write(chunk) {
          hash.update(chunk);
          bytes += chunk.length;
          let written = 0;
          while (written < chunk.length) {
            const r = await file.write(chunk, written, chunk.length - written);
            written += r.bytesWritten;
          }
        },
        async close() {
          await file.sync();
          open_.delete(file);
          await file.close();
          return { bytes, sha256: hash.digest('hex') };
        },
      };
    },
    async commit() {
      const exists = await stat(target).then(() => true, () => false);
      if (exists) {
        await rename(target, old);
        await rename(temp, target);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(temp, target);
      }
    },
    async abort() {
      await Promise.all([...open_].map((f) => f.close().catch(() => undefined)));
      open_.clear();
      await rm(temp, { recursive: true, force: true });
    },
    abortSync() {
      rmSync(temp, { recursive: true, force: true });
      if (existsSync(old)) {
        if (existsSync(target)) rmSync(old, { recursive: true, force: true });
        else renameSync(old, target);
      }
    },
  };
}
