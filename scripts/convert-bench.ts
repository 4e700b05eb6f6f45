/**
 * Benchmark (not a test): converting random iGPT-shaped checkpoints in the page, through "Convert
 * files…", in headless Chromium (Debian's, like the e2e tests). For each shape and precision it
 * reports the wall time of the conversion (files picked -> the bundle listed in OPFS) and the
 * page's memory while it runs: the resident memory of the renderer process (which holds the page
 * and its workers: JS heaps, wasm memory, ArrayBuffers), read from /proc every 100 ms, before and
 * at its peak; and the JS heaps of the convert worker and the page (performance.memory, precise
 * with --enable-precise-memory-info), sampled as often as they answer (a busy worker answers
 * between its tasks only, so its peak may be missed: the sample count is printed).
 *
 * Start the dev server first, then:
 *   npx vite --port 5304 --strictPort &
 *   npx tsx scripts/convert-bench.ts --base http://localhost:5304/ --shape small,medium --dtypes fp16,q4
 *
 * Checkpoints come from `igpt random --shape <shape>` into --work (default a temp folder), made
 * once per shape. Each conversion runs in a fresh browser profile on disk (OPFS on disk, as for a
 * visitor), removed afterwards. Results are printed as a Markdown table and as JSON (--json).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Worker } from '@playwright/test';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: 'http://localhost:5304/' },
    shape: { type: 'string', default: 'small' },
    dtypes: { type: 'string', default: 'fp16,q4' },
    work: { type: 'string' },
    json: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '3600' },
  },
});

const shapes = values.shape!.split(',').map((s) => s.trim()).filter(Boolean);
const dtypes = values.dtypes!.split(',').map((s) => s.trim()).filter(Boolean);
const work = values.work ?? mkdtempSync(join(tmpdir(), 'convert-bench-'));
const timeoutMs = Number(values.timeout) * 1000;

function checkpoint(shape: string): string {
  const dir = join(work, `random-${shape}`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    process.stderr.write(`writing a random ${shape} checkpoint to ${dir}\n`);
    execFileSync('npx', ['tsx', 'src/cli/main.ts', 'random', '--shape', shape, '--seed', '1', '--out', dir], { stdio: 'inherit' });
  }
  return dir;
}

/** The largest resident memory (VmRSS now, or VmHWM its peak) among the Chromium renderer processes this script started (its descendants). */
function rendererRss(field: 'VmRSS' | 'VmHWM'): number {
  const parent = new Map<number, number>();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  let peak = 0;
  for (const pid of parent.keys()) {
    try {
      if (!mine(pid) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // the process ended
    }
  }
  return peak;
}

interface Result {
  shape: string;
  dtype: string;
  checkpointBytes: number;
  bundleBytes: number;
  seconds: number;
  workerHeapPeak: number;
  pageHeapPeak: number;
  rendererRssBefore: number;
  rendererRssPeak: number;
  samples: number;
}

async function convertOnce(shape: string, dtype: string, dir: string): Promise<Result> {
  const profile = mkdtempSync(join(tmpdir(), 'convert-bench-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--enable-precise-memory-info', '--enable-blink-features=ForceEagerMeasureMemory', '--disable-quic', '--no-first-run'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${values.base}?backend=wasm`);
    await page.getByRole('status').filter({ hasText: /Ready|Done/ }).waitFor({ timeout: 300_000 });
    const summary = page.getByText('Real iGPT: download and convert');
    if (!(await page.getByLabel('Hugging Face repo').isVisible())) await summary.click();
    await page.getByLabel('Precision').selectOption(dtype);

    const workers = new Set<Worker>();
    page.on('worker', (w) => workers.add(w));
    for (const w of page.workers()) workers.add(w);
    let workerHeapPeak = 0;
    let pageHeapPeak = 0;
    let samples = 0;
    let sampling = true;
    let measureWorkers = true;
    // The renderer's resident memory, sampled from /proc every 100 ms (the busy worker answers
    // evaluate() late, so its heap is sampled only between its tasks).
    const rssBefore = rendererRss('VmRSS');
    let rssPeak = rssBefore;
    const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rendererRss('VmRSS'))), 100);
    const sampler = (async () => {
      while (sampling) {
        for (const w of workers) {
          if (!/convert/.test(w.url())) continue;
          const used = await w.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? -1).catch(() => -1);
          if (used > 0) workerHeapPeak = Math.max(workerHeapPeak, used);
          else if (measureWorkers) {
            // No performance.memory in workers: the page's memory measurement, attributed per scope.
            const bytes = await page
              .evaluate(async () => {
                const m = await (performance as unknown as { measureUserAgentSpecificMemory(): Promise<{ breakdown: { bytes: number; attribution: { url: string; scope: string }[] }[] }> }).measureUserAgentSpecificMemory();
                return m.breakdown.filter((b) => b.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope' && /convert/.test(a.url))).reduce((n, b) => n + b.bytes, 0);
              })
              .catch(() => -1);
            if (bytes > 0) workerHeapPeak = Math.max(workerHeapPeak, bytes);
            else measureWorkers = false;
          }
        }
        const used = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? -1).catch(() => -1);
        if (used > 0) pageHeapPeak = Math.max(pageHeapPeak, used);
        samples++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const files = ['config.json', 'preprocessor_config.json', 'model.safetensors'].map((f) => join(dir, f));
    const list = page.getByRole('list', { name: 'Converted models' }).getByRole('listitem');
    const t0 = performance.now();
    await page.getByLabel('Checkpoint files to convert').setInputFiles(files);
    await Promise.race([
      list.first().waitFor({ timeout: timeoutMs }),
      page
        .locator('.convert [role="alert"]')
        .waitFor({ timeout: timeoutMs })
        .then(async () => {
          throw new Error(`conversion failed: ${await page.locator('.convert [role="alert"]').textContent()}`);
        }),
    ]);
    const seconds = (performance.now() - t0) / 1000;
    sampling = false;
    clearInterval(rssTimer);
    rssPeak = Math.max(rssPeak, rendererRss('VmRSS'));
    await sampler;
    const rendererRssPeak = rssPeak;
    const bundleText = (await list.first().textContent()) ?? '';
    const bundleBytes = await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const bundles = await (await root.getDirectoryHandle('igpt')).getDirectoryHandle('bundles');
      let n = 0;
      for await (const [, h] of (bundles as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (h.kind !== 'directory') continue;
        for await (const [name, f] of (h as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
          if (f.kind === 'file' && name !== 'entry.json') n += (await (f as FileSystemFileHandle).getFile()).size;
        }
      }
      return n;
    });
    process.stderr.write(`${shape} ${dtype}: ${seconds.toFixed(1)} s; ${bundleText.replace(/\s+/g, ' ').trim()}\n`);
    const checkpointBytes = files.reduce((n, f) => n + statSync(f).size, 0);
    return { shape, dtype, checkpointBytes, bundleBytes, seconds, workerHeapPeak, pageHeapPeak, rendererRssBefore: rssBefore, rendererRssPeak, samples };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const mb = (n: number) => (n > 0 ? `${(n / 2 ** 20).toFixed(0)} MiB` : 'n/a');
const results: Result[] = [];
const load = loadavg().map((x) => x.toFixed(2)).join(', ');
for (const shape of shapes) {
  const dir = checkpoint(shape);
  for (const dtype of dtypes) results.push(await convertOnce(shape, dtype, dir));
}
const loadAfter = loadavg().map((x) => x.toFixed(2)).join(', ');
console.log(`${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}, load average before ${load}, after ${loadAfter}\n`);
console.log('| shape | precision | checkpoint | bundle | wall time | renderer RSS before | renderer RSS peak | convert worker JS heap peak (samples) | page JS heap peak |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.shape} | ${r.dtype} | ${mb(r.checkpointBytes)} | ${mb(r.bundleBytes)} | ${r.seconds.toFixed(1)} s | ${mb(r.rendererRssBefore)} | ${mb(r.rendererRssPeak)} | ${mb(r.workerHeapPeak)} (${r.samples}) | ${mb(r.pageHeapPeak)} |`);
}
if (values.json) console.log(JSON.stringify(results, null, 2));
if (!values.work) rmSync(work, { recursive: true, force: true });
