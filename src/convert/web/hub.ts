/**
 * A Hugging Face hub repo (or a mirror, or a local stand-in) downloaded into OPFS, in the browser.
 *
 * Files are listed with `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true` (size, and the
 * LFS sha256 of large files); the checkpoint is config.json, preprocessor_config.json and the
 * weights: model.safetensors.index.json with its shards, else model.safetensors, else
 * pytorch_model.bin. Each file is fetched from `{endpoint}/{repo}/resolve/{rev}/{file}` into
 * `igpt/downloads/<key>/<file>`; a file that is there but not complete (after a dropped connection
 * or a reload) is resumed with `Range: bytes=N-` (206 appends; 200 starts again). A complete file has
 * the size the hub lists and, where the hub gives an LFS oid, that sha256; it is then recorded in
 * state.json. A file that fails either check is removed.
 */
import { InputError } from '../../errors.ts';
import { Sha256 } from '../sha256.ts';
import { openOpfsWriter, removeEntry, slug, subDir } from './opfs.ts';

export const DEFAULT_HUB = 'https://huggingface.co';
const REPO_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const STATE_FILE = 'state.json';

export interface HubFile {
  path: string;
  size: number;
  /** LFS sha256, when the hub gives one. */
  sha256?: string;
}

export interface HubRepoRef {
  endpoint: string;
  repo: string;
  revision: string;
}

export interface DownloadProgress {
  file: string;
  /** Bytes of all the checkpoint's files on disk so far (resumed bytes included). */
  loaded: number;
  total: number;
  /** Bytes per second over the last few seconds; 0 until known. */
  speed: number;
  /** Seconds left at that speed; null until known. */
  etaSeconds: number | null;
}

export function checkRepo(repo: string): string {
  const r = repo.trim();
  if (!REPO_RE.test(r) || r.includes('..')) throw new InputError(repo || '(empty)', 'not a Hugging Face model id; expected owner/name, e.g. openai/imagegpt-small');
  return r;
}

export function normaliseEndpoint(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new InputError(endpoint, 'not a URL (the hub endpoint must look like https://huggingface.co)');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new InputError(endpoint, 'the hub endpoint must be an http(s) URL');
  return u.href.replace(/\/+$/, '');
}

const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
export const resolveUrl = (ref: HubRepoRef, file: string) => `${ref.endpoint}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${enc(file)}`;
const apiUrl = (ref: HubRepoRef) => `${ref.endpoint}/api/models/${ref.repo}/revision/${encodeURIComponent(ref.revision)}?blobs=true`;

async function get(url: string, what: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (init.signal?.aborted) throw e;
    throw new InputError(url, `could not be fetched (${(e as Error).message}): the hub is unreachable, or it does not allow this page to read it (CORS)`);
  }
  if (res.status === 401 || res.status === 403) throw new InputError(url, `${what}: access refused (HTTP ${res.status}); gated or private repos are not supported in the page`);
  if (res.status === 404) throw new InputError(url, `${what}: not found (HTTP 404)`);
  if (res.status === 416) throw new InputError(url, `${what}: the server has fewer bytes than expected (HTTP 416 for a resumed range): truncated file`);
  if (!res.ok && res.status !== 206) throw new InputError(url, `${what}: HTTP ${res.status} ${res.statusText}`.trim());
  return res;
}

