/**
 * A local stand-in for the Hugging Face hub's file API, for tests.
 *
 * Serves folders as repos at `/{owner}/{name}/resolve/{rev}/{file}` (HEAD and GET) on 127.0.0.1,
 * a random port. Like the hub: files over `redirectThreshold` bytes answer 302 to a "CDN" path on the
 * same server (`/cdn/{owner}/{name}/{rev}/{file}`) with `x-linked-size` and `x-linked-etag` (sha256);
 * missing repos/files/revisions answer 404 with `X-Error-Code` RepoNotFound/EntryNotFound/RevisionNotFound;
 * gated repos answer 401 (no token) or 403 (wrong token) with `X-Error-Code: GatedRepo`.
 * Byte ranges (`Range: bytes=a-` / `bytes=a-b`) answer 206 with Content-Range, or 416.
 * `GET /api/models/{owner}/{name}/revision/{rev}` lists the repo's files as the hub does
 * (`siblings` with `rfilename`, `size`, and `lfs: { sha256, size }` for files over the threshold).
 * Every answer allows any origin (CORS), so a page on another port can download from it.
 * Test hooks: cut the connection after N body bytes (once), lie about a file's size or sha256.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface HubServerOptions {
  /** 'owner/name' -> local folder. */
  repos: Record<string, string>;
  /** Revisions that exist (default ['main']). */
  revisions?: string[];
  /** Files larger than this are redirected to the CDN path (default 100000 bytes). */
  redirectThreshold?: number;
  /** Repos that need `Authorization: Bearer <token>`. */
  gated?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status: number;
}

export interface HubServer {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  requests: RecordedRequest[];
  /** The next GET body of `file` (any repo) stops after `bytes` bytes and the socket is destroyed; `times` GETs in a row when given. */
  cutAfter(file: string, bytes: number, times?: number): void;
  /** HEAD Content-Length and x-linked-size of `file` claim `size` (GET sends the real bytes). */
  lieSize(file: string, size: number): void;
  /** x-linked-etag and the API's lfs.sha256 of `file` claim `sha256`. */
  lieSha256(file: string, sha256: string): void;
  close(): Promise<void>;
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const revisions = options.revisions ?? ['main'];
  const threshold = options.redirectThreshold ?? 100_000;
  const requests: RecordedRequest[] = [];
  const cuts = new Map<string, { bytes: number; times: number }>();
  const lies = new Map<string, number>();
  const hashes = new Map<string, string>();
  const shaLies = new Map<string, string>();

  const sha256 = (path: string) => {
    let h = hashes.get(path);
    if (!h) {
      h = createHash('sha256').update(readFileSync(path)).digest('hex');
      hashes.set(path, h);
    }
    return h;
  };
  /** The sha256 the hub claims for a repo file (a lie when the test set one). */
  const claimedSha = (path: string, name: string) => shaLies.get(name) ?? sha256(path);

