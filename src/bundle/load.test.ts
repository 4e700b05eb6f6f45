/**
 * Downloads that fail the size or sha256 check are fetched once more past the HTTP cache; nothing
 * unverified reaches the store.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadBundle, sha256Hex, type BundleStore, type ManifestRead } from './load';
import type { BundleManifest, BundleVariant } from './manifest';

const BASE = 'https://models.example/tiny/';
const good = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const bad = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 9]);

async function variant(): Promise<BundleVariant> {
  return { dtype: 'fp32', graph: 'model.onnx', files: [{ path: 'model.onnx', bytes: good.length, sha256: await sha256Hex(good) }] } as BundleVariant;
}

function store() {
  const put: Uint8Array[] = [];
  const manifests: string[] = [];
  const s: BundleStore = {
    file: async () => undefined,
    putFile: async (_url, _entry, data) => void put.push(data),
    manifest: async () => undefined,
    putManifest: async (baseUrl) => void manifests.push(baseUrl),
  };
  return { s, put, manifests };
}

/** A fetch that answers each call with the next body (or status). */
function serve(...answers: (Uint8Array | number)[]) {
  const calls: RequestInit[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_url: string, init: RequestInit = {}) => {
      calls.push(init);
      const a = answers.shift();
      if (typeof a === 'number') return new Response('no', { status: a });
      return new Response(a!.slice(), { headers: { 'content-type': 'application/octet-stream' } });
    }),
  );
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('loadBundle from a URL', () => {
  const read = { manifest: {} as BundleManifest, text: '{}' } satisfies ManifestRead;

  it('refetches a file that fails the sha256 check past the HTTP cache, and keeps only the good copy', async () => {
    const calls = serve(bad, good);
    const { s, put, manifests } = store();
    const b = await loadBundle({ kind: 'url', url: BASE }, read, await variant(), { store: s });
    expect(b.graph).toEqual(good);
    expect(calls.map((c) => c.cache)).toEqual(['default', 'reload']);
    expect(put).toEqual([good]);
    expect(manifests).toEqual([BASE]);
  });

  it('fails with the sha256 message when the server itself serves a bad file, and stores nothing', async () => {
    const calls = serve(bad, bad);
    const { s, put, manifests } = store();
    await expect(loadBundle({ kind: 'url', url: BASE }, read, await variant(), { store: s })).rejects.toThrow(
      `${BASE}model.onnx: sha256 mismatch: the file is ${await sha256Hex(bad)}, the manifest lists ${await sha256Hex(good)} (corrupt or replaced file)`,
    );
    expect(calls).toHaveLength(2);
    expect(put).toEqual([]);
    expect(manifests).toEqual([]);
  });

  it('refetches a truncated file too', async () => {
    const calls = serve(good.slice(0, 5), good);
    const b = await loadBundle({ kind: 'url', url: BASE }, read, await variant());
    expect(b.graph).toEqual(good);
    expect(calls).toHaveLength(2);
  });

  it('does not refetch a missing file', async () => {
    const calls = serve(404);
    await expect(loadBundle({ kind: 'url', url: BASE }, read, await variant())).rejects.toThrow('not found (HTTP 404)');
    expect(calls).toHaveLength(1);
  });
});