/** The checkpoint's files of a hub repo, with sizes (and sha256 where LFS). */
export async function listHubCheckpoint(ref: HubRepoRef, signal?: AbortSignal): Promise<HubFile[]> {
  const url = apiUrl(ref);
  const res = await get(url, `${ref.repo}@${ref.revision}`, { signal });
  let info: { siblings?: { rfilename?: unknown; size?: unknown; lfs?: { sha256?: unknown; oid?: unknown; size?: unknown } }[] };
  try {
    info = await res.json();
  } catch {
    throw new InputError(url, 'the hub answered with something that is not JSON');
  }
  if (!Array.isArray(info.siblings)) throw new InputError(url, 'the hub answer has no file list (siblings)');
  const all = new Map<string, HubFile>();
  for (const s of info.siblings) {
    if (typeof s.rfilename !== 'string') continue;
    const size = typeof s.size === 'number' ? s.size : typeof s.lfs?.size === 'number' ? s.lfs.size : NaN;
    const sha = typeof s.lfs?.sha256 === 'string' ? s.lfs.sha256 : typeof s.lfs?.oid === 'string' ? s.lfs.oid.replace(/^sha256:/, '') : undefined;
    all.set(s.rfilename, { path: s.rfilename, size, ...(sha && /^[0-9a-f]{64}$/.test(sha) ? { sha256: sha } : {}) });
  }
  const need = (name: string) => {
    const f = all.get(name);
    if (!f) throw new InputError(`${ref.repo}@${ref.revision}`, `has no ${name} (not an ImageGPT checkpoint?)`);
    return f;
  };
  const picked = [need('config.json'), need('preprocessor_config.json')];
  if (all.has('model.safetensors.index.json')) {
    picked.push(all.get('model.safetensors.index.json')!);
    picked.push(...[...all.values()].filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f.path)).sort((a, b) => a.path.localeCompare(b.path)));
  } else if (all.has('model.safetensors')) picked.push(all.get('model.safetensors')!);
  else if (all.has('pytorch_model.bin')) picked.push(all.get('pytorch_model.bin')!);
  else throw new InputError(`${ref.repo}@${ref.revision}`, 'has no weights: none of model.safetensors.index.json, model.safetensors, pytorch_model.bin');
  for (const f of picked) if (!Number.isFinite(f.size)) throw new InputError(url, `the hub does not give the size of ${f.path}`);
  return picked;
}

/** The OPFS folder of a repo's downloads. */
export const downloadKey = (ref: HubRepoRef) => slug(`${new URL(ref.endpoint).host}_${ref.repo.replace('/', '_')}_${ref.revision}`);

type State = Record<string, { size: number; sha256?: string }>;

async function readState(dir: FileSystemDirectoryHandle): Promise<State> {
  try {
    return JSON.parse(await (await (await dir.getFileHandle(STATE_FILE)).getFile()).text()) as State;
  } catch {
    return {};
  }
}

async function writeState(dir: FileSystemDirectoryHandle, state: State): Promise<void> {
  const w = await openOpfsWriter(await dir.getFileHandle(STATE_FILE, { create: true }), 0);
  await w.write(new TextEncoder().encode(JSON.stringify(state)));
  await w.close();
}

/** Nested folders for a path like "sub/model.safetensors": the folder and the file name. */
async function place(dir: FileSystemDirectoryHandle, path: string, create: boolean): Promise<[FileSystemDirectoryHandle, string]> {
  const parts = path.split('/');
  for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create });
  return [dir, parts[parts.length - 1]];
}

async function sizeOf(dir: FileSystemDirectoryHandle, path: string): Promise<number> {
  try {
    const [d, name] = await place(dir, path, false);
    return (await (await d.getFileHandle(name)).getFile()).size;
  } catch {
    return 0;
  }
}

/** Bytes of `files` already in OPFS (complete or partial). */
export async function bytesPresent(ref: HubRepoRef, files: HubFile[]): Promise<number> {
  let dir: FileSystemDirectoryHandle;
  try {
    // Looking only: planning a download writes nothing.
    dir = await (await subDir('downloads')).getDirectoryHandle(downloadKey(ref));
  } catch {
    return 0;
  }
  let n = 0;
  for (const f of files) n += Math.min(f.size, await sizeOf(dir, f.path));
  return n;
}

/** Removes a repo's downloaded files. */
export async function removeDownload(ref: HubRepoRef): Promise<void> {
  await removeEntry(await subDir('downloads'), downloadKey(ref));
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Further attempts after a dropped connection, each resuming where the file stopped (default 4). */
  retries?: number;
}

class Dropped extends Error {}

