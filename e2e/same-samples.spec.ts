/**
 * One run plan for the app and the CLI: the same prompt, rows, samples, temperatures and seed give
 * the same tokens in the page as from `igpt complete`, and Export PNG is the CLI's --out grid,
 * byte for byte. And an image worker that cannot load ends an upload with a clear error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { MODEL_DIR, canvasPixels, generateAndWait, openApp } from './app-helpers';

const CAT = 'public/examples/cat-face.png';

test('the app and igpt complete give the same samples and the same grid PNG', async ({ page }) => {
  // Compare mode, two temperatures x two samples, 28 rows kept, seed 7; wasm in both.
  await openApp(page, { query: 'backend=wasm&debug=1', hash: 'n=2&seed=7&rows=28&cmp=0.6,1' });
  await page.getByLabel('Upload image').setInputFiles(CAT);
  await expect(page.locator('.prompt-view figcaption')).toContainText('cat-face.png');
  await generateAndWait(page);
  const appPng = await page.evaluate(() => (window as unknown as { igptDebug: { runGridPng(): number[] } }).igptDebug.runGridPng());

  const out = join(mkdtempSync(join(tmpdir(), 'igpt-e2e-')), 'grid.png');
  const cli = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'complete', '--model', MODEL_DIR, CAT, '--rows', '28', '--samples', '2', '--temperature', '0.6,1', '--seed', '7', '--json', '--out', out],
    { encoding: 'utf8' },
  );
  expect(cli.status, cli.stderr).toBe(0);
  const run = JSON.parse(cli.stdout) as { samples: { temperature: number; tokens: number[] }[] };
  expect(run.samples.map((s) => s.temperature)).toEqual([0.6, 0.6, 1, 1]);

  // Each sample canvas shows the CLI's tokens in the model's palette.
  const rgb = (JSON.parse(readFileSync(join(MODEL_DIR, 'igpt.json'), 'utf8')) as { palette: { rgb: number[][] } }).palette.rgb;
  for (let i = 0; i < 4; i++) {
    const px = await canvasPixels(page, `Sample ${i + 1}`);
    const shown = run.samples[i].tokens.map((_, s) => px.slice(4 * (28 * 32 + s), 4 * (28 * 32 + s) + 3));
    expect(shown, `sample ${i + 1}`).toEqual(run.samples[i].tokens.map((t) => rgb[t]));
  }
  expect(Buffer.from(appPng).equals(readFileSync(out))).toBe(true);
});

test('an image worker that fails to load ends an upload with a clear error', async ({ page }) => {
  await page.route(/image\.worker/, (route) => route.fulfill({ status: 500, body: 'broken' }));
  await page.goto(`/#model=${encodeURIComponent(process.env.E2E_MODEL_URL ?? '/models/default/')}`);
  await expect(page.getByRole('status')).toContainText('loaded', { timeout: 180_000 });
  await page.getByLabel('Upload image').setInputFiles(CAT);
  const error = page.getByText(/Could not use the image: The image worker failed to load/).first();
  await expect(error).toBeVisible({ timeout: 30_000 });
  // Nothing waits forever: the status says what is missing, and the upload can be tried again.
  await expect(page.getByRole('status')).toContainText('Waiting for an image');
  await expect(page.getByLabel('Upload image')).toBeEnabled();
});
