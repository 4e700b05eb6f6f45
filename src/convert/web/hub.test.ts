import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_DIR } from '../../../test/fixture.ts';
import { inputError } from '../../../test/expectInputError.ts';
import { startHubServer, type HubServer } from '../../../test/hubserver.ts';
import { estimateBundleBytes } from './convertToOpfs.ts';
import { checkRepo, listHubCheckpoint, normaliseEndpoint, resolveUrl } from './hub.ts';

let server: HubServer;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'igpt-webhub-'));
  const both = join(root, 'both');
  const sharded = join(root, 'sharded');
  const noWeights = join(root, 'none');
  for (const d of [both, sharded, noWeights]) await mkdir(d);
  for (const f of ['config.json', 'preprocessor_config.json', 'model.safetensors', 'pytorch_model.bin']) await copyFile(join(FIXTURE_DIR, f), join(both, f));
  for (const f of ['config.json', 'preprocessor_config.json']) {
    await copyFile(join(FIXTURE_DIR, f), join(sharded, f));
    await copyFile(join(FIXTURE_DIR, f), join(noWeights, f));
  }
  await writeFile(join(sharded, 'model.safetensors.index.json'), '{"weight_map":{}}');
  await writeFile(join(sharded, 'model-00002-of-00002.safetensors'), 'b');
  await writeFile(join(sharded, 'model-00001-of-00002.safetensors'), 'a');
  await writeFile(join(sharded, 'README.md'), 'x');
  server = await startHubServer({ repos: { 'o/both': both, 'o/sharded': sharded, 'o/none': noWeights } });
});

afterAll(async () => {
  await server?.close();
});

describe('listHubCheckpoint', () => {
  it('picks config, preprocessor config and safetensors over pytorch_model.bin, with sizes and the LFS sha256', async () => {
    const files = await listHubCheckpoint({ endpoint: server.url, repo: 'o/both', revision: 'main' });
    expect(files.map((f) => f.path)).toEqual(['config.json', 'preprocessor_config.json', 'model.safetensors']);
    const st = files[2];
    const bytes = readFileSync(join(FIXTURE_DIR, 'model.safetensors'));
    expect(st.size).toBe(bytes.length);
    expect(st.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(files[0].sha256).toBeUndefined();
  });

  it('takes the index and its shards, in order, for sharded weights', async () => {
    const files = await listHubCheckpoint({ endpoint: server.url, repo: 'o/sharded', revision: 'main' });
    expect(files.map((f) => f.path)).toEqual([
      'config.json',
      'preprocessor_config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
  });

  it('names the repo and the problem for missing weights, repos and revisions', async () => {
    expect((await inputError(listHubCheckpoint({ endpoint: server.url, repo: 'o/none', revision: 'main' }))).message).toMatch(/o\/none@main: has no weights/);
    expect((await inputError(listHubCheckpoint({ endpoint: server.url, repo: 'o/missing', revision: 'main' }))).message).toMatch(/api\/models\/o\/missing\/revision\/main.*o\/missing@main: not found \(HTTP 404\)/);
    expect((await inputError(listHubCheckpoint({ endpoint: server.url, repo: 'o/both', revision: 'v9' }))).message).toMatch(/revision\/v9.*not found/);
  });
});

describe('hub inputs', () => {
  it('checks repo ids and endpoints', () => {
    expect(checkRepo(' openai/imagegpt-small ')).toBe('openai/imagegpt-small');
    expect(() => checkRepo('imagegpt-small')).toThrow(/expected owner\/name/);
    expect(() => checkRepo('a/../b')).toThrow(/expected owner\/name/);
    expect(normaliseEndpoint('https://hf-mirror.example/')).toBe('https://hf-mirror.example');
    expect(() => normaliseEndpoint('ftp://x')).toThrow(/http\(s\)/);
    expect(resolveUrl({ endpoint: 'https://h', repo: 'o/n', revision: 'refs/pr/1' }, 'a b.json')).toBe('https://h/o/n/resolve/refs%2Fpr%2F1/a%20b.json');
  });

  it('estimates bundle sizes per precision from fp32 weight bytes', () => {
    expect(estimateBundleBytes(4_000, 'fp32')).toBe(4_000);
    expect(estimateBundleBytes(4_000, 'fp16')).toBe(2_000);
    expect(estimateBundleBytes(4_000, 'q4')).toBeCloseTo(578, -1);
  });
});
