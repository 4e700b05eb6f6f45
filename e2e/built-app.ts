/**
 * The production build for the deploy tests: `vite build` into a folder of its own under tmp/ (so
 * the user's dist/ is left alone), and `npm run preview` serving it. The build runs inside the test
 * run, one spec at a time (workers: 1), so it never overlaps a test on the dev server.
 */
import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Builds the app for `base` (IGPT_BASE) into tmp/e2e-dist/<name>; returns the folder. */
export async function buildApp(name: string, base = '/'): Promise<string> {
  const outDir = join(ROOT, 'tmp', 'e2e-dist', name);
  await promisify(execFile)('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, IGPT_BASE: base },
    maxBuffer: 16 << 20,
  });
  return outDir;
}

/** Every file under `dir`, as paths relative to it with forward slashes. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Preview {
  url: string;
  close(): Promise<void>;
}

/** `npm run preview` on a free port, serving `outDir` (built for `base`). */
export async function startPreview(outDir: string, base = '/'): Promise<Preview> {
  const port = await freePort();
  const child = spawn('npm', ['run', 'preview', '--', '--port', String(port), '--strictPort', '--outDir', outDir], {
    cwd: ROOT,
    env: { ...process.env, IGPT_BASE: base },
    detached: true, // its own process group: npm, the shell and vite end together
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://localhost:${port}${base}`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await exited;
    }
  };
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`npm run preview exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return { url, close };
    await new Promise((r) => setTimeout(r, 100));
  }
  await close();
  throw new Error(`npm run preview did not answer at ${url}:\n${output}`);
}
