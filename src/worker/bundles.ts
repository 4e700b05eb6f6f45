/**
 * Getting a model bundle's bytes: from a URL (through Cache Storage, with progress) or from
 * files the user picked. Runs in the engine worker; the cache listing also runs on the UI thread.
 */
import { InputError } from '../convert/types';
import type { BundleManifest, BundleVariant } from '../engine/types';
import type { CacheOutcome } from './protocol';

export const CACHE_NAME = 'igpt-bundles-v1';
export const MANIFEST_FILE = 'igpt.json';

/** Normalise what the user typed: a folder URL (ending in /) or the URL of its igpt.json. */
export function resolveBundleUrl(input: string, base: string): string {
  const text = input.trim();
  if (!text) throw new InputError('model URL', 'is empty');
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new InputError(text, 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(text, `unsupported protocol ${url.protocol} (use http or https)`);
  }
  url.hash = '';
  if (url.pathname.endsWith('/' + MANIFEST_FILE)) {
    url.pathname = url.pathname.slice(0, -MANIFEST_FILE.length);
  } else if (!url.pathname.endsWith('/')) {
    url.pathname += '/';
  }
  return url.href;
}

/** Light structural check of igpt.json; the engine validates the rest. */
export function validateManifest(json: unknown, input: string): BundleManifest {
  if (!json || typeof json !== 'object') throw new InputError(input, 'is not a JSON object');
  const m = json as Partial<BundleManifest>;
  if (m.format !== 'igpt-bundle') {
    throw new InputError(input, `is not an igpt bundle manifest (format is ${JSON.stringify(m.format)}, expected "igpt-bundle")`);
  }
  if (!m.palette || !Array.isArray(m.palette.rgb) || m.palette.rgb.length !== 512) {
    throw new InputError(input, 'has no 512-colour palette (palette.rgb)');
  }
  if (!Array.isArray(m.palette.clusters) || m.palette.clusters.length !== 512) {
    throw new InputError(input, 'has no 512 palette clusters (palette.clusters)');
  }
  if (!Array.isArray(m.variants) || m.variants.length === 0) {
    throw new InputError(input, 'lists no model variants');
  }
  for (const v of m.variants) {
    if (!v || !Array.isArray(v.files) || typeof v.graph !== 'string') {
      throw new InputError(input, 'has a variant without files or graph');
    }
  }
  return m as BundleManifest;
}

/** Which dtype variant to load. */
export function chooseVariant(
  manifest: BundleManifest,
  opts: { dtype: 'fp32' | 'fp16' | 'auto'; backend: 'webgpu' | 'wasm' | 'auto'; shaderF16: boolean },
): BundleVariant {
  const vs = manifest.variants;
  if (opts.dtype !== 'auto') {
    const v = vs.find((x) => x.dtype === opts.dtype);
    if (!v) throw new InputError(manifest.name, `has no ${opts.dtype} variant (has ${vs.map((x) => x.dtype).join(', ')})`);
    return v;
  }
  const canF16 = opts.backend !== 'wasm' && opts.shaderF16;
  if (canF16) {
    const f16 = vs.find((x) => x.dtype === 'fp16');
    if (f16) return f16;
  }
  return vs.find((x) => x.dtype === 'fp32') ?? vs[0];
}

export function variantBytes(v: BundleVariant): number {
  return v.files.reduce((s, f) => s + f.bytes, 0);
}

/**
 * Files picked by the user (a folder or loose files) as a bundle file map: paths relative to the
 * folder holding igpt.json.
 */
export function bundleFileMap(entries: { path: string; file: Blob }[], label: string): Map<string, Blob> {
  const manifestEntry = entries.find((e) => e.path === MANIFEST_FILE || e.path.endsWith('/' + MANIFEST_FILE));
  if (!manifestEntry) throw new InputError(label, `contains no ${MANIFEST_FILE} (choose the bundle folder or its files)`);
  const prefix = manifestEntry.path.slice(0, manifestEntry.path.length - MANIFEST_FILE.length);
  const out = new Map<string, Blob>();
  for (const e of entries) {
    if (!e.path.startsWith(prefix)) continue;
    out.set(e.path.slice(prefix.length), e.file);
  }
  return out;
}

export interface ManifestFetch {
  manifest: BundleManifest;
  blob: Blob;
}

export async function fetchManifest(baseUrl: string, signal?: AbortSignal): Promise<ManifestFetch> {
  const url = baseUrl + MANIFEST_FILE;
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-cache', signal });
  } catch (e) {
    // Offline: fall back to a cached manifest.
    const cached = await cachedResponse(url);
    if (!cached) throw new InputError(url, `could not be fetched (${(e as Error).message})`);
    res = cached;
  }
  if (!res.ok) throw new InputError(url, `HTTP ${res.status} ${res.statusText}`.trim());
  if (/text\/html/i.test(res.headers.get('content-type') ?? '')) {
    throw new InputError(url, 'not found (the server answered with a web page, not a model manifest)');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(url, 'is not valid JSON (is this a model bundle folder?)');
  }
  const manifest = validateManifest(json, url);
  return { manifest, blob: new Blob([text], { type: 'application/json' }) };
}

async function cachedResponse(url: string): Promise<Response | undefined> {
  if (typeof caches === 'undefined') return undefined;
  try {
    const cache = await caches.open(CACHE_NAME);
    return (await cache.match(url)) ?? undefined;
  } catch {
    return undefined;
  }
}

