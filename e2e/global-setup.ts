/**
 * Exports the reference fixture into a bundle the e2e pages load over HTTP
 * (/e2e/bundles/tiny/), with the project's own converter.
 */
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { writeBundle } from '../src/convert/bundle.ts';
import { openCheckpoint } from '../src/convert/checkpoint.ts';
import { createFolderSink } from '../src/cli/fsSink.ts';
import { FIXTURE_ATTENTION_SCALE, FIXTURE_DIR, folderFiles } from '../test/fixture.ts';

export const TINY_BUNDLE_DIR = fileURLToPath(new URL('./bundles/tiny/', import.meta.url));

export default async function globalSetup(): Promise<void> {
  await rm(TINY_BUNDLE_DIR, { recursive: true, force: true });
  const ckpt = await openCheckpoint(await folderFiles(FIXTURE_DIR));
  await writeBundle(ckpt, await createFolderSink(TINY_BUNDLE_DIR), {
    name: 'imagegpt-tiny-a',
    dtypes: ['fp32'],
    source: 'test/data/imagegpt-tiny-a',
    attentionScale: FIXTURE_ATTENTION_SCALE,
  });
}
