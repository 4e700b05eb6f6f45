/**
 * `npm run bench:cpu`: the side-by-side CPU benchmark (docs/PERF.md). On one bundle, in one run,
 * with the cases interleaved round by round (the machine may be shared), each case in a fresh
 * process: decode ms per step at each batch size after a --prefix token prompt, and the prefill.
 *
 *   npm run bench:cpu -- --model DIR [--threads 1,2] [--batch 1,8] [--prefix 512] [--steps 8]
 *                        [--rounds 1] [--repeat 2] [--only engine,liftoff,v8,bundle,ort,page,page-budget,torch,floor] [--port 5302]
 *
 * Contenders (each skipped with a note when its runtime is missing):
 * - engine:   the engine on onnxruntime-web wasm in Node (CPU graph, cpuGraph.ts), with the CLI's V8
 *             tiering budget (--wasm-tiering-budget=WASM_TIERING_BUDGET, src/cli/commands/common.ts)
 * - liftoff:  the same with V8 --liftoff-only (the CLI before the tiering budget)
 * - v8:       the same with V8's default tiering
 * - bundle:   the engine on the bundle's own GroupQueryAttention graph (the graph before cpuGraph.ts)
 * - ort:      onnxruntime-node's native CPU provider, the same CPU graph and engine loop (not a
 *             dependency: `npm install --no-save --onnxruntime-node-install=skip onnxruntime-node@1.30.0`)
 * - page:     the engine in a module worker of a cross-origin isolated page, headless Chromium
 *             (/usr/bin/chromium or CHROMIUM) with its default flags, served by Vite
 * - page-budget: the same with the CLI's tiering budget given to Chromium's V8 (--js-flags)
 * - torch:    PyTorch eager with a static KV cache on the same weights (/usr/bin/python3 or PYTHON, with torch)
 * - floor:    sgemm GFLOP/s and memory bandwidth (python3 with torch)
 * Prints one JSON line per measurement, then a table of medians and ratios.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { WASM_TIERING_BUDGET } from '../src/cli/commands/common.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'models/default') },
    threads: { type: 'string', default: '1,2' },
    batch: { type: 'string', default: '1,8' },
    prefix: { type: 'string', default: '512' },
    steps: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '2' },
    only: { type: 'string', default: 'engine,liftoff,v8,bundle,ort,page,page-budget,torch,floor' },
    port: { type: 'string', default: '5302' },
  },
});
const model = resolve(values.model!);
const threads = values.threads!.split(',').map(Number);
const only = new Set(values.only!.split(','));
const common = ['--batch', values.batch!, '--prefix', values.prefix!, '--steps', values.steps!];
// Engine contenders (Node, native, page) measure --repeat times in one process and report the last.
const engineArgs = [...common, '--repeat', values.repeat!];
const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

type Result = Record<string, unknown> & { contender: string; threads?: number; decode_ms_per_step?: Record<string, number>; prefill_ms?: Record<string, number>; first?: { decode_ms_per_step: Record<string, number> } };
type Case = { name: string; threads: number; run: () => Promise<Result> };

function runProcess(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', rej);
    child.on('close', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code !== 0 || !line) rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else res(line);
    });
  });
}

const json = (line: string) => JSON.parse(line) as Result;
const nodeScript = (flags: string[], script: string, args: string[]) => runProcess(process.execPath, [...flags, '--import', 'tsx', script, ...args]);
const has = (check: () => boolean) => {
  try {
    return check();
  } catch {
    return false;
  }
};
const notes: string[] = [];
const cases: Case[] = [];

// onnxruntime-web runs one thread in Node (more fail to start: "no available backend found ...
// fetch failed"), so the Node engine cases run at 1 thread; the page takes every thread count.
const nodeThreads = threads.filter((t) => t === 1);
if (nodeThreads.length < threads.length) notes.push('engine, liftoff, v8, bundle at more than 1 thread: onnxruntime-web starts no wasm threads in Node');
const budgetFlag = `--wasm-tiering-budget=${WASM_TIERING_BUDGET}`;
for (const t of nodeThreads) {
  const base = ['--model', model, '--threads', String(t), ...engineArgs];
  if (only.has('engine')) cases.push({ name: 'engine (wasm, Node)', threads: t, run: async () => json(await nodeScript([budgetFlag], 'scripts/cpu-bench/engine-node.ts', [...base, '--graph', 'cpu'])) });
  if (only.has('liftoff')) cases.push({ name: 'engine, Liftoff only', threads: t, run: async () => json(await nodeScript(['--liftoff-only'], 'scripts/cpu-bench/engine-node.ts', [...base, '--graph', 'cpu'])) });
  if (only.has('v8')) cases.push({ name: "engine, V8's default tiering", threads: t, run: async () => json(await nodeScript([], 'scripts/cpu-bench/engine-node.ts', [...base, '--graph', 'cpu'])) });
  if (only.has('bundle')) cases.push({ name: 'engine, bundle graph', threads: t, run: async () => json(await nodeScript([budgetFlag], 'scripts/cpu-bench/engine-node.ts', [...base, '--graph', 'bundle'])) });
}

if (only.has('ort')) {
  if (has(() => !!createRequire(import.meta.url).resolve('onnxruntime-node'))) {
    for (const t of threads) {
      cases.push({ name: 'onnxruntime-node (native)', threads: t, run: async () => json(await nodeScript([], 'scripts/cpu-bench/ort-node.ts', ['--model', model, '--threads', String(t), ...engineArgs, '--graph', 'cpu'])) });
    }
  } else notes.push('ort: onnxruntime-node is not installed (npm install --no-save --onnxruntime-node-install=skip onnxruntime-node@1.30.0)');
}

const torchOk = (only.has('torch') || only.has('floor')) && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if ((only.has('torch') || only.has('floor')) && !torchOk) notes.push(`torch, floor: ${python} cannot import torch (Debian: apt install python3-torch)`);
let weightsDir: string | null = null;
if (torchOk && only.has('torch')) {
  for (const t of threads) {
    cases.push({
      name: 'PyTorch eager',
      threads: t,
      run: async () => {
        if (!weightsDir) {
          weightsDir = await mkdtemp(join(tmpdir(), 'igpt-bench-weights-'));
          await nodeScript([], 'scripts/cpu-bench/dump-weights.ts', [model, weightsDir]);
        }
        const { readFile } = await import('node:fs/promises');
        const scale = JSON.parse(await readFile(join(model, 'igpt.json'), 'utf8')).config.attentionScale;
        return json(await runProcess(python, ['scripts/cpu-bench/torch_decode.py', '--weights', weightsDir, '--threads', String(t), '--scale', String(scale), ...common]));
      },
    });
  }
}
if (torchOk && only.has('floor')) for (const t of threads) cases.push({ name: 'machine floor', threads: t, run: async () => json(await runProcess(python, ['scripts/cpu-bench/floor.py', '--threads', String(t)])) });

// The page: Vite serves the benchmark page (cross-origin isolated) and the bundle under the project.
const pageClosers: (() => Promise<void>)[] = [];
const closePage = async () => {
  for (const close of pageClosers) await close();
};
if (only.has('page') || only.has('page-budget')) {
  const rel = relative(ROOT, model);
  if (rel.startsWith('..')) notes.push(`page: the bundle must lie inside the project folder for Vite to serve it (${model})`);
  else {
    const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
    const modelPath = `/${rel.split('\\').join('/')}/`;
    let server: { origin: string; close: () => Promise<void> } | null = null;
    const pageCase = (name: string, jsFlags: string[]) => {
      let started: { run: (t: number) => Promise<Result>; close: () => Promise<void> } | null = null;
      pageClosers.push(async () => {
        if (started) await started.close();
      });
      for (const t of threads) {
        cases.push({
          name,
          threads: t,
          run: async () => {
            if (!server) {
              server = await startServer();
              pageClosers.push(() => server!.close());
            }
            started ??= await startPage(chromium, server.origin, modelPath, jsFlags);
            return started.run(t);
          },
        });
      }
    };
    if (only.has('page')) pageCase('engine (wasm, page)', []);
    if (only.has('page-budget')) pageCase('engine (wasm, page), tiering budget', [`--js-flags=${budgetFlag}`]);
  }
}

async function startServer(): Promise<{ origin: string; close: () => Promise<void> }> {
  const { createServer } = await import('vite');
  const server = await createServer({ configFile: join(ROOT, 'vite.config.ts'), root: ROOT, server: { port: Number(values.port), strictPort: true }, logLevel: 'error' });
  await server.listen();
  return { origin: `http://localhost:${values.port}`, close: () => server.close() };
}

async function startPage(executablePath: string, origin: string, modelPath: string, extraArgs: string[]): Promise<{ run: (t: number) => Promise<Result>; close: () => Promise<void> }> {
  const { chromium } = await import('@playwright/test');
  const browser = await chromium.launch({ executablePath, args: ['--enable-features=SharedArrayBuffer', ...extraArgs] });
  return {
    async run(t) {
      const page = await browser.newPage();
      try {
        await page.goto(`${origin}/scripts/cpu-bench/page/index.html`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
        const request = { url: `${origin}${modelPath}`, threads: t, batches: values.batch!.split(',').map(Number), prefix: Number(values.prefix), steps: Number(values.steps), repeat: Number(values.repeat), graph: 'cpu' };
        const result = (await page.evaluate((r) => (globalThis as unknown as { bench: { run(r: unknown): Promise<unknown> } }).bench.run(r), request)) as Result;
        const isolated = await page.evaluate(() => globalThis.crossOriginIsolated);
        return { ...result, isolated };
      } finally {
        await page.close();
      }
    },
    async close() {
      await browser.close();
    },
  };
}

const rounds = Number(values.rounds);
const results: { name: string; threads: number; r: Result }[] = [];
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
process.stderr.write(`bench:cpu ${model}: ${cases.length} cases x ${rounds} rounds; ${cpus().length} cores (${cpus()[0]?.model}); load ${load()}\n`);
for (const n of notes) process.stderr.write(`skipped ${n}\n`);
try {
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      try {
        const t0 = performance.now();
        const r = await c.run();
        results.push({ name: c.name, threads: c.threads, r });
        // wall_ms: the whole case, process start to exit (V8's background compilation included).
        process.stdout.write(`${JSON.stringify({ case: c.name, round, load: load(), wall_ms: Math.round(performance.now() - t0), ...r })}\n`);
      } catch (e) {
        process.stderr.write(`${c.name} (${c.threads} thread${c.threads > 1 ? 's' : ''}) failed: ${(e as Error).message}\n`);
      }
    }
  }
} finally {
  await closePage();
}

// Medians over rounds, then the table.
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const batches = values.batch!.split(',');
const key = (name: string, t: number) => `${name}|${t}`;
const rows = new Map<string, { name: string; threads: number; decode: Record<string, number>; firstDecode: Record<string, number>; prefill: number | null; extra: string }>();
for (const { name, threads: t, r } of results) {
  if (!rows.has(key(name, t))) rows.set(key(name, t), { name, threads: t, decode: {}, firstDecode: {}, prefill: null, extra: '' });
}
for (const row of rows.values()) {
  const rs = results.filter((x) => x.name === row.name && x.threads === row.threads).map((x) => x.r);
  for (const b of batches) {
    const xs = rs.map((r) => r.decode_ms_per_step?.[b]).filter((x): x is number => typeof x === 'number');
    if (xs.length) row.decode[b] = median(xs);
    const fs = rs.map((r) => r.first?.decode_ms_per_step[b]).filter((x): x is number => typeof x === 'number');
    if (fs.length) row.firstDecode[b] = median(fs);
  }
  const ps = rs.map((r) => r.prefill_ms?.[batches[0]]).filter((x): x is number => typeof x === 'number');
  if (ps.length) row.prefill = median(ps);
  if (row.name === 'machine floor') {
    const f = rs[0] as Record<string, number>;
    row.extra = `sgemm ${f.sgemm_gflops?.toFixed(1)} GFLOP/s; [1,d]x[d,4d] ${f.gemm_b1_gflops?.toFixed(1)}, [8,d]x[d,4d] ${f.gemm_b8_gflops?.toFixed(1)} GFLOP/s; read ${f.read_gbps?.toFixed(1)} GB/s, copy ${f.copy_gbps?.toFixed(1)} GB/s`;
  }
}
const [b1, bN] = [batches[0], batches[batches.length - 1]];
const fmt = (x: number | undefined) => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const lines = [
  `| contender | threads | prefill ms (${values.prefix} tokens) | decode ms/step, batch ${batches.join(' / ')} | batch ${bN} / batch ${b1} | / engine (Node, same threads), batch ${b1} / ${bN} | first repeat, ms/step |`,
  '|---|---|---|---|---|---|---|',
];
for (const row of rows.values()) {
  if (row.name === 'machine floor') {
    lines.push(`| ${row.name} | ${row.threads} | | ${row.extra} | | | |`);
    continue;
  }
  const ref = rows.get(key('engine (wasm, Node)', row.threads));
  const ratio = (b: string) => (ref?.decode[b] && row.decode[b] ? (row.decode[b] / ref.decode[b]).toFixed(2) : '–');
  const self = row.decode[b1] && row.decode[bN] ? (row.decode[bN] / row.decode[b1]).toFixed(2) : '–';
  const first = Object.keys(row.firstDecode).length ? batches.map((b) => fmt(row.firstDecode[b])).join(' / ') : '';
  lines.push(`| ${row.name} | ${row.threads} | ${fmt(row.prefill ?? undefined)} | ${batches.map((b) => fmt(row.decode[b])).join(' / ')} | ${self} | ${ratio(b1)} / ${ratio(bN)} | ${first} |`);
}
process.stdout.write(`\n${lines.join('\n')}\n\nload average at the end: ${load()}\n`);
for (const n of notes) process.stdout.write(`skipped ${n}\n`);
process.exit(0);
