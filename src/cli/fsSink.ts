/** A BundleSink on the file system: writes into a hidden temporary folder beside the target, renamed into place on commit. */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BundleSink, FileWriter } from '../convert/bundle.ts';

export async function createFolderSink(outDir: string): Promise<BundleSink> {
  const target = resolve(outDir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${basename(target)}.partial-${process.pid}-${Date.now()}`);
  await mkdir(temp);
  return {
    async create(path: string): Promise<FileWriter> {
      const file = await open(join(temp, path), 'w');
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
          await file.close();
          return { bytes, sha256: hash.digest('hex') };
        },
      };
    },
    async commit() {
      const exists = await stat(target).then(() => true, () => false);
      if (exists) {
        const old = `${temp}.old`;
        await rename(target, old);
        await rename(temp, target);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(temp, target);
      }
    },
    async abort() {
      await rm(temp, { recursive: true, force: true });
    },
  };
}
