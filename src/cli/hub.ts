/**
 * Downloads a model's files from the Hugging Face hub (or a mirror) into a local cache folder,
 * for `igpt export owner/name`. Node-only.
 *
 * Files: config.json, preprocessor_config.json, then the weights: model.safetensors.index.json and
 * its shards, else model.safetensors, else pytorch_model.bin (HEAD 404 = absent).
 * URLs are `${endpoint}/${repo}/resolve/${revision}/${file}`; redirects (the hub sends large files
 * to a CDN) are followed by hand so the hub's `x-linked-size` / `x-linked-etag` are seen, and the
 * Authorization header is not sent to another origin.
 * Each file is written to `file.part`, resumed with `Range: bytes=N-` (206 appends, 200 restarts),
 * size-checked against Content-Length / Content-Range and x-linked-size, sha256-checked when the hub
 * gives an x-linked-etag that is a sha256, and renamed to its final name only when complete.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { formatBytes, ProgressBar } from './progress.ts';

export interface HubProgress {
  /** Path of the file inside the repo. */
  file: string;
  /** Bytes of this file on disk so far (resumed bytes included). */
  loaded: number;
  /** Expected size, when the server said. */
  total?: number;
  /** True once, when the file is complete (downloaded or already present). */
  done: boolean;
  /** True when the file was already complete in the cache. */
  cached?: boolean;
}

export interface DownloadHubOptions {
  /** Default process.env.HF_ENDPOINT || 'https://huggingface.co'. */
  endpoint?: string;
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
  /** Cache folder; the model goes to `${dest}/${owner}/${name}/${revision}`. */
  dest: string;
  /** Download exactly these files (all required) instead of config + preprocessor + discovered weights. */
  files?: string[];
  /** Default: a progress bar per file on stderr. Pass `() => {}` for silence. */
  onProgress?: (p: HubProgress) => void;
  /** Default globalThis.fetch. */
  fetchImpl?: typeof fetch;
  /** Default process.env.HF_TOKEN; sent as `Authorization: Bearer <token>` to the endpoint's origin. */
  token?: string;
  /** Further attempts after a dropped connection, each resuming the .part file (default 3). */
  retries?: number;
  /** Delay before retry i (1-based) is i * retryDelayMs (default 500). */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/** A download failure; `input` is the URL (or the repo for "no such model"). */
export class HubError extends InputError {
  constructor(
    input: string,
    problem: string,
    public readonly url: string,
    public readonly status?: number,
  ) {
    super(input, problem);
    this.name = 'HubError';
  }
}

/** Dropped connections and other transport failures: the .part file is kept for a retry. */
class TransferError extends HubError {}

const REPO_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const MAX_REDIRECTS = 10;

interface Ctx {
  endpoint: string;
  repo: string;
  revision: string;
  folder: string;
  fetch: typeof fetch;
  token?: string;
  retries: number;
  retryDelayMs: number;
  onProgress: (p: HubProgress) => void;
  signal?: AbortSignal;
}

interface Hop {
  res: Response;
  url: string;
  linkedSize?: number;
  linkedEtag?: string;
}

export async function downloadHubModel(repo: string, opts: DownloadHubOptions): Promise<string> {
  if (!REPO_RE.test(repo) || repo.includes('..')) {
    throw new InputError(repo, 'not a model id; expected owner/name, e.g. openai/imagegpt-small');
  }
  const endpoint = (opts.endpoint ?? (process.env.HF_ENDPOINT || 'https://huggingface.co')).replace(/\/+$/, '');
  const revision = opts.revision ?? 'main';
  const [owner, name] = repo.split('/');
  const folder = join(opts.dest, owner, name, revision.replace(/[^\w.-]/g, '_'));
  await mkdir(folder, { recursive: true });
  const ctx: Ctx = {
    endpoint,
    repo,
    revision,
    folder,
    fetch: opts.fetchImpl ?? globalThis.fetch,
    token: opts.token ?? (process.env.HF_TOKEN || undefined),
    retries: opts.retries ?? 3,
    retryDelayMs: opts.retryDelayMs ?? 500,
    onProgress: opts.onProgress ?? stderrProgress(),
    signal: opts.signal,
  };

  if (opts.files) {
    for (const f of opts.files) await downloadFile(ctx, checkRelative(f, repo), true);
    return folder;
  }

  await downloadFile(ctx, 'config.json', true, true);
  await downloadFile(ctx, 'preprocessor_config.json', true);
  if (await downloadFile(ctx, 'model.safetensors.index.json', false)) {
    const indexPath = join(folder, 'model.safetensors.index.json');
    const shards = await readShardList(indexPath, repo);
    for (const shard of shards) await downloadFile(ctx, shard, true);
  } else if (!(await downloadFile(ctx, 'model.safetensors', false))) {
    if (!(await downloadFile(ctx, 'pytorch_model.bin', false))) {
      throw new HubError(
        repo,
        `no weights found at ${endpoint} (revision ${revision}): none of model.safetensors.index.json, model.safetensors, pytorch_model.bin`,
        fileUrl(ctx, 'pytorch_model.bin'),
        404,
      );
    }
  }
  return folder;
}

function checkRelative(file: string, repo: string): string {
  if (!file || file.startsWith('/') || file.includes('\\') || file.split('/').some((s) => s === '..' || s === '')) {
    throw new InputError(`${repo}:${file}`, 'bad file name (must be a relative path without ..)');
  }
  return file;
}

async function readShardList(indexPath: string, repo: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new InputError(indexPath, `not valid JSON (${(e as Error).message})`);
  }
  const map = (index as { weight_map?: unknown }).weight_map;
  if (!map || typeof map !== 'object') throw new InputError(indexPath, 'has no weight_map object');
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  if (shards.length === 0 || shards.some((s) => typeof s !== 'string')) {
    throw new InputError(indexPath, 'weight_map must map tensor names to shard file names');
  }
  return (shards as string[]).sort().map((s) => checkRelative(s, repo));
}

