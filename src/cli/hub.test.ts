import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../test/hubserver.ts';
import { downloadHubModel, HubError, type HubProgress } from './hub.ts';

const FIXTURE = join(import.meta.dirname, '../../test/data/imagegpt-tiny-a');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const SAFETENSORS_SIZE = statSync(join(FIXTURE, 'model.safetensors')).size;

let server: HubServer | undefined;
let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'igpt-hub-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(tmp, { recursive: true, force: true });
});

async function serve(repos: Record<string, string>, extra: { gated?: Record<string, string> } = {}) {
  server = await startHubServer({ repos, ...extra });
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return server;
}

function modelFiles(folder: string) {
  return readdirSync(folder).sort();
}

describe('downloadHubModel', () => {
  it('downloads config, preprocessor config and model.safetensors, identical to the source; a second run only checks sizes', async () => {
    const hub = await serve({ 'openai/imagegpt-tiny': FIXTURE });
    const events: HubProgress[] = [];
    const dest = join(tmp, 'cache');
    const folder = await downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest, onProgress: (p) => events.push(p) });
    expect(folder).toBe(join(dest, 'openai', 'imagegpt-tiny', 'main'));
    expect(modelFiles(folder)).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
    for (const f of modelFiles(folder)) expect(sha(join(folder, f)), f).toBe(sha(join(FIXTURE, f)));
    // the large file went through the CDN redirect; pytorch_model.bin was never asked for
    expect(hub.requests.some((r) => r.method === 'GET' && r.path === '/cdn/openai/imagegpt-tiny/main/model.safetensors' && r.status === 200)).toBe(true);
    expect(hub.requests.some((r) => r.path.endsWith('/model.safetensors') && r.status === 302)).toBe(true);
    expect(hub.requests.some((r) => r.path.includes('pytorch_model.bin'))).toBe(false);
    const done = events.filter((e) => e.done);
    expect(done.map((e) => e.file)).toEqual(['config.json', 'preprocessor_config.json', 'model.safetensors']);
    expect(done[2].loaded).toBe(SAFETENSORS_SIZE);
    expect(events.some((e) => !e.done && e.file === 'model.safetensors' && e.total === SAFETENSORS_SIZE)).toBe(true);

    hub.requests.length = 0;
    const again: HubProgress[] = [];
    await downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest, onProgress: (p) => again.push(p) });
    expect(hub.requests.filter((r) => r.method === 'GET')).toEqual([]);
    expect(again.every((e) => e.done && e.cached)).toBe(true);
  });

  it('resumes after a cut connection with a Range request (second call), and the result is identical', async () => {
    const hub = await serve({ 'openai/imagegpt-tiny': FIXTURE });
    const dest = join(tmp, 'cache');
    hub.cutAfter('model.safetensors', 100_000);
    const url = `${hub.url}/openai/imagegpt-tiny/resolve/main/model.safetensors`;
    const err = await downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest, retries: 0, onProgress: () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(String(err.message).startsWith(`${url}: connection lost after`)).toBe(true);
    expect(String(err.message)).toContain('(from ' + hub.url + '/cdn/openai/imagegpt-tiny/main/model.safetensors)');
    expect(String(err.message)).toMatch(/connection lost after \d+ bytes/);
    const folder = join(dest, 'openai', 'imagegpt-tiny', 'main');
    const part = join(folder, 'model.safetensors.part');
    expect(existsSync(join(folder, 'model.safetensors'))).toBe(false);
    const partSize = statSync(part).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThanOrEqual(100_000);

    hub.requests.length = 0;
    await downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest, retries: 0, onProgress: () => {} });
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.path.endsWith('model.safetensors'));
    expect(gets.at(-1)).toMatchObject({ range: `bytes=${partSize}-`, status: 206, path: '/cdn/openai/imagegpt-tiny/main/model.safetensors' });
    expect(gets[0]).toMatchObject({ range: `bytes=${partSize}-`, status: 302 });
    expect(sha(join(folder, 'model.safetensors'))).toBe(sha(join(FIXTURE, 'model.safetensors')));
    expect(existsSync(part)).toBe(false);
  });

  it('retries a cut connection within one call, resuming from the partial file', async () => {
    const hub = await serve({ 'openai/imagegpt-tiny': FIXTURE });
    hub.cutAfter('model.safetensors', 150_000);
    const folder = await downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest: tmp, retryDelayMs: 10, onProgress: () => {} });
    const cdnGets = hub.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/cdn/'));
    expect(cdnGets.length).toBe(2);
    expect(cdnGets[0].range).toBeUndefined();
    expect(cdnGets[1].range).toMatch(/^bytes=\d+-$/);
    expect(cdnGets[1].status).toBe(206);
    expect(sha(join(folder, 'model.safetensors'))).toBe(sha(join(FIXTURE, 'model.safetensors')));
  });

  it('a size mismatch errors with the URL and both sizes, and leaves no final or partial file', async () => {
    const hub = await serve({ 'openai/imagegpt-tiny': FIXTURE });
    hub.lieSize('model.safetensors', SAFETENSORS_SIZE + 10);
    const err = await downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest: tmp, onProgress: () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err.message).toContain(`${hub.url}/openai/imagegpt-tiny/resolve/main/model.safetensors`);
    expect(err.message).toContain(`received ${SAFETENSORS_SIZE} bytes`);
    expect(err.message).toContain(`x-linked-size says ${SAFETENSORS_SIZE + 10}`);
    const folder = join(tmp, 'openai', 'imagegpt-tiny', 'main');
    expect(existsSync(join(folder, 'model.safetensors'))).toBe(false);
    expect(existsSync(join(folder, 'model.safetensors.part'))).toBe(false);
  });

  it('a missing repo gives "no such model"; a bad id is rejected before any request', async () => {
    const hub = await serve({ 'openai/imagegpt-tiny': FIXTURE });
    await expect(downloadHubModel('openai/imagegpt-nope', { endpoint: hub.url, dest: tmp, onProgress: () => {} })).rejects.toThrow(
      /^openai\/imagegpt-nope: no such model at http:\/\/127\.0\.0\.1:\d+ .*config\.json: HTTP 404/,
    );
    hub.requests.length = 0;
    await expect(downloadHubModel('../etc', { endpoint: hub.url, dest: tmp })).rejects.toThrow(/not a model id/);
    await expect(downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest: tmp, revision: 'v9', onProgress: () => {} })).rejects.toThrow(
      /no revision "v9"/,
    );
  });

  it('a gated repo asks for HF_TOKEN, and the token is sent as a Bearer header', async () => {
    const hub = await serve({ 'openai/imagegpt-tiny': FIXTURE }, { gated: { 'openai/imagegpt-tiny': 'hf_secret' } });
    const saved = process.env.HF_TOKEN;
    delete process.env.HF_TOKEN;
    try {
      await expect(downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest: tmp, onProgress: () => {} })).rejects.toThrow(
        /resolve\/main\/config\.json: HTTP 401: the model is gated; set HF_TOKEN/,
      );
      await expect(
        downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest: tmp, token: 'hf_wrong', onProgress: () => {} }),
      ).rejects.toThrow(/HTTP 403: .*HF_TOKEN is set but has no access/);
      hub.requests.length = 0;
      process.env.HF_TOKEN = 'hf_secret';
      const folder = await downloadHubModel('openai/imagegpt-tiny', { endpoint: hub.url, dest: tmp, onProgress: () => {} });
      expect(sha(join(folder, 'model.safetensors'))).toBe(sha(join(FIXTURE, 'model.safetensors')));
      expect(hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = saved;
    }
  });

  it('a pytorch-only repo downloads pytorch_model.bin', async () => {
    const src = join(tmp, 'pt-only');
    mkdirSync(src);
    for (const f of ['config.json', 'preprocessor_config.json', 'pytorch_model.bin']) copyFileSync(join(FIXTURE, f), join(src, f));
    const hub = await serve({ 'someone/igpt-pt': src });
    const folder = await downloadHubModel('someone/igpt-pt', { endpoint: hub.url, dest: join(tmp, 'cache'), onProgress: () => {} });
    expect(modelFiles(folder)).toEqual(['config.json', 'preprocessor_config.json', 'pytorch_model.bin']);
    expect(sha(join(folder, 'pytorch_model.bin'))).toBe(sha(join(FIXTURE, 'pytorch_model.bin')));
    const heads404 = hub.requests.filter((r) => r.method === 'HEAD' && r.status === 404).map((r) => r.path.split('/').pop());
    expect(heads404).toEqual(['model.safetensors.index.json', 'model.safetensors']);
  });

  it('a sharded repo downloads the index and every shard it names', async () => {
    const src = join(tmp, 'sharded');
    mkdirSync(src);
    for (const f of ['config.json', 'preprocessor_config.json']) copyFileSync(join(FIXTURE, f), join(src, f));
    const a = Buffer.alloc(150_000, 1);
    const b = Buffer.alloc(2_000, 2);
    writeFileSync(join(src, 'model-00001-of-00002.safetensors'), a);
    writeFileSync(join(src, 'model-00002-of-00002.safetensors'), b);
    const index = { metadata: {}, weight_map: { x: 'model-00002-of-00002.safetensors', y: 'model-00001-of-00002.safetensors', z: 'model-00001-of-00002.safetensors' } };
    writeFileSync(join(src, 'model.safetensors.index.json'), JSON.stringify(index));
    const hub = await serve({ 'someone/sharded': src });
    const folder = await downloadHubModel('someone/sharded', { endpoint: hub.url, dest: join(tmp, 'cache'), onProgress: () => {} });
    expect(modelFiles(folder)).toEqual([
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'preprocessor_config.json',
    ]);
    expect(readFileSync(join(folder, 'model-00001-of-00002.safetensors')).equals(a)).toBe(true);
    expect(hub.requests.some((r) => r.path.endsWith('/model.safetensors'))).toBe(false);
  });

  it('a network failure names the URL', async () => {
    // a port that was just free: nothing listens there
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(
      downloadHubModel('openai/imagegpt-tiny', { endpoint: `http://127.0.0.1:${port}`, dest: tmp, onProgress: () => {} }),
    ).rejects.toThrow(new RegExp(`^http://127\\.0\\.0\\.1:${port}/openai/imagegpt-tiny/resolve/main/config\\.json: network error: .*ECONNREFUSED`));
  });
});
