/**
 * Screenshots of the playground's main states into docs/screenshots/.
 * Start the dev server first (npx vite --port 5199), then:
 *   npm run screenshots -- [baseUrl] [modelUrl]
 * Uses Debian's Chromium like the e2e tests; on a machine whose only WebGPU adapter is software
 * (SwiftShader) the app runs on wasm.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from '@playwright/test';

const base = process.argv[2] ?? 'http://localhost:5199/';
const model = process.argv[3];
const OUT = join(import.meta.dirname, '../docs/screenshots');
mkdirSync(OUT, { recursive: true });

function url(hash: Record<string, string>, query = ''): string {
  const h = new URLSearchParams(hash);
  if (model) h.set('model', model);
  return `${base}${query ? `?${query}` : ''}#${h.toString()}`;
}

async function ready(page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: /Ready|Done/ }).waitFor({ timeout: 180_000 });
}

async function run(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.getByRole('status').filter({ hasText: 'Done' }).waitFor({ timeout: 600_000 });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--enable-unsafe-webgpu', '--no-sandbox'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 980 }, deviceScaleFactor: 1 });

// 1. Main view after a run, with a hover card and the likelihood scored.
await page.goto(url({ rows: '28', n: '4', seed: '7', t: '1' }));
await ready(page);
await page.screenshot({ path: join(OUT, 'loaded.png') });
await run(page);
await page.getByRole('button', { name: 'Score image' }).click();
await page.locator('.scores').waitFor({ timeout: 120_000 });
const s1 = page.getByRole('img', { name: 'Sample 1', exact: true });
const box = (await s1.boundingBox())!;
await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.9);
await page.screenshot({ path: join(OUT, 'samples.png') });

// 2. Uncertainty view.
await page.getByRole('button', { name: 'Uncertainty' }).click();
await page.mouse.move(0, 0);
await page.screenshot({ path: join(OUT, 'uncertainty.png') });
await page.getByRole('button', { name: 'Colours' }).click();

// 3. Drawing.
await page.getByRole('tab', { name: 'Draw' }).click();
await page.screenshot({ path: join(OUT, 'drawing.png'), clip: { x: 0, y: 60, width: 700, height: 520 } });

// 4. Compare mode.
await page.goto(url({ rows: '29', n: '3', seed: '11', cmp: '0.6,1,1.4' }));
await page.reload();
await ready(page);
await run(page);
await page.screenshot({ path: join(OUT, 'compare.png') });

// 5. Presentation mode on a 1920x1080 projector, after a run.
const stage = await browser.newPage({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
await stage.goto(url({ rows: '16', n: '4', seed: '3', t: '0.9' }));
await ready(stage);
await stage.keyboard.press('p');
await run(stage);
await stage.screenshot({ path: join(OUT, 'presentation.png') });
await stage.close();

// 6. wasm fallback notice.
await page.goto(url({ rows: '28', n: '2' }, 'backend=wasm'));
await page.reload();
await ready(page);
await page.screenshot({ path: join(OUT, 'wasm.png') });

await browser.close();
console.log(`screenshots in ${OUT}`);