/** Downloads (or resumes) the files into OPFS; returns them as a name -> File map for the converter. */
export async function downloadHubCheckpoint(ref: HubRepoRef, files: HubFile[], opts: DownloadOptions = {}): Promise<Map<string, Blob>> {
  const dir = await subDir('downloads', downloadKey(ref));
  const state = await readState(dir);
  const total = files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const samples: { t: number; bytes: number }[] = [];
  let lastReport = 0;
  const report = (file: string, loaded: number, force = false) => {
    const now = performance.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    samples.push({ t: now, bytes: loaded });
    while (samples.length > 2 && now - samples[0].t > 5000) samples.shift();
    const first = samples[0];
    const speed = now - first.t > 300 ? ((loaded - first.bytes) * 1000) / (now - first.t) : 0;
    opts.onProgress?.({ file, loaded, total, speed, etaSeconds: speed > 0 ? (total - loaded) / speed : null });
  };
  const out = new Map<string, Blob>();
  for (const f of files) {
    const [fdir, fname] = await place(dir, f.path, true);
    const handle = await fdir.getFileHandle(fname, { create: true });
    const known = state[f.path];
    const complete = known && known.size === f.size && known.sha256 === f.sha256 && (await handle.getFile()).size === f.size;
    if (!complete) {
      delete state[f.path];
      await writeState(dir, state);
      await fetchInto(ref, f, handle, (n) => report(f.path, done + n), opts);
      state[f.path] = { size: f.size, ...(f.sha256 ? { sha256: f.sha256 } : {}) };
      await writeState(dir, state);
    }
    done += f.size;
    report(f.path, done, true);
    out.set(f.path, await handle.getFile());
  }
  return out;
}

async function fetchInto(ref: HubRepoRef, f: HubFile, handle: FileSystemFileHandle, onBytes: (n: number) => void, opts: DownloadOptions): Promise<void> {
  const url = resolveUrl(ref, f.path);
  const retries = opts.retries ?? 4;
  for (let attempt = 0; ; attempt++) {
    let at = Math.min((await handle.getFile()).size, f.size);
    try {
      if (at < f.size || f.size === 0) {
        const res = await get(url, f.path, { signal: opts.signal, headers: at > 0 ? { Range: `bytes=${at}-` } : {}, cache: 'no-store' });
        if (res.status !== 206) at = 0; // the server sent the whole file: start again
        await receive(res, handle, at, f, url, onBytes);
      }
      break;
    } catch (e) {
      if (!(e instanceof Dropped) || opts.signal?.aborted || attempt >= retries) {
        if (e instanceof InputError && /HTTP 416/.test(e.problem)) await removeFile(handle);
        if (e instanceof Dropped) throw new InputError(url, `the connection dropped ${retries + 1} times; what was downloaded is kept and the next try resumes it (${e.message})`);
        throw e;
      }
      await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
    }
  }
  const got = (await handle.getFile()).size;
  if (got !== f.size) {
    await removeFile(handle);
    throw new InputError(url, `has ${got} bytes, the hub lists ${f.size} (truncated or changed file); removed`);
  }
  if (f.sha256) {
    const hash = new Sha256();
    const file = await handle.getFile();
    const SLICE = 8 << 20;
    for (let o = 0; o < file.size; o += SLICE) hash.update(new Uint8Array(await file.slice(o, o + SLICE).arrayBuffer()));
    const hex = hash.hex();
    if (hex !== f.sha256) {
      await removeFile(handle);
      throw new InputError(url, `sha256 mismatch: the downloaded file is ${hex}, the hub lists ${f.sha256} (corrupt or replaced file); removed`);
    }
  }
}

async function removeFile(handle: FileSystemFileHandle): Promise<void> {
  const w = await openOpfsWriter(handle, 0);
  await w.close();
  await (handle as unknown as { remove?: () => Promise<void> }).remove?.().catch(() => undefined);
}

async function receive(res: Response, handle: FileSystemFileHandle, at: number, f: HubFile, url: string, onBytes: (n: number) => void): Promise<void> {
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== at) throw new InputError(url, `the server answered the range request from byte ${at} with "${res.headers.get('content-range')}"`);
  }
  const w = await openOpfsWriter(handle, at);
  let pos = at;
  onBytes(pos);
  try {
    if (!res.body) throw new Dropped('no body');
    const reader = res.body.getReader();
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw new Dropped((e as Error).message);
      }
      if (r.done) break;
      if (pos + r.value.length > f.size) {
        await reader.cancel().catch(() => undefined);
        throw new InputError(url, `is larger than the ${f.size} bytes the hub lists`);
      }
      await w.write(r.value);
      pos += r.value.length;
      onBytes(pos);
    }
  } finally {
    await w.close();
  }
  if (pos < f.size) throw new Dropped(`the body ended at byte ${pos} of ${f.size}`);
}