function fileUrl(ctx: Ctx, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${ctx.endpoint}/${ctx.repo}/resolve/${encodeURIComponent(ctx.revision)}/${path}`;
}

/** Sends one request, following redirects by hand; collects x-linked-size/etag from every hop. */
async function request(ctx: Ctx, url: string, method: 'HEAD' | 'GET', range?: string): Promise<Hop> {
  const origin = new URL(ctx.endpoint).origin;
  let current = url;
  let linkedSize: number | undefined;
  let linkedEtag: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'User-Agent': 'igpt-playground', 'Accept-Encoding': 'identity' };
    if (range) headers.Range = range;
    if (ctx.token && new URL(current).origin === origin) headers.Authorization = `Bearer ${ctx.token}`;
    let res: Response;
    try {
      res = await ctx.fetch(current, { method, headers, redirect: 'manual', signal: ctx.signal });
    } catch (e) {
      if (ctx.signal?.aborted) throw e;
      throw new TransferError(current, `network error: ${describe(e)}`, current);
    }
    const ls = res.headers.get('x-linked-size');
    if (ls !== null && /^\d+$/.test(ls)) linkedSize = Number(ls);
    const le = res.headers.get('x-linked-etag');
    if (le !== null) linkedEtag = le.replace(/^W\//, '').replace(/"/g, '');
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel().catch(() => undefined);
      current = new URL(location, current).toString();
      continue;
    }
    return { res, url: current, linkedSize, linkedEtag };
  }
  throw new HubError(url, `more than ${MAX_REDIRECTS} redirects`, url);
}

function describe(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err.cause ? ` (${err.cause.code ?? ''}${err.cause.code && err.cause.message ? ': ' : ''}${err.cause.message ?? ''})` : '';
  return `${err.message ?? String(e)}${cause}`;
}

/** Throws a clear error for any non-success answer other than 404. */
function checkStatus(ctx: Ctx, hop: Hop, url: string, isConfig: boolean): void {
  const { status } = hop.res;
  const code = hop.res.headers.get('x-error-code') ?? '';
  if (status === 401 || status === 403 || (isConfig && status === 404)) {
    if (code === 'RevisionNotFound') {
      throw new HubError(ctx.repo, `no revision "${ctx.revision}" (${url}: HTTP ${status})`, url, status);
    }
    if (status === 404 && code === 'EntryNotFound') {
      throw new HubError(ctx.repo, `no such model: the repo has no config.json (${url}: HTTP 404)`, url, status);
    }
    if (status === 404 || code === 'RepoNotFound') {
      const hint = status === 404 ? '' : ctx.token ? ' or your HF_TOKEN has no access to it' : '; if it is private, set HF_TOKEN';
      throw new HubError(ctx.repo, `no such model at ${ctx.endpoint}${hint} (${url}: HTTP ${status})`, url, status);
    }
    const what = code === 'GatedRepo' ? 'gated' : 'gated or private';
    const todo = ctx.token
      ? 'HF_TOKEN is set but has no access: accept the model licence on its hub page or use another token'
      : 'set HF_TOKEN to a token with access (https://huggingface.co/settings/tokens)';
    throw new HubError(url, `HTTP ${status}: the model is ${what}; ${todo}`, url, status);
  }
  if (!hop.res.ok) {
    throw new HubError(url, `HTTP ${status} ${hop.res.statusText}`.trim(), url, status);
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function contentLength(res: Response): number | undefined {
  const enc = res.headers.get('content-encoding');
  if (enc && enc !== 'identity') return undefined; // the body is decoded, so Content-Length is not its size
  const cl = res.headers.get('content-length');
  return cl !== null && /^\d+$/.test(cl) ? Number(cl) : undefined;
}

/** Downloads one file; false when it does not exist (404) and is optional. */
async function downloadFile(ctx: Ctx, file: string, required: boolean, isConfig = false): Promise<boolean> {
  const url = fileUrl(ctx, file);
  const head = await request(ctx, url, 'HEAD');
  await head.res.body?.cancel().catch(() => undefined);
  if (head.res.status === 404 && !isConfig) {
    if (required) throw new HubError(url, `HTTP 404: ${file} not found in ${ctx.repo} (revision ${ctx.revision})`, url, 404);
    return false;
  }
  checkStatus(ctx, head, url, isConfig);
  const expected = head.linkedSize ?? contentLength(head.res);
  const etag = head.linkedEtag;

  const finalPath = join(ctx.folder, file);
  const partPath = `${finalPath}.part`;
  await mkdir(dirname(finalPath), { recursive: true });
  const existing = await fileSize(finalPath);
  if (existing !== undefined && expected !== undefined && existing === expected) {
    ctx.onProgress({ file, loaded: existing, total: expected, done: true, cached: true });
    return true;
  }

  for (let attempt = 0; ; attempt++) {
    try {
      const present = await transfer(ctx, file, url, partPath, expected);
      if (!present) {
        if (required) throw new HubError(url, `HTTP 404: ${file} not found in ${ctx.repo}`, url, 404);
        return false;
      }
      break;
    } catch (e) {
      if (!(e instanceof TransferError) || attempt >= ctx.retries || ctx.signal?.aborted) throw e;
      await new Promise((r) => setTimeout(r, (attempt + 1) * ctx.retryDelayMs));
    }
  }

  const size = (await fileSize(partPath)) ?? 0;
  if (etag && /^[0-9a-f]{64}$/.test(etag)) {
    const digest = await sha256File(partPath);
    if (digest !== etag) {
      await rm(partPath, { force: true });
      throw new HubError(url, `sha256 mismatch: got ${digest}, the hub says ${etag}; the partial file was deleted, run again`, url);
    }
  }
  await rename(partPath, finalPath);
  ctx.onProgress({ file, loaded: size, total: size, done: true });
  return true;
}

/** GETs into partPath, resuming when it exists. Returns false on 404. Throws TransferError on a dropped connection. */
async function transfer(ctx: Ctx, file: string, url: string, partPath: string, expected: number | undefined): Promise<boolean> {
  let offset = (await fileSize(partPath)) ?? 0;
  if (expected !== undefined && offset > expected) {
    await rm(partPath, { force: true });
    offset = 0;
  }
  const hop = await request(ctx, url, 'GET', offset > 0 ? `bytes=${offset}-` : undefined);
  const { res } = hop;
  if (res.status === 404) {
    await res.body?.cancel().catch(() => undefined);
    return false;
  }
  if (res.status === 416 && offset > 0) {
    await res.body?.cancel().catch(() => undefined);
    const total = parseContentRange(res.headers.get('content-range'))?.total;
    if (total !== undefined && total === offset && (expected === undefined || expected === offset)) return true; // already complete
    await rm(partPath, { force: true });
    return transfer(ctx, file, url, partPath, expected);
  }
  checkStatus(ctx, hop, url, false);

  let total: number | undefined;
  let append = false;
  if (res.status === 206) {
    const cr = parseContentRange(res.headers.get('content-range'));
    if (!cr || cr.start !== offset) {
      // not the range we asked for: start over
      await res.body?.cancel().catch(() => undefined);
      await rm(partPath, { force: true });
      return transfer(ctx, file, url, partPath, expected);
    }
    total = cr.total;
    append = true;
  } else {
    offset = 0;
    total = contentLength(res);
  }
  const announced = hop.linkedSize ?? expected;
  const announcedBy = hop.linkedSize !== undefined ? 'x-linked-size' : 'the HEAD answer (x-linked-size or Content-Length)';

  const fh = await open(partPath, append ? 'a' : 'w');
  let loaded = offset;
  try {
    ctx.onProgress({ file, loaded, total: total ?? announced, done: false });
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (ctx.signal?.aborted) throw e;
          const via = hop.url !== url ? ` (from ${hop.url})` : '';
          throw new TransferError(url, `connection lost after ${loaded} bytes${via}: ${describe(e)}; the partial file is kept and the next run resumes it`, url);
        }
        if (chunk.done) break;
        await fh.write(chunk.value);
        loaded += chunk.value.length;
        ctx.onProgress({ file, loaded, total: total ?? announced, done: false });
      }
    }
  } finally {
    await fh.close();
  }

  const size = (await fileSize(partPath)) ?? 0;
  const checks: [string, number | undefined][] = [
    [res.status === 206 ? 'Content-Range total' : 'Content-Length', total],
    [announcedBy, announced],
  ];
  for (const [what, want] of checks) {
    if (want !== undefined && want !== size) {
      await rm(partPath, { force: true });
      throw new HubError(url, `size mismatch: received ${size} bytes, ${what} says ${want}; the partial file was deleted`, url);
    }
  }
  return true;
}

function parseContentRange(v: string | null): { start: number; end: number; total?: number } | undefined {
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The default reporter: one progress bar per file on stderr. */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): (p: HubProgress) => void {
  let bar: ProgressBar | undefined;
  let current = '';
  return (p) => {
    if (p.cached) {
      bar?.finish();
      bar = undefined;
      current = '';
      stream.write(`${p.file}  ${formatBytes(p.loaded)}  (already downloaded)\n`);
      return;
    }
    if (p.file !== current || !bar) {
      bar?.finish();
      current = p.file;
      bar = new ProgressBar({ label: p.file, total: p.total, stream, startAt: p.loaded });
    }
    bar.update(p.loaded, p.total);
    if (p.done) {
      bar.finish();
      bar = undefined;
      current = '';
    }
  };
}
