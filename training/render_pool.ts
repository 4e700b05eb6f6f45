// A pool of child processes rendering icons. A batch whose child dies (resvg aborts the process
// on a few SVGs) is split in two and retried; a single icon that still kills its child is skipped
// and reported as failed.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RenderReply, RenderRequest } from './render_worker.ts';

export interface RenderJob {
  set: string;
  names: string[];
}
export interface RenderResult {
  set: string;
  name: string;
  rgb: Uint8Array | null; // 32x32 RGB, null when it failed
  full?: Uint8Array; // the full-size render (RGB), when PoolOptions.full
  error?: string;
}
export interface PoolOptions {
  workers: number;
  batchSize: number;
  renderSize: number;
  full?: boolean;
  onProgress?: (done: number, total: number) => void;
}

const WORKER = fileURLToPath(new URL('./render_worker.ts', import.meta.url));

export async function renderAll(jobs: RenderJob[], opts: PoolOptions): Promise<Map<string, RenderResult>> {
  const queue: RenderJob[] = [];
  for (const j of jobs) {
    for (let i = 0; i < j.names.length; i += opts.batchSize) queue.push({ set: j.set, names: j.names.slice(i, i + opts.batchSize) });
  }
  const total = jobs.reduce((a, j) => a + j.names.length, 0);
  const results = new Map<string, RenderResult>();
  const px = 32 * 32 * 3;
  const fullPx = opts.renderSize * opts.renderSize * 3;
  let nextId = 0;
  let done = 0;

  const spawn = (): ChildProcess =>
    fork(WORKER, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });

  const runWorker = async (): Promise<void> => {
    let child: ChildProcess | null = null;
    while (queue.length > 0) {
      const job = queue.shift()!;
      if (!child) child = spawn();
      const c = child;
      const req: RenderRequest = { id: nextId++, set: job.set, names: job.names, renderSize: opts.renderSize, full: opts.full };
      const reply = await new Promise<RenderReply | { crashed: string }>((resolve) => {
        let stderr = '';
        const onErr = (d: Buffer) => (stderr += d.toString());
        c.stderr?.on('data', onErr);
        const cleanup = () => {
          c.off('message', onMsg);
          c.off('exit', onExit);
          c.stderr?.off('data', onErr);
        };
        const onMsg = (m: RenderReply) => {
          cleanup();
          resolve(m);
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          resolve({ crashed: `child exited (code ${code}, signal ${signal}) ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`.trim() });
        };
        c.on('message', onMsg);
        c.on('exit', onExit);
        c.send(req);
      });
      if ('crashed' in reply) {
        child = null;
        if (job.names.length === 1) {
          results.set(`${job.set}:${job.names[0]}`, { set: job.set, name: job.names[0], rgb: null, error: reply.crashed });
          done++;
          opts.onProgress?.(done, total);
        } else {
          const mid = Math.ceil(job.names.length / 2);
          queue.unshift({ set: job.set, names: job.names.slice(0, mid) }, { set: job.set, names: job.names.slice(mid) });
        }
        continue;
      }
      const failed = new Map(reply.failed.map((f) => [f.name, f.error]));
      job.names.forEach((name, i) => {
        const error = failed.get(name);
        results.set(`${job.set}:${name}`, {
          set: job.set,
          name,
          rgb: error === undefined ? reply.images.slice(i * px, (i + 1) * px) : null,
          ...(error === undefined && reply.full ? { full: reply.full.slice(i * fullPx, (i + 1) * fullPx) } : {}),
          ...(error === undefined ? {} : { error }),
        });
      });
      done += job.names.length;
      opts.onProgress?.(done, total);
    }
    if (child) {
      child.disconnect();
      child.kill();
    }
  };

  await Promise.all(Array.from({ length: opts.workers }, () => runWorker()));
  return results;
}
