/**
 * The playground in real Chromium with WebGPU (SwiftShader). Runs are kept short: 30 or 31 kept
 * rows = 64 or 32 new tokens.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { imageToTokens, decodeImage } from '../src/image/index.ts';
import { MODEL_DIR, MODEL_URL, canvasPixels, generateAndWait, openApp as openAuto, rowsOf, setSmallRun, waitReady } from './app-helpers';

/** These tests exercise WebGPU: on SwiftShader (a software adapter) "auto" would pick wasm, so force it. */
const openApp = (page: Page, opts: { query?: string; hash?: string } = {}) =>
  openAuto(page, { ...opts, query: ['backend=webgpu', opts.query].filter(Boolean).join('&') });

const CAT = 'public/examples/cat-face.png';

test('the default model loads on start, on WebGPU, with a prompt shown', async ({ page }) => {
  await openApp(page);
  const status = page.getByRole('status');
  await expect(status).toContainText('WebGPU');
  await expect(page.getByRole('img', { name: 'Prompt', exact: true })).toHaveAttribute('width', '32');
  await expect(page.getByRole('button', { name: 'Generate' })).toBeEnabled();
  await expect(page.getByRole('button', { name: 'Stop' })).toBeDisabled();
  for (const label of ['Temperature', 'Seed', 'Rows to keep']) await expect(page.getByLabel(label)).toBeVisible();
  await expect(page.getByLabel('Samples', { exact: true })).toBeVisible();
});

test('upload with Rows to keep 30 and 2 samples: kept rows equal the quantized upload', async ({ page, request }) => {
  await openApp(page);
  await page.getByLabel('Upload image').setInputFiles(CAT);
  await expect(page.locator('.prompt-view figcaption')).toContainText('cat-face.png');
  await setSmallRun(page, 30, 2);

  // The app's prompt is the project's image pipeline applied with the model's palette.
  const manifestUrl = new URL('igpt.json', new URL(MODEL_URL ?? '/models/default/', page.url())).href;
  const manifest = await (await request.get(manifestUrl)).json();
  const { tokens } = imageToTokens(decodeImage(new Uint8Array(readFileSync(CAT)), 'cat-face.png'), manifest.palette.clusters);
  const expected: number[] = [];
  for (const t of tokens) expected.push(...manifest.palette.rgb[t], 255);
  expect(await canvasPixels(page, 'Prompt')).toEqual(expected);

  // Watch the UI thread while generating: no task over 50 ms.
  await page.evaluate(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => w.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  await generateAndWait(page);
  expect(await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks)).toEqual([]);
  await expect(page.getByRole('img', { name: 'Sample 3', exact: true })).toHaveCount(0);
  for (const name of ['Sample 1', 'Sample 2']) {
    const px = await canvasPixels(page, name);
    expect(rowsOf(px, 30)).toEqual(rowsOf(expected, 30));
    // Every generated pixel is a palette colour.
    const palette = new Set(manifest.palette.rgb.map((c: number[]) => c.join(',')));
    for (let i = 30 * 32; i < 1024; i++) expect(palette.has(px.slice(4 * i, 4 * i + 3).join(','))).toBe(true);
  }
  await expect(page.locator('.run-stats')).toContainText('64/64');

  // Hovering a generated pixel shows the candidate colours with probabilities.
  const s1 = page.getByRole('img', { name: 'Sample 1', exact: true });
  const box = (await s1.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.98);
  const tip = page.getByRole('tooltip');
  await expect(tip).toContainText('pixel (16, 31)');
  await expect(tip).toContainText('entropy');
  await expect(tip.locator('.candidates li')).not.toHaveCount(0);
  await expect(tip.locator('.candidates li').first()).toContainText('%');
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.1);
  await expect(tip).toContainText('kept from the prompt');

  // The uncertainty view paints entropy instead of colours, and switches back.
  const colours = await canvasPixels(page, 'Sample 1');
  await page.getByRole('button', { name: 'Uncertainty' }).click();
  expect(await canvasPixels(page, 'Sample 1')).not.toEqual(colours);
  await page.getByRole('button', { name: 'Colours' }).click();
  expect(await canvasPixels(page, 'Sample 1')).toEqual(colours);

  // Likelihood of the uploaded image: bits per token and per dimension (÷ 3).
  await page.getByRole('button', { name: 'Score image' }).click();
  const scores = page.locator('.scores dd');
  await expect(scores).toHaveCount(2, { timeout: 120_000 });
  const [bpt, bpd] = (await scores.allTextContents()).map(Number);
  expect(bpt).toBeGreaterThan(0);
  expect(bpd).toBeCloseTo(bpt / 3, 2);
  expect(await canvasPixels(page, 'Surprise')).not.toEqual(new Array(4096).fill(0));
});