  const cors: Record<string, string> = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges, ETag, x-linked-size, x-linked-etag, X-Error-Code',
    'Cross-Origin-Resource-Policy': 'cross-origin',
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string> = {}, body = '') => {
    res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  /** Locates a file; answers the error itself and returns undefined when it does not exist. */
  const locate = (req: IncomingMessage, res: ServerResponse, repo: string, rev: string, file: string) => {
    const folder = options.repos[repo];
    if (!folder) {
      send(req, res, 404, { 'X-Error-Code': 'RepoNotFound' }, 'Repository not found');
      return undefined;
    }
    const gate = options.gated?.[repo];
    if (gate !== undefined) {
      const auth = req.headers.authorization;
      if (!auth) {
        send(req, res, 401, { 'X-Error-Code': 'GatedRepo' }, 'Access to this model is restricted');
        return undefined;
      }
      if (auth !== `Bearer ${gate}`) {
        send(req, res, 403, { 'X-Error-Code': 'GatedRepo' }, 'Forbidden');
        return undefined;
      }
    }
    if (!revisions.includes(rev)) {
      send(req, res, 404, { 'X-Error-Code': 'RevisionNotFound' }, 'Revision not found');
      return undefined;
    }
    const rel = normalize(file);
    if (rel.startsWith('..') || rel.startsWith('/')) {
      send(req, res, 400, {}, 'bad path');
      return undefined;
    }
    const path = join(folder, rel);
    try {
      const st = statSync(path);
      if (st.isFile()) return { path, size: st.size, name: rel };
    } catch {
      // fall through
    }
    send(req, res, 404, { 'X-Error-Code': 'EntryNotFound' }, 'Entry not found');
    return undefined;
  };

  const serveBytes = (req: IncomingMessage, res: ServerResponse, f: { path: string; size: number; name: string }, extra: Record<string, string>) => {
    const claimed = lies.get(f.name) ?? f.size;
    const headers: Record<string, string> = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', ETag: `"${sha256(f.path)}"`, ...extra };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': String(claimed) });
      res.end();
      return;
    }
    const data = readFileSync(f.path);
    let start = 0;
    let end = f.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= f.size) {
        res.writeHead(416, { 'Content-Range': `bytes */${f.size}`, 'Content-Length': '0' });
        res.end();
        return;
      }
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]));
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${f.size}`;
    }
    const body = data.subarray(start, end + 1);
    res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
    const cut = cuts.get(f.name);
    if (cut !== undefined) {
      if (--cut.times <= 0) cuts.delete(f.name);
      res.write(body.subarray(0, Math.min(cut.bytes, body.length)), () => {
        setTimeout(() => res.socket?.destroy(), 200);
      });
      return;
    }
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const parts = url.pathname.split('/').map(decodeURIComponent);
    const record = (status: number) =>
      requests.push({ method: req.method ?? '', path: url.pathname, range: req.headers.range, authorization: req.headers.authorization, status });
    const origWriteHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      record(status);
      for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
      return (origWriteHead as (...a: unknown[]) => ServerResponse)(status, ...rest);
    }) as typeof res.writeHead;

    if (req.method === 'OPTIONS') {
      return send(req, res, 204, { 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Range, Authorization', 'Access-Control-Max-Age': '600' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(req, res, 405);
    // /api/models/{owner}/{name}/revision/{rev}
    if (parts.length === 7 && parts[1] === 'api' && parts[2] === 'models' && parts[5] === 'revision') {
      const repo = `${parts[3]}/${parts[4]}`;
      const folder = options.repos[repo];
      if (!folder) return send(req, res, 404, { 'X-Error-Code': 'RepoNotFound', 'Content-Type': 'application/json' }, '{"error":"Repository not found"}');
      if (!revisions.includes(parts[6])) return send(req, res, 404, { 'X-Error-Code': 'RevisionNotFound', 'Content-Type': 'application/json' }, '{"error":"Invalid rev id"}');
      const siblings = readdirSync(folder, { withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => {
          const path = join(folder, e.name);
          const size = lies.get(e.name) ?? statSync(path).size;
          return { rfilename: e.name, size, ...(statSync(path).size > threshold ? { lfs: { sha256: claimedSha(path, e.name), size, pointerSize: 134 } } : {}) };
        });
      return send(req, res, 200, { 'Content-Type': 'application/json' }, JSON.stringify({ id: repo, modelId: repo, sha: '0'.repeat(40), siblings }));
    }
    // /{owner}/{name}/resolve/{rev}/{file...}
    if (parts.length >= 6 && parts[3] === 'resolve') {
      const repo = `${parts[1]}/${parts[2]}`;
      const rev = parts[4];
      const file = parts.slice(5).join('/');
      const f = locate(req, res, repo, rev, file);
      if (!f) return;
      if (f.size > threshold) {
        const claimed = lies.get(f.name) ?? f.size;
        const location = `/cdn/${parts[1]}/${parts[2]}/${encodeURIComponent(rev)}/${parts.slice(5).map(encodeURIComponent).join('/')}`;
        return send(req, res, 302, { Location: location, 'x-linked-size': String(claimed), 'x-linked-etag': `"${claimedSha(f.path, f.name)}"` });
      }
      return serveBytes(req, res, f, {});
    }
    // /cdn/{owner}/{name}/{rev}/{file...}: no auth, like a signed CDN URL
    if (parts.length >= 6 && parts[1] === 'cdn') {
      const repo = `${parts[2]}/${parts[3]}`;
      const folder = options.repos[repo];
      if (!folder) return send(req, res, 404);
      const rel = normalize(parts.slice(5).join('/'));
      if (rel.startsWith('..')) return send(req, res, 400);
      const path = join(folder, rel);
      let size: number;
      try {
        size = statSync(path).size;
      } catch {
        return send(req, res, 404);
      }
      return serveBytes(req, res, { path, size, name: rel }, {});
    }
    send(req, res, 404, {}, 'not found');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutAfter: (file, bytes, times = 1) => void cuts.set(file, { bytes, times }),
    lieSize: (file, size) => void lies.set(file, size),
    lieSha256: (file, sha) => void shaLies.set(file, sha),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
