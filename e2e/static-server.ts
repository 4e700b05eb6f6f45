/**
 * A plain static file server for the e2e tests, like a basic static host: files with a content
 * type, Last-Modified, ETag and `Cache-Control: max-age=600` (what GitHub Pages sends), 304 for a
 * matching If-None-Match, 404 otherwise, and no COOP/COEP headers. With `cors`, it also sends
 * Access-Control-Allow-Origin: * (a model host such as the Hugging Face hub). Requests are logged.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  /** http://localhost:PORT + mount, ending in / */
  url: string;
  /** Paths requested (after the mount), in order, with their status. */
  log: { path: string; status: number; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/** Serves `root` under `mount` (default "/"); a folder answers with its index.html. */
export async function serveStatic(root: string, { mount = '/', cors = false } = {}): Promise<StaticServer> {
  const log: StaticServer['log'] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const common: Record<string, string> = cors ? { 'access-control-allow-origin': '*' } : {};
    const answer = (status: number, headers: Record<string, string> = {}, body = '') => {
      log.push({ path, status, headers: req.headers });
      res.writeHead(status, { ...common, ...headers }).end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405);
    if (!path.startsWith(mount)) return answer(404, { 'content-type': 'text/plain' }, 'not found');
    let file = normalize(join(root, path.slice(mount.length)));
    if (!(file + sep).startsWith(normalize(root + sep))) return answer(404);
    try {
      let st = await stat(file);
      if (st.isDirectory()) {
        file = join(file, 'index.html');
        st = await stat(file);
      }
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const headers = {
        ...common,
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'last-modified': st.mtime.toUTCString(),
        etag,
        'cache-control': 'max-age=600',
      };
      if (req.headers['if-none-match'] === etag) return answer(304, headers);
      log.push({ path, status: 200, headers: req.headers });
      res.writeHead(200, { ...headers, 'content-length': String(st.size) });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch {
      answer(404, { 'content-type': 'text/plain' }, 'not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}${mount}`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
