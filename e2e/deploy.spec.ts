/**
 * The production build: dist/ carries the bundled default model and serves the playground from any
 * static host, cross-origin isolated so that onnxruntime's wasm backend gets threads.
 * (a) A plain static server without COOP/COEP headers, at a sub-path (IGPT_BASE=/igpt/): the
 *     service worker isolates the page after one reload; without service workers the app still runs.
 * (b) `npm run preview`, which sends the headers itself.
 * The runs are short (30 rows kept, 1 sample) on wasm.
 */
import { expect, test, type Page } from '@playwright/test';
import { generateAndWait, setSmallRun, waitReady } from './app-helpers';
import { buildApp, listFiles, startPreview, type Preview } from './built-app';
import { serveStatic, type StaticServer } from './static-server';

/** The engine's default when it chooses (src/engine/engine.ts): half the cores, at most 4, when isolated. */
const defaultThreads = (cores: number, isolated: boolean) => (isolated ? Math.min(8, cores) : 1);

async function pageState(page: Page) {
  return page.evaluate(async () => ({
    isolated: crossOriginIsolated,
    cores: navigator.hardwareConcurrency,
    controller: navigator.serviceWorker?.controller?.scriptURL ?? null,
    scopes: navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).map((r) => r.scope) : [],
  }));
}

/** Loads the default model from `url` on wasm, checks the thread count, optionally runs a short completion. */
async function loadModel(page: Page, url: string, threads: (cores: number) => number, what: string, generate = true): Promise<void> {
  const t0 = Date.now();
  await page.goto(url);
  await waitReady(page);
  const loadedMs = Date.now() - t0;
  await expect(page.getByRole('status')).toContainText('Model emoji-igpt loaded: wasm');
  const { cores } = await pageState(page);
  const n = threads(cores);
  // Cross-origin isolated on a machine with more than one core: wasm runs on more than one thread.
  if (cores > 1) expect(n, what).toBeGreaterThan(1);
  await expect(page.locator('.model-info')).toContainText(`· ${n} ${n === 1 ? 'thread' : 'threads'}`);
  let run = '';
  if (generate) {
    await setSmallRun(page, 30, 1);
    const t1 = Date.now();
    await generateAndWait(page);
    run = `, 2-row completion ${Date.now() - t1} ms`;
  }
  console.log(`${what}: ${cores} cores, ${n} wasm thread(s); page to model ready ${loadedMs} ms${run}`);
}

test.describe('(a) a static host without COOP/COEP headers, at a sub-path', () => {
  let host: StaticServer;
  let outDir: string;
  /** Requests for the page itself (first visit, reloads). */
  const pageLoads = () => host.log.filter((r) => r.path === '/igpt/').length;

  test.beforeAll(async () => {
    test.setTimeout(300_000);
    outDir = await buildApp('igpt', '/igpt/');
    host = await serveStatic(outDir, { mount: '/igpt/' });
  });
  test.afterAll(async () => {
    await host?.close();
  });

  test('the service worker isolates the page after one reload; the default model loads and generates on wasm threads', async ({ page }) => {
    test.slow(); // two model loads on wasm
    await loadModel(page, `${host.url}?backend=wasm`, (cores) => defaultThreads(cores, true), 'static host, first visit', false);
    const first = await pageState(page);
    expect(first.isolated).toBe(true);
    expect(first.controller).toBe(`${host.url}coi-serviceworker.js?coep=credentialless`);
    expect(first.scopes).toEqual([host.url]);
    expect(pageLoads()).toBe(2); // the first visit and one reload
    // Everything came from under the base path; the default model from the build.
    expect(host.log.filter((r) => r.status === 404)).toEqual([]);
    expect(host.log.map((r) => r.path)).toEqual(expect.arrayContaining(['/igpt/models/default/igpt.json', '/igpt/models/default/model.onnx']));

    // Next visit: served through the worker at once, no reload. Two threads asked for, so that the
    // threaded build is exercised even on a one-core machine (the default is every core).
    await loadModel(page, `${host.url}?backend=wasm&threads=2`, () => 2, 'static host, ?threads=2');
    expect((await pageState(page)).isolated).toBe(true);
    expect(pageLoads()).toBe(3);
  });

  test('without service workers the app runs single-threaded and does not reload', async ({ browser }) => {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    const before = pageLoads();
    await page.goto(`${host.url}?backend=wasm`);
    await waitReady(page);
    await expect(page.locator('.model-info')).toContainText('· 1 thread');
    expect((await pageState(page)).isolated).toBe(false);
    expect(pageLoads()).toBe(before + 1);
    await context.close();
  });
});

test.describe('(b) npm run preview', () => {
  let preview: Preview;
  let outDir: string;

  test.beforeAll(async () => {
    test.setTimeout(300_000);
    outDir = await buildApp('root');
    preview = await startPreview(outDir);
  });
  test.afterAll(async () => {
    await preview?.close();
  });

  test('the build holds the default model (and not the e2e fixture) and the service worker', async () => {
    const files = await listFiles(outDir);
    expect(files.filter((f) => f.startsWith('models/'))).toEqual(['models/default/igpt.json', 'models/default/model.onnx']);
    expect(files.filter((f) => /e2e|bundles|tiny/.test(f))).toEqual([]);
    expect(files).toContain('coi-serviceworker.js');
    expect(files).toContain('index.html');
  });

  test('sends COOP/COEP; the page is isolated without a service worker; the default model loads and generates on wasm', async ({ page, request }) => {
    test.slow();
    const manifest = await request.get(`${preview.url}models/default/igpt.json`);
    expect(manifest.headers()['content-type']).toMatch(/json/);
    expect((await manifest.json()).name).toBe('emoji-igpt');
    const doc = await request.get(preview.url);
    expect(doc.headers()['cross-origin-opener-policy']).toBe('same-origin');
    expect(doc.headers()['cross-origin-embedder-policy']).toBe('credentialless');

    await loadModel(page, `${preview.url}?backend=wasm`, (cores) => defaultThreads(cores, true), 'npm run preview');
    const state = await pageState(page);
    expect(state.isolated).toBe(true);
    expect(state.scopes).toEqual([]); // isolated by the headers: no service worker registered
  });
});