test('Stop ends a run early and Generate works again', async ({ page }) => {
  await openApp(page);
  await setSmallRun(page, 16, 1);
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('status')).toContainText('Generating');
  await expect.poll(async () => Number((await page.locator('.run-stats').textContent())?.match(/(\d+)\/512 pixels/)?.[1] ?? 0), { timeout: 120_000 }).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByRole('status')).toContainText('Stopped', { timeout: 60_000 });
  const painted = Number((await page.locator('.run-stats').textContent())!.match(/(\d+)\/512 pixels/)![1]);
  expect(painted).toBeLessThan(512);
  await setSmallRun(page, 31, 1);
  await generateAndWait(page);
});

test('presentation mode and its keys', async ({ page }) => {
  await openApp(page, { hash: 't=1&seed=99' });
  await page.getByRole('button', { name: 'Presentation' }).click();
  await expect(page.getByRole('button', { name: 'Fullscreen (F)' })).toBeVisible();
  // The prompt is shown once, as the original next to the samples.
  await expect(page.getByRole('img', { name: 'Original', exact: true })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Prompt', exact: true })).toHaveCount(0);
  await page.locator('body').press('ArrowRight');
  await expect(page.getByLabel('Temperature')).toHaveValue('1.05');
  await page.locator('body').press('ArrowLeft');
  await page.locator('body').press('ArrowLeft');
  await expect(page.getByLabel('Temperature')).toHaveValue('0.95');
  await page.locator('body').press('r');
  await expect(page.getByText('seed 99', { exact: true })).toHaveCount(0);
  await page.locator('body').press('p');
  await expect(page.getByRole('button', { name: 'Fullscreen (F)' })).toHaveCount(0);
});

test('a bundle loads from picked files; a downloaded bundle is cached and can be deleted', async ({ page }) => {
  await openApp(page);
  const name = (await page.getByRole('status').textContent())!.match(/Model (.+?) loaded/)![1];
  await page.getByText('Load another model').click();
  // The model that was just downloaded is listed with its size.
  const cached = page.locator('.cached li').filter({ hasText: name });
  await expect(cached).toHaveCount(1);
  await expect(cached).toContainText(/\d+(\.\d)? (B|KB|MB|GB)/);
  await cached.getByRole('button', { name: `Delete cached model ${name}` }).click();
  await expect(page.locator('.cached li').filter({ hasText: name })).toHaveCount(0);

  const dir = MODEL_DIR;
  await page.getByLabel('Model files').setInputFiles(readdirSync(dir).map((f) => join(dir, f)));
  await expect(page.getByRole('status')).toContainText(`Model ${name} loaded`, { timeout: 180_000 });
  await expect(page.locator('.model-info')).toContainText('local files');
  await setSmallRun(page, 31, 1);
  await generateAndWait(page);
});

test('the same seed gives the same pixels, another seed other pixels', async ({ page }) => {
  test.setTimeout(420_000);
  await openApp(page);
  await setSmallRun(page, 31, 1);
  await page.getByLabel('Seed').fill('1111');
  await generateAndWait(page);
  const a = await canvasPixels(page, 'Sample 1');
  await generateAndWait(page);
  const again = await canvasPixels(page, 'Sample 1');
  expect(again).toEqual(a);
  await page.getByLabel('Seed').fill('2222');
  await generateAndWait(page);
  const b = await canvasPixels(page, 'Sample 1');
  expect(rowsOf(b, 31)).toEqual(rowsOf(a, 31));
  expect(b).not.toEqual(a);
});

test('drawing then generating', async ({ page }) => {
  await openApp(page);
  await page.getByRole('tab', { name: 'Draw' }).click();
  await page.getByRole('button', { name: 'Clear' }).click();
  const cleared = await canvasPixels(page, 'Prompt');
  // Pick a colour from the palette and draw a diagonal stroke across the bottom kept rows.
  const palette = page.getByRole('img', { name: 'Palette' });
  await palette.click({ position: { x: 200, y: 60 } });
  const canvas = page.getByRole('img', { name: 'Drawing canvas' });
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.1);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.9, box.y + box.height * 0.5, { steps: 12 });
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.95, { steps: 12 });
  await page.mouse.up();
  const drawn = await canvasPixels(page, 'Prompt');
  expect(drawn).not.toEqual(cleared);
  expect(await canvasPixels(page, 'Drawing canvas')).toEqual(drawn);
  // Undo and redo walk back and forth.
  await page.getByRole('button', { name: 'Undo' }).click();
  expect(await canvasPixels(page, 'Prompt')).toEqual(cleared);
  await page.getByRole('button', { name: 'Redo' }).click();
  expect(await canvasPixels(page, 'Prompt')).toEqual(drawn);

  await setSmallRun(page, 31, 1);
  await generateAndWait(page);
  expect(rowsOf(await canvasPixels(page, 'Sample 1'), 31)).toEqual(rowsOf(drawn, 31));
});

