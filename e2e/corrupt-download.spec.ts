/**
 * A corrupt download is never cached. A model host (another origin, with CORS, caching headers like
 * GitHub Pages') serves a copy of the fixture bundle whose model.onnx has the right size but wrong
 * bytes: loading it from the Model panel fails with the sha256 message, and nothing of it is in
 * Cache Storage or in the cached-models list. Once the host serves the right file, the same URL
 * loads, and is cached.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { MODEL_DIR, openApp } from './app-helpers';
import { serveStatic, type StaticServer } from './static-server';

const NAME = 'tiny-served-copy';

let host: StaticServer;
let dir: string;
let good: Buffer;

test.beforeAll(async ({}, testInfo) => {
  dir = testInfo.outputPath('bundle');
  await cp(MODEL_DIR, dir, { recursive: true });
  const manifestPath = join(dir, 'igpt.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  manifest.name = NAME; // tells it apart from the fixture bundle the app opens with
  await writeFile(manifestPath, JSON.stringify(manifest));
  good = await readFile(join(dir, 'model.onnx'));
  const bad = Buffer.from(good);
  for (let i = bad.length >> 1; i < (bad.length >> 1) + 64; i++) bad[i] ^= 0xff;
  await writeFile(join(dir, 'model.onnx'), bad);
  host = await serveStatic(dir, { cors: true });
});

test.afterAll(async () => {
  await host?.close();
});

async function cacheKeys(page: Page): Promise<string[]> {
  return page.evaluate(async () => (await (await caches.open('igpt-bundles-v2')).keys()).map((r) => r.url));
}

async function loadFromUrlField(page: Page, url: string): Promise<void> {
  const details = page.locator('details.model-load');
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await page.getByText('Load another model').click();
  await page.getByLabel('Model URL').fill(url);
  await page.getByRole('button', { name: 'Load URL' }).click();
}

test('a model.onnx with the right size but wrong bytes fails with the sha256 message and is not cached; the fixed file loads', async ({ page }) => {
  await openApp(page);
  const status = page.getByRole('status');
  const url = host.url;
  const cachedEntry = page.locator(`.cached-name[title="${url}"]`);

  await loadFromUrlField(page, url);
  const error = page.locator('.model-panel .error-text');
  await expect(error).toContainText(`${url}model.onnx: sha256 mismatch`);
  await expect(error).toContainText('(corrupt or replaced file)');
  // The model already loaded stays.
  await expect(page.getByRole('alert').filter({ hasText: 'sha256 mismatch' })).toContainText('Still using imagegpt-tiny-a');
  await expect(status).not.toContainText(NAME);
  // The bad file came from the host, twice: the second time past the HTTP cache.
  const fetched = host.log.filter((r) => r.path === '/model.onnx');
  expect(fetched.map((r) => r.status)).toEqual([200, 200]);
  expect(fetched[1].headers['cache-control']).toBe('no-cache');
  expect((await cacheKeys(page)).filter((k) => k.startsWith(url))).toEqual([]);
  await expect(cachedEntry).toHaveCount(0);

  // The host now serves the right file; the browser's HTTP cache still holds the bad one.
  await writeFile(join(dir, 'model.onnx'), good);
  await loadFromUrlField(page, url);
  await expect(status).toContainText(`Model ${NAME} loaded`);
  await expect(error).toHaveCount(0);
  // It came from the HTTP cache first (no request), failed the check, then from the host.
  const refetched = host.log.filter((r) => r.path === '/model.onnx').slice(2);
  expect(refetched.map((r) => [r.status, r.headers['cache-control']])).toEqual([[200, 'no-cache']]);
  const keys = (await cacheKeys(page)).filter((k) => k.startsWith(url));
  expect(keys.some((k) => k.startsWith(`${url}model.onnx?`))).toBe(true);
  expect(keys).toContain(`${url}igpt.json`);
  await expect(cachedEntry).toHaveCount(1);
  // The list names the model and says where it came from.
  await expect(cachedEntry).toHaveText(`${NAME} ${url}`);
});
