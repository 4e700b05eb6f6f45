/**
 * Reading a bundle: igpt.json and one variant's files, from a URL or from files the user picked,
 * each file's size and sha256 checked against the manifest before anything uses or stores it.
 * The one loader for the engine, the worker and the CLI; a `BundleStore` (Cache Storage in the
 * page) can keep verified files for offline use. No DOM or Node APIs beyond fetch, Blob and crypto.
 */
import { InputError } from '../errors.ts';
import { MANIFEST_FILE, parseManifest, variantBytes, type BundleFile, type BundleManifest, type BundleVariant } from './manifest.ts';

/** Where a bundle comes from: a folder URL (ending in /) or a set of files keyed by path. */
export type BundleSource = { kind: 'url'; url: string } | { kind: 'files'; files: Map<string, Blob>; label?: string };

export interface LoadProgress {
  loaded: number;
  total: number;
  file: string;
}

export interface LoadedBundle {
  manifest: BundleManifest;
  variant: BundleVariant;
  /** The graph bytes and, when present, external data keyed by its path. */
  graph: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
  label: string;
}

/** Somewhere to keep verified files (the page's Cache Storage); only verified bytes are put. */
export interface BundleStore {
  file(url: string, entry: BundleFile): Promise<Uint8Array | undefined>;
  putFile(url: string, entry: BundleFile, data: Uint8Array, baseUrl: string): Promise<void>;
  /** The manifest text stored for a bundle, for loading offline. */
  manifest(baseUrl: string): Promise<string | undefined>;
  /** Called last, once every file of the variant is verified and stored: the bundle is then listed. */
  putManifest(baseUrl: string, text: string, manifest: BundleManifest): Promise<void>;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  store?: BundleStore;
}

export function sourceLabel(source: BundleSource): string {
  return source.kind === 'url' ? source.url : (source.label ?? 'files');
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function request(url: string, signal?: AbortSignal, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new InputError(
      url,
      `could not be fetched (${(e as Error).message}): the server is unreachable, or it does not allow this page to read it (a cross-origin server must send Access-Control-Allow-Origin)`,
    );
  }
  if (!res.ok) throw new InputError(url, res.status === 404 ? 'not found (HTTP 404)' : `HTTP ${res.status} ${res.statusText}`.trim());
  if (/text\/html/i.test(res.headers.get('content-type') ?? '')) {
    throw new InputError(url, 'not found (the server answered with a web page, not a model file)');
  }
  return res;
}

/** Reads a response body into exactly `expected` bytes, reporting progress. */
async function readBody(res: Response, url: string, expected: number, onBytes: (n: number) => void): Promise<Uint8Array> {
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    if (all.length !== expected) throw new InputError(url, `has ${all.length} bytes, the manifest lists ${expected}`);
    return all;
  }
  const out = new Uint8Array(expected);
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > expected) {
      await reader.cancel();
      throw new InputError(url, `is larger than the ${expected} bytes the manifest lists`);
    }
    out.set(value, got);
    got += value.length;
    onBytes(got);
  }
  if (got !== expected) throw new InputError(url, `has ${got} bytes, the manifest lists ${expected} (truncated download?)`);
  return out;
}

async function verify(data: Uint8Array, entry: BundleFile, shownAs: string): Promise<void> {
  if (data.length !== entry.bytes) throw new InputError(shownAs, `has ${data.length} bytes, the manifest lists ${entry.bytes}`);
  const hash = await sha256Hex(data);
  if (hash !== entry.sha256) {
    throw new InputError(shownAs, `sha256 mismatch: the file is ${hash}, the manifest lists ${entry.sha256} (corrupt or replaced file)`);
  }
}

/**
 * Downloads one file and verifies it. A download that fails the check may be a damaged or stale
 * copy in the browser's HTTP cache (a static host may let it be reused for minutes), so the file is
 * fetched once more from the server, bypassing that cache, before the load fails.
 */
async function download(url: string, entry: BundleFile, signal: AbortSignal | undefined, onBytes: (n: number) => void): Promise<Uint8Array> {
  for (const cache of ['default', 'reload'] as const) {
    const res = await request(url, signal, { cache });
    try {
      const data = await readBody(res, url, entry.bytes, onBytes);
      await verify(data, entry, url);
      return data;
    } catch (e) {
      if (cache === 'reload' || !(e instanceof InputError) || signal?.aborted) throw e;
    }
  }
  throw new Error('unreachable');
}

export interface ManifestRead {
  manifest: BundleManifest;
  text: string;
}

/** igpt.json of a source; for a URL from the network, else (offline) from the store. */
export async function readManifest(source: BundleSource, opts: Pick<LoadOptions, 'signal' | 'store'> = {}): Promise<ManifestRead> {
  if (source.kind === 'files') {
    const label = sourceLabel(source);
    const blob = source.files.get(MANIFEST_FILE);
    if (!blob) throw new InputError(label, `contains no ${MANIFEST_FILE} (not a model bundle folder)`);
    const text = await blob.text();
    return { manifest: parseManifest(text, `${label}/${MANIFEST_FILE}`), text };
  }
  const url = source.url + MANIFEST_FILE;
  let text: string;
  try {
    text = await (await request(url, opts.signal, { cache: 'no-cache' })).text();
  } catch (e) {
    const stored = opts.store && !opts.signal?.aborted ? await opts.store.manifest(source.url) : undefined;
    if (stored === undefined) throw e;
    text = stored;
  }
  return { manifest: parseManifest(text, url), text };
}

/** Reads and verifies one variant's files. Nothing unverified is returned or stored. */
export async function loadBundle(source: BundleSource, read: ManifestRead, variant: BundleVariant, opts: LoadOptions = {}): Promise<LoadedBundle> {
  const label = sourceLabel(source);
  const total = variantBytes(variant);
  let done = 0;
  const contents = new Map<string, Uint8Array>();
  for (const entry of variant.files) {
    const report = (n: number) => opts.onProgress?.({ loaded: done + n, total, file: entry.path });
    let data: Uint8Array | undefined;
    if (source.kind === 'files') {
      const blob = source.files.get(entry.path);
      if (!blob) throw new InputError(`${label}/${entry.path}`, `is missing (listed in ${MANIFEST_FILE})`);
      if (blob.size !== entry.bytes) throw new InputError(`${label}/${entry.path}`, `has ${blob.size} bytes, the manifest lists ${entry.bytes}`);
      data = new Uint8Array(await blob.arrayBuffer());
      await verify(data, entry, `${label}/${entry.path}`);
    } else {
      // A folder URL may be relative to the page ("/models/default/").
      const url = new URL(entry.path, new URL(source.url, (globalThis as { location?: Location }).location?.href)).href;
      data = await opts.store?.file(url, entry);
      if (!data) {
        data = await download(url, entry, opts.signal, report);
        await opts.store?.putFile(url, entry, data, source.url);
      }
    }
    done += entry.bytes;
    report(0);
    contents.set(entry.path, data);
  }
  if (source.kind === 'url') await opts.store?.putManifest(source.url, read.text, read.manifest);
  const externalData = variant.files.filter((f) => f.path !== variant.graph).map((f) => ({ path: f.path, data: contents.get(f.path)! }));
  return { manifest: read.manifest, variant, graph: contents.get(variant.graph)!, externalData, label };
}