test('compare mode: one row per temperature, the same seeds in every row', async ({ page }) => {
  await openApp(page);
  await setSmallRun(page, 31, 1);
  await page.getByLabel('Compare mode').check();
  // Two rows at the same temperature must match pixel for pixel (same seeds), a third differs in temperature.
  await page.getByLabel('Compare at').fill('1, 1, 0.5');
  await expect(page.locator('.sample-row')).toHaveCount(3);
  await generateAndWait(page);
  await expect(page.getByRole('img', { name: 'Sample 4', exact: true })).toHaveCount(0);
  await expect(page.locator('.row-label')).toHaveText(['T = 1.00', 'T = 1.00', 'T = 0.50']);
  const [r1, r2, r3] = [
    await canvasPixels(page, 'Sample 1'),
    await canvasPixels(page, 'Sample 2'),
    await canvasPixels(page, 'Sample 3'),
  ];
  expect(r2).toEqual(r1);
  expect(rowsOf(r3, 31)).toEqual(rowsOf(r1, 31));
  expect(page.url()).toContain('cmp=1,1,0.5');

  // Export: one PNG with the original and the samples, 8x, one row per temperature (the grid of `igpt complete --out`).
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^igpt-.*\.png$/);
  const png = decodeImage(new Uint8Array(readFileSync(await download.path())), 'export.png');
  expect(png.height).toBe(3 * 256 + 4 * 16);
  expect(png.width).toBe(2 * 256 + 3 * 16);
});

test('the URL reproduces a run', async ({ page, context }) => {
  test.setTimeout(420_000);
  await openApp(page);
  await page.getByRole('button', { name: 'Example: Cat' }).click();
  await expect(page.locator('.prompt-view figcaption')).toContainText('Cat');
  await setSmallRun(page, 31, 1);
  await page.getByLabel('Seed').fill('4321');
  await page.getByLabel('Temperature').fill('0.8');
  await generateAndWait(page);
  const first = await canvasPixels(page, 'Sample 1');
  const prompt = await canvasPixels(page, 'Prompt');
  await expect.poll(() => page.url()).toContain('seed=4321');
  const url = page.url();
  expect(url).toContain('img=');
  expect(url).toContain('t=0.8');

  const other = await context.newPage();
  await other.goto(url);
  await waitReady(other);
  await expect(other.getByLabel('Seed')).toHaveValue('4321');
  await expect(other.getByLabel('Rows to keep')).toHaveValue('31');
  expect(await canvasPixels(other, 'Prompt')).toEqual(prompt);
  await generateAndWait(other);
  expect(await canvasPixels(other, 'Sample 1')).toEqual(first);
});

test('a bad image and a bad model URL give messages; the app still generates', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page);
  const before = await canvasPixels(page, 'Prompt');
  const modelLine = (await page.getByRole('status').textContent())!.split(' loaded')[0];

  await page.getByLabel('Upload image').setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not an image') });
  await expect(page.getByRole('alert').filter({ hasText: 'broken.png' })).toBeVisible();
  expect(await canvasPixels(page, 'Prompt')).toEqual(before);

  await page.getByText('Load another model').click();
  await page.getByLabel('Model URL').fill('/no-such-model/');
  await page.getByRole('button', { name: 'Load URL' }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'no-such-model/igpt.json' });
  await expect(alert).toBeVisible({ timeout: 30_000 });
  await expect(alert).toContainText('Could not load the model');
  await expect(page.getByRole('status')).toContainText(`${modelLine} loaded`);

  await setSmallRun(page, 31, 1);
  await generateAndWait(page);
  expect(rowsOf(await canvasPixels(page, 'Sample 1'), 31)).toEqual(rowsOf(before, 31));
});

test('an image can be pasted or dropped', async ({ page }) => {
  await openApp(page);
  const send = (kind: 'paste' | 'drop', file: string) =>
    page.evaluate(
      async ([kind, file]) => {
        const blob = await (await fetch(`/examples/${file}`)).blob();
        const dt = new DataTransfer();
        dt.items.add(new File([blob], file, { type: 'image/png' }));
        if (kind === 'paste') {
          document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
        } else {
          const target = document.querySelector('.input-panel')!;
          target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
          target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }
      },
      [kind, file] as const,
    );
  await send('paste', 'frog.png');
  await expect(page.locator('.prompt-view figcaption')).toContainText('frog.png');
  const frog = await canvasPixels(page, 'Prompt');
  await send('drop', 'rocket.png');
  await expect(page.locator('.prompt-view figcaption')).toContainText('rocket.png');
  expect(await canvasPixels(page, 'Prompt')).not.toEqual(frog);
});

test('a lost WebGPU device recovers on the next run', async ({ page }) => {
  test.setTimeout(420_000);
  await openApp(page, { query: 'debug=1', hash: 'rows=31&n=1&seed=555' });
  await expect(page.getByRole('status')).toContainText('WebGPU');
  await generateAndWait(page);
  const before = await canvasPixels(page, 'Sample 1');
  await page.evaluate(() => (window as unknown as { igptDebug: { loseDevice: () => Promise<void> } }).igptDebug.loseDevice());
  await expect(page.getByText('The GPU device was lost')).toBeVisible({ timeout: 30_000 });
  await generateAndWait(page, 300_000);
  await expect(page.getByRole('status')).toContainText('WebGPU');
  expect(await canvasPixels(page, 'Sample 1')).toEqual(before);
});
