/**
 * Bundles kept in the browser's Cache Storage for offline use. Only verified files are put (the
 * loader in src/bundle checks size and sha256 first), and a bundle's manifest is put last, so a
 * bundle is listed only when every file of it is there. Runs in the engine worker; the listing
 * also runs on the UI thread.
 */
import { MANIFEST_FILE, type BundleFile, type BundleManifest, type BundleStore } from '../bundle/index.ts';
import type { CacheOutcome } from './protocol.ts';

export const CACHE_NAME = 'igpt-bundles-v2';

const fileKey = (url: string, entry: BundleFile) => {
  const u = new URL(url);
  u.searchParams.set('igpt-sha256', entry.sha256);
  return u.href;
};

const isQuotaError = (e: unknown) => !!e && typeof e === 'object' && ((e as Error).name === 'QuotaExceededError' || /quota/i.test((e as Error).message));

/** A BundleStore over Cache Storage that remembers what happened (for the model panel's note). */
export class CacheStore implements BundleStore {
  private hits = 0;
  private stored = 0;
  private memoryOnly = false;
  note?: string;

  private constructor(private readonly cache: Cache | null) {
    this.memoryOnly = cache === null;
  }

  static async open(): Promise<CacheStore> {
    try {
      return new CacheStore(typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME));
    } catch (e) {
      const store = new CacheStore(null);
      store.note = `Cache Storage unavailable (${(e as Error).message}); kept in memory`;
      return store;
    }
  }

  get outcome(): CacheOutcome {
    return this.memoryOnly ? 'memory' : this.stored === 0 && this.hits > 0 ? 'hit' : 'stored';
  }

  async file(url: string, entry: BundleFile): Promise<Uint8Array | undefined> {
    const hit = await this.cache?.match(fileKey(url, entry));
    if (!hit) return undefined;
    const data = new Uint8Array(await hit.arrayBuffer());
    if (data.length !== entry.bytes) return undefined;
    this.hits++;
    return data;
  }

  async putFile(url: string, entry: BundleFile, data: Uint8Array, baseUrl: string): Promise<void> {
    if (!this.cache || this.memoryOnly) return;
    try {
      const headers = { 'content-length': String(data.length), 'x-igpt-bundle': baseUrl };
      await this.cache.put(fileKey(url, entry), new Response(data as Uint8Array<ArrayBuffer>, { headers }));
      this.stored++;
    } catch (e) {
      this.memoryOnly = true;
      this.note = isQuotaError(e) ? 'storage quota is full: the model is kept in memory only' : `could not cache (${(e as Error).message}): kept in memory only`;
    }
  }

  async manifest(baseUrl: string): Promise<string | undefined> {
    const hit = await this.cache?.match(baseUrl + MANIFEST_FILE);
    return hit ? hit.text() : undefined;
  }

  async putManifest(baseUrl: string, text: string, manifest: BundleManifest): Promise<void> {
    if (!this.cache || this.memoryOnly) return;
    const headers = { 'content-length': String(text.length), 'x-igpt-bundle': baseUrl, 'x-igpt-name': encodeURIComponent(manifest.name), 'x-igpt-manifest': '1' };
    await this.cache.put(baseUrl + MANIFEST_FILE, new Response(text, { headers })).catch(() => undefined);
  }
}

export interface CachedBundle {
  baseUrl: string;
  name: string;
  bytes: number;
  files: number;
}

async function entries(): Promise<{ req: Request; res: Response; base: string }[]> {
  if (typeof caches === 'undefined') return [];
  const cache = await caches.open(CACHE_NAME);
  const out = [];
  for (const req of await cache.keys()) {
    const res = await cache.match(req);
    if (res) out.push({ req, res, base: res.headers.get('x-igpt-bundle') ?? new URL('.', req.url).href });
  }
  return out;
}

/** Complete bundles in Cache Storage (those whose manifest was stored), with their total size. */
export async function listCachedBundles(): Promise<CachedBundle[]> {
  const all = await entries();
  const byBase = new Map<string, CachedBundle>();
  for (const { res, base } of all) {
    if (res.headers.get('x-igpt-manifest')) byBase.set(base, { baseUrl: base, name: decodeURIComponent(res.headers.get('x-igpt-name') ?? base), bytes: 0, files: 0 });
  }
  for (const { res, base } of all) {
    const b = byBase.get(base);
    if (!b || res.headers.get('x-igpt-manifest')) continue;
    b.bytes += Number(res.headers.get('content-length') ?? 0);
    b.files++;
  }
  return [...byBase.values()].sort((a, b) => a.baseUrl.localeCompare(b.baseUrl));
}

export async function deleteCachedBundle(baseUrl: string): Promise<void> {
  if (typeof caches === 'undefined') return;
  const cache = await caches.open(CACHE_NAME);
  for (const { req, base } of await entries()) if (base === baseUrl) await cache.delete(req);
}
