/**
 * Converting iGPT checkpoints in the page. A local server answers like the Hugging Face hub
 * (test/hubserver.ts: the API's file list with sizes and LFS sha256, resolve URLs redirected to a
 * "CDN", Range requests, a log of requests). Each checkpoint is converted in the page (Model panel,
 * "Download and convert"); the bundle it writes to OPFS equals, byte for byte, what `igpt export`
 * writes from the same hub (igpt.json up to its creation time); the converted model generates, and
 * opens again from OPFS after the server is gone. A connection dropped half-way is resumed with a
 * Range request. A truncated checkpoint, a wrong sha256 and a storage quota too small (the page's
 * storage estimate made small) give clear messages, leave no bundle in OPFS and keep the model in
 * use working.
 *
 * Checkpoints: the reference fixture's pytorch_model.bin (a real transformers ImageGPT file, 2
 * layers) and a random 2-layer iGPT-shaped model.safetensors from `igpt random --shape tiny`.
 */
import { copyFile, mkdir, readdir, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { FIXTURE_DIR } from '../test/fixture';
import { startHubServer, type HubServer } from '../test/hubserver';
import { runCli } from '../test/testio';
import { generateAndWait, setSmallRun, waitReady } from './app-helpers';


let server: HubServer;
let tmp: string;
let repos: Record<string, string>;

/** What `igpt export <repo>` writes from the local hub: file name -> bytes. */
const cliBundles = new Map<string, Map<string, Buffer>>();

async function exportWithCli(repo: string, args: string[]): Promise<Map<string, Buffer>> {
  const out = join(tmp, 'cli', repo.replace('/', '_') + args.join('_'));
  const r = await runCli(['export', repo, '--out', out, ...args], { ...process.env, HF_ENDPOINT: server.url, IGPT_CACHE: join(tmp, 'cli-cache') });
  expect(r.code, r.stderr).toBe(0);
  const files = new Map<string, Buffer>();
  for (const name of await readdir(out)) files.set(name, await readFile(join(out, name)));
  return files;
}

/** One page (one browser context, so one OPFS) for the whole file: the tests build on each other. */
let page: Page;

test.beforeAll(async ({ browser }, testInfo) => {
  page = await (await browser.newContext({ baseURL: testInfo.project.use.baseURL })).newPage();
  tmp = testInfo.outputPath('convert');
  const pt = join(tmp, 'repos', 'fixture-pt');
  await mkdir(pt, { recursive: true });
  for (const f of ['config.json', 'preprocessor_config.json', 'pytorch_model.bin']) await copyFile(join(FIXTURE_DIR, f), join(pt, f));
  const st = join(tmp, 'repos', 'random-st');
  const random = await runCli(['random', '--shape', 'tiny', '--seed', '7', '--out', st]);
  expect(random.code, random.stderr).toBe(0);
  const cut = join(tmp, 'repos', 'truncated');
  await mkdir(cut, { recursive: true });
  for (const f of ['config.json', 'preprocessor_config.json', 'model.safetensors']) await copyFile(join(st, f), join(cut, f));
  // Consistent with the hub's listing (size, sha256), but cut short: the converter must refuse it.
  await truncate(join(cut, 'model.safetensors'), 300_000);
  repos = { 'test/fixture-pt': pt, 'test/random-st': st, 'test/truncated': cut };
  server = await startHubServer({ repos });
  cliBundles.set('pt', await exportWithCli('test/fixture-pt', ['--dtype', 'fp32', '--attention-scale', 'transformers']));
  cliBundles.set('st', await exportWithCli('test/random-st', ['--dtype', 'q4', '--attention-scale', 'exact']));
  server.requests.length = 0;
});

test.afterAll(async () => {
  await page?.context().close();
  await server?.close().catch(() => undefined);
});

test.describe.configure({ mode: 'serial' });

/** The Model panel, and the name of the model in use shown there. */
const modelRegion = (page: Page) => page.getByRole('region', { name: 'Model' });
const modelName = (page: Page) => modelRegion(page).locator('.model-info dt:text-is("Name") + dd');

async function openConvert(page: Page): Promise<void> {
  const summary = page.getByText('Real iGPT: download and convert');
  if (!(await page.getByLabel('Hugging Face repo').isVisible())) await summary.click();
  await expect(page.getByLabel('Hugging Face repo')).toBeVisible();
}

/** Every file of every bundle folder in OPFS (igpt/bundles/<id>/...), as numbers. */
async function opfsBundles(page: Page): Promise<Record<string, Record<string, number[]>>> {
  return page.evaluate(async () => {
    const out: Record<string, Record<string, number[]>> = {};
    const root = await navigator.storage.getDirectory();
    const igpt = await root.getDirectoryHandle('igpt', { create: true });
    const bundles = await igpt.getDirectoryHandle('bundles', { create: true });
    for await (const [id, h] of (bundles as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      if (h.kind !== 'directory') continue;
      out[id] = {};
      for await (const [name, f] of (h as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (f.kind === 'file') out[id][name] = Array.from(new Uint8Array(await (await (f as FileSystemFileHandle).getFile()).arrayBuffer()));
      }
    }
    return out;
  });
}

/** The OPFS bundle equals the CLI's: graph files byte for byte, igpt.json but for provenance.createdAt. */
function expectSameBundle(opfs: Record<string, number[]>, cli: Map<string, Buffer>): void {
  expect(Object.keys(opfs).filter((n) => n !== 'entry.json').sort()).toEqual([...cli.keys()].sort());
  for (const [name, bytes] of cli) {
    const mine = Buffer.from(opfs[name]);
    if (name === 'igpt.json') {
      const a = JSON.parse(mine.toString('utf8'));
      const b = JSON.parse(bytes.toString('utf8'));
      expect(typeof a.provenance.createdAt).toBe('string');
      delete a.provenance.createdAt;
      delete b.provenance.createdAt;
      expect(a).toEqual(b);
    } else {
      expect(mine.length, name).toBe(bytes.length);
      expect(mine.equals(bytes), `${name} differs from igpt export's`).toBe(true);
    }
  }
}

async function convertRepo(page: Page, repo: string, scale: string, precision: string): Promise<void> {
  await openConvert(page);
  await page.getByLabel('Hugging Face repo').fill(repo);
  await page.getByLabel('Attention scale').selectOption(scale);
  await page.getByLabel('Precision').selectOption(precision);
  // The sizes are shown before anything is downloaded.
  await expect(page.getByText(/^Download [\d.]+ (KB|MB)( \([\d.]+ KB already here\))? · converted/)).toBeVisible();
  await page.getByRole('button', { name: 'Download and convert' }).click();
}

/** A fresh load of the app with the small fixture bundle in use and the local hub as endpoint. */
async function openWithTinyModel(): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`/?backend=wasm&hub=${encodeURIComponent(server.url)}#model=/e2e/bundles/tiny/`);
  await waitReady(page);
  await expect(modelName(page)).toHaveText('imagegpt-tiny-a');
}

async function generateSmall(page: Page): Promise<void> {
  await setSmallRun(page, 31, 1);
  await generateAndWait(page);
}

test('a pytorch_model.bin from the hub is converted in the page, equals igpt export, generates, and opens offline', async () => {
  await openWithTinyModel();
  await convertRepo(page, 'test/fixture-pt', 'transformers', 'fp32');
  await expect(modelName(page)).toHaveText('fixture-pt', { timeout: 120_000 });
  await waitReady(page);
  await expect(modelRegion(page)).toContainText('converted, kept in this browser');
  await expect(page.getByRole('list', { name: 'Converted models' })).toContainText('test/fixture-pt@main');
  const bundles = await opfsBundles(page);
  const id = Object.keys(bundles).find((k) => k.includes('fixture-pt'))!;
  expect(id).toBeTruthy();
  expectSameBundle(bundles[id], cliBundles.get('pt')!);
  // Downloaded through the hub's API and resolve URLs.
  expect(server.requests.some((r) => r.path === '/api/models/test/fixture-pt/revision/main' && r.status === 200)).toBe(true);
  expect(server.requests.some((r) => r.path.endsWith('/pytorch_model.bin') && r.status === 200)).toBe(true);
  await generateSmall(page);
});

test('dropped connections resume with Range requests, also after a reload; the safetensors bundle equals igpt export, and opens with the hub gone', async () => {
  await openWithTinyModel();
  const size = (await readFile(join(repos['test/random-st'], 'model.safetensors'))).length;
  const STEP = 100_000;
  const cdnGets = () => server.requests.filter((r) => r.method === 'GET' && r.path === '/cdn/test/random-st/main/model.safetensors');
  const rangeStart = (r: { range?: string }) => Number(/^bytes=(\d+)-$/.exec(r.range ?? '')?.[1] ?? NaN);
  server.requests.length = 0;
  // Every connection drops after 100 kB, more often than the page retries: the download stops with
  // a message, keeping what it has.
  server.cutAfter('model.safetensors', STEP, 5);
  await convertRepo(page, 'test/random-st', 'exact', 'q4');
  await expect(modelRegion(page).getByRole('alert')).toContainText(/model\.safetensors: the connection dropped 5 times; what was downloaded is kept/, { timeout: 60_000 });
  const first = cdnGets();
  expect(first).toHaveLength(5);
  expect(first[0].range).toBeUndefined();
  // Each retry asked for the rest only, from where the previous one stopped: the server sent
  // 100 kB each time, but a browser may drop the last bytes it had not yet handed to the page when
  // the connection closes, so a retry starts at most 100 kB after the one before, never before it.
  let stored = 0;
  for (let i = 1; i < 5; i++) {
    expect(first[i].status).toBe(206);
    expect(rangeStart(first[i])).toBeGreaterThanOrEqual(stored);
    expect(rangeStart(first[i])).toBeLessThanOrEqual(stored + STEP);
    stored = rangeStart(first[i]);
  }
  expect(stored).toBeGreaterThan(0);
  await expect(modelName(page)).toHaveText('imagegpt-tiny-a');

  // After a reload the sizes say what is already here, and the download resumes at that byte.
  await openWithTinyModel();
  server.requests.length = 0;
  await openConvert(page);
  await page.getByLabel('Hugging Face repo').fill('test/random-st');
  await expect(page.getByText(/\([\d.]+ KB already here\)/)).toBeVisible();
  await convertRepo(page, 'test/random-st', 'exact', 'q4');
  await expect(modelName(page)).toHaveText('random-st', { timeout: 120_000 });
  await waitReady(page);
  const second = cdnGets();
  expect(second).toHaveLength(1);
  expect(second[0].status).toBe(206);
  // It resumes where the fifth connection left off (no byte asked for twice beyond what was lost).
  expect(rangeStart(second[0])).toBeGreaterThanOrEqual(rangeStart(first[4]));
  expect(rangeStart(second[0])).toBeLessThanOrEqual(rangeStart(first[4]) + STEP);
  expect(rangeStart(second[0])).toBeLessThan(size);
  const bundles = await opfsBundles(page);
  const id = Object.keys(bundles).find((k) => k.includes('random-st') && k.includes('q4'))!;
  expectSameBundle(bundles[id], cliBundles.get('st')!);

  // The hub is gone: a reload opens the converted model from OPFS and generates.
  await server.close();
  await page.reload();
  await waitReady(page);
  await expect(modelName(page)).toHaveText('random-st');
  await expect(modelRegion(page)).toContainText('converted, kept in this browser');
  await generateSmall(page);
  // Opening the other converted model is one click.
  await openConvert(page);
  await page.getByRole('button', { name: /^Open fixture-pt/ }).click();
  await expect(modelName(page)).toHaveText('fixture-pt');
  await waitReady(page);
  server = await startHubServer({ repos });
});

test('a truncated checkpoint and a wrong sha256 give clear messages, leave no bundle, and keep the current model working', async () => {
  await openWithTinyModel();
  await expect(modelName(page)).toHaveText('imagegpt-tiny-a');
  const before = Object.keys(await opfsBundles(page)).sort();

  await convertRepo(page, 'test/truncated', 'exact', 'fp32');
  await expect(modelRegion(page).getByRole('alert')).toContainText(/model\.safetensors.*(truncated|bytes)/i, { timeout: 60_000 });
  expect(Object.keys(await opfsBundles(page)).sort()).toEqual(before);

  server.lieSha256('model.safetensors', 'ab'.repeat(32));
  await convertRepo(page, 'test/random-st', 'exact', 'fp32');
  await expect(modelRegion(page).getByRole('alert')).toContainText(/sha256 mismatch/, { timeout: 60_000 });
  expect(Object.keys(await opfsBundles(page)).sort()).toEqual(before);
  const list = page.getByRole('list', { name: 'Converted models' });
  await expect(list.getByRole('listitem')).toHaveCount(before.length);
  await expect(list).not.toContainText('fp32, exact');

  // The model in use still runs.
  await expect(modelName(page)).toHaveText('imagegpt-tiny-a');
  await generateSmall(page);
});

/** The folders under igpt/downloads/ in OPFS, each with its file names. */
async function opfsDownloads(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate(async () => {
    const out: Record<string, string[]> = {};
    const root = await navigator.storage.getDirectory();
    const igpt = await root.getDirectoryHandle('igpt', { create: true });
    const downloads = await igpt.getDirectoryHandle('downloads', { create: true });
    for await (const [key, h] of (downloads as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      if (h.kind !== 'directory') continue;
      out[key] = [];
      for await (const [name] of (h as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) out[key].push(name);
    }
    return out;
  });
}

test('a storage quota too small is refused before any download, leaves nothing in OPFS, and keeps the current model working', async () => {
  // A second page of the same browser context (the same OPFS) whose storage estimate answers a
  // 10 GB quota with 50 kB left.
  const small = await page.context().newPage();
  await small.addInitScript(() => {
    Object.defineProperty(StorageManager.prototype, 'estimate', { configurable: true, value: async () => ({ quota: 10e9, usage: 10e9 - 50_000 }) });
  });
  try {
    await small.goto(`/?backend=wasm&hub=${encodeURIComponent(server.url)}#model=/e2e/bundles/tiny/`);
    await waitReady(small);
    await expect(modelName(small)).toHaveText('imagegpt-tiny-a');
    const bundlesBefore = Object.keys(await opfsBundles(small)).sort();
    const downloadsBefore = await opfsDownloads(small);
    server.requests.length = 0;
    const alert = modelRegion(small).getByRole('alert');

    // A hub repo: the message names the bytes needed (the download, plus the fp16 bundle: half the
    // fp32 weights) and the bytes left, and nothing is fetched.
    const files = ['config.json', 'preprocessor_config.json', 'pytorch_model.bin'].map((f) => join(repos['test/fixture-pt'], f));
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
    const bytes = (n: number) => `${n.toLocaleString('en-US')} bytes`;
    const bundle = Math.round(sizes[2] / 2);
    await convertRepo(small, 'test/fixture-pt', 'exact', 'fp16');
    await expect(alert).toContainText(`browser storage: not enough space: converting needs about`, { timeout: 60_000 });
    await expect(alert).toContainText(`(${bytes(sizes[0] + sizes[1] + sizes[2] + bundle)}) and the browser allows only`);
    await expect(alert).toContainText('allows only 50.0 kB (50,000 bytes) more for this site (quota 10.0 GB (10,000,000,000 bytes), used');
    await expect(alert).toContainText('Nothing was downloaded or written');
    expect(server.requests.filter((r) => r.method === 'GET' && /\/(resolve|cdn)\//.test(r.path))).toEqual([]);

    // Picked files: refused the same way (the bundle is all they need), before the converter reads them.
    await small.getByLabel('Checkpoint files to convert').setInputFiles(files);
    await expect(alert).toContainText(`converting needs about ${(bundle / 1e6).toFixed(2)} MB (${bytes(bundle)}) and the browser allows only`);
    await expect(modelName(small)).toHaveText('imagegpt-tiny-a');

    // Nothing usable-looking, nor any new partial download, is left in OPFS.
    expect(Object.keys(await opfsBundles(small)).sort()).toEqual(bundlesBefore);
    expect(await opfsDownloads(small)).toEqual(downloadsBefore);
    await expect(small.getByRole('list', { name: 'Converted models' }).getByRole('listitem')).toHaveCount(bundlesBefore.length);

    // The model in use still runs.
    await generateSmall(small);
  } finally {
    await small.close();
  }
});

test('"Convert files…" converts picked Hugging Face files the same way, and the model opens', async () => {
  await openWithTinyModel();
  await openConvert(page);
  await page.getByLabel('Attention scale').selectOption('transformers');
  await page.getByLabel('Precision').selectOption('fp32');
  const dir = repos['test/fixture-pt'];
  await page.getByLabel('Checkpoint files to convert').setInputFiles(['config.json', 'preprocessor_config.json', 'pytorch_model.bin'].map((f) => join(dir, f)));
  await expect(modelName(page)).toHaveText('local files', { timeout: 120_000 });
  await waitReady(page);
  const bundles = await opfsBundles(page);
  const id = Object.keys(bundles).find((k) => k.startsWith('local_files'))!;
  const cli = cliBundles.get('pt')!;
  // The same graph as igpt export's of the same files; igpt.json differs only in name and source.
  expect(Buffer.from(bundles[id]['model.onnx']).equals(cli.get('model.onnx')!)).toBe(true);
  const mine = JSON.parse(Buffer.from(bundles[id]['igpt.json']).toString('utf8'));
  const theirs = JSON.parse(cli.get('igpt.json')!.toString('utf8'));
  expect(mine.provenance.source).toBe('local files');
  for (const m of [mine, theirs]) {
    delete m.name;
    delete m.provenance.source;
    delete m.provenance.revision;
    delete m.provenance.createdAt;
  }
  expect(mine).toEqual(theirs);
  await expect(page.getByRole('list', { name: 'Converted models' }).getByRole('listitem')).toHaveCount(3);
  // The open conversion panel has no serious or critical accessibility problems.
  const { violations } = await new AxeBuilder({ page }).include('.model-convert').analyze();
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`)).toEqual([]);
});
