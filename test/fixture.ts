/** Test helpers: the reference fixture, folders as FileMaps, and bundles exported from it. */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBundle, type WriteBundleOptions } from '../src/convert/bundle.ts';
import { openCheckpoint } from '../src/convert/checkpoint.ts';
import type { FileMap } from '../src/convert/types.ts';
import { createFolderSink } from '../src/cli/fsSink.ts';
import { readFolderFiles } from '../src/cli/nodeFiles.ts';

export const FIXTURE_DIR = new URL('./data/imagegpt-tiny-a/', import.meta.url).pathname;

/**
 * The fixture was made with Hugging Face transformers, which scales attention scores by
 * 1/int(sqrt(head_dim)) = 1/2 for its head_dim 8 (see docs/PARITY.md).
 */
export const FIXTURE_ATTENTION_SCALE = 'transformers' as const;

export interface Expected {
  image32_tokens: number[];
  image_odd_tokens: number[];
  token_rgb: Record<string, number[]>;
  full_input_ids: number[];
  full_logits_positions: number[];
  full_logits: number[][];
  image32_bits_per_token: number;
  batch_input_ids: number[][];
  batch_logits: number[][][];
  greedy_prefix_len: number;
  greedy_new_tokens: number[];
  greedy_margins: number[];
}

export async function readExpected(): Promise<Expected> {
  return JSON.parse(await readFile(join(FIXTURE_DIR, 'expected.json'), 'utf8')) as Expected;
}

/** A folder as the engine and the converter take it (the CLI's reader). */
export function folderFiles(dir: string): Promise<FileMap> {
  return readFolderFiles(dir);
}

export async function exportFixture(options: Partial<WriteBundleOptions> & { prefer?: 'safetensors' | 'pytorch' } = {}): Promise<string> {
  const { prefer, ...rest } = options;
  const ckpt = await openCheckpoint(await folderFiles(FIXTURE_DIR), { prefer });
  const out = join(await mkdtemp(join(tmpdir(), 'igpt-test-')), 'bundle');
  await writeBundle(ckpt, await createFolderSink(out), {
    name: 'imagegpt-tiny-a',
    dtypes: ['fp32'],
    source: 'test/data/imagegpt-tiny-a',
    ...rest,
    attentionScale: 'attentionScale' in options ? options.attentionScale : FIXTURE_ATTENTION_SCALE,
  });
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