function cacheKey(fileUrl: string, sha256: string): string {
  const u = new URL(fileUrl);
  u.searchParams.set('igpt-sha256', sha256);
  return u.href;
}

function isQuotaError(e: unknown): boolean {
  return !!e && typeof e === 'object' && ((e as Error).name === 'QuotaExceededError' || /quota/i.test((e as Error).message));
}

/**
 * Download one variant's files, through Cache Storage. Files already cached (same sha256) are
 * not downloaded again. If the cache is full or unavailable the files stay in memory only.
 */
export async function downloadBundle(
  baseUrl: string,
  manifest: ManifestFetch,
  variant: BundleVariant,
  onProgress: (loaded: number, total: number, file: string) => void,
  signal?: AbortSignal,
): Promise<{ files: Map<string, Blob>; cache: CacheOutcome; note?: string }> {
  const files = new Map<string, Blob>();
  files.set(MANIFEST_FILE, manifest.blob);
  const total = variantBytes(variant);
  let loaded = 0;
  let cache: Cache | null = null;
  let note: string | undefined;
  try {
    cache = typeof caches !== 'undefined' ? await caches.open(CACHE_NAME) : null;
  } catch (e) {
    note = `Cache Storage unavailable (${(e as Error).message}); kept in memory`;
  }
  let hits = 0;
  let stored = 0;
  let memoryOnly = cache === null;
  for (const f of variant.files) {
    const url = new URL(f.path, baseUrl).href;
    const key = cacheKey(url, f.sha256);
    const hit = cache ? await cache.match(key) : undefined;
    if (hit) {
      const blob = await hit.blob();
      if (f.bytes <= 0 || blob.size === f.bytes) {
        files.set(f.path, blob);
        loaded += blob.size;
        hits++;
        onProgress(loaded, total, f.path);
        continue;
      }
    }
    let res: Response;
    try {
      res = await fetch(url, { signal });
    } catch (e) {
      throw new InputError(url, `could not be fetched (${(e as Error).message})`);
    }
    if (!res.ok) throw new InputError(url, `HTTP ${res.status} ${res.statusText}`.trim());
    const chunks: Uint8Array[] = [];
    let got = 0;
    let lastReport = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        got += value.byteLength;
        const now = Date.now();
        if (now - lastReport > 100) {
          lastReport = now;
          onProgress(loaded + got, total, f.path);
        }
      }
    } else {
      const buf = new Uint8Array(await res.arrayBuffer());
      chunks.push(buf);
      got = buf.byteLength;
    }
    if (f.bytes > 0 && got !== f.bytes) {
      throw new InputError(url, `has ${got} bytes, the manifest says ${f.bytes}`);
    }
    const blob = new Blob(chunks as BlobPart[]);
    files.set(f.path, blob);
    loaded += got;
    onProgress(loaded, total, f.path);
    if (cache && !memoryOnly) {
      try {
        await cache.put(
          key,
          new Response(blob, { headers: { 'content-length': String(blob.size), 'x-igpt-bundle': baseUrl } }),
        );
        stored++;
      } catch (e) {
        memoryOnly = true;
        note = isQuotaError(e)
          ? 'storage quota is full: the model is kept in memory only'
          : `could not cache (${(e as Error).message}): kept in memory only`;
      }
    }
  }
  if (cache && !memoryOnly) {
    try {
      await cache.put(
        baseUrl + MANIFEST_FILE,
        new Response(manifest.blob, {
          headers: {
            'content-length': String(manifest.blob.size),
            'x-igpt-bundle': baseUrl,
            'x-igpt-name': encodeURIComponent(manifest.manifest.name),
          },
        }),
      );
    } catch {
      /* the manifest is tiny; ignore */
    }
  }
  const outcome: CacheOutcome = memoryOnly ? 'memory' : stored === 0 && hits > 0 ? 'hit' : 'stored';
  return { files, cache: outcome, note };
}

export interface CachedBundle {
  baseUrl: string;
  name: string;
  bytes: number;
  files: number;
}

/** Bundles in Cache Storage, with their total size. */
export async function listCachedBundles(): Promise<CachedBundle[]> {
  if (typeof caches === 'undefined') return [];
  const cache = await caches.open(CACHE_NAME);
  const byBase = new Map<string, CachedBundle>();
  for (const req of await cache.keys()) {
    const res = await cache.match(req);
    if (!res) continue;
    const base = res.headers.get('x-igpt-bundle') ?? new URL('.', req.url).href;
    const entry = byBase.get(base) ?? { baseUrl: base, name: base, bytes: 0, files: 0 };
    entry.bytes += Number(res.headers.get('content-length') ?? 0);
    entry.files += 1;
    const name = res.headers.get('x-igpt-name');
    if (name) entry.name = decodeURIComponent(name);
    byBase.set(base, entry);
  }
  return [...byBase.values()].sort((a, b) => a.baseUrl.localeCompare(b.baseUrl));
}

export async function deleteCachedBundle(baseUrl: string): Promise<void> {
  if (typeof caches === 'undefined') return;
  const cache = await caches.open(CACHE_NAME);
  for (const req of await cache.keys()) {
    const res = await cache.match(req);
    const base = res?.headers.get('x-igpt-bundle') ?? new URL('.', req.url).href;
    if (base === baseUrl) await cache.delete(req);
  }
}
