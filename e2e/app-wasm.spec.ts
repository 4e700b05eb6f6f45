/** ?backend=wasm: the app runs on onnxruntime's wasm backend and says so. */
import { expect, test } from '@playwright/test';
import { canvasPixels, generateAndWait, openApp, rowsOf, setSmallRun } from './app-helpers';

test('?backend=wasm runs on wasm with a visible notice', async ({ page }) => {
  await openApp(page, { query: 'backend=wasm' });
  await expect(page.getByRole('status')).toContainText('wasm');
  await expect(page.getByText('WebGPU is not in use').first()).toBeVisible();
  await setSmallRun(page, 30, 2);
  await generateAndWait(page);
  const prompt = await canvasPixels(page, 'Prompt');
  for (const name of ['Sample 1', 'Sample 2']) expect(rowsOf(await canvasPixels(page, name), 30)).toEqual(rowsOf(prompt, 30));
});

/** Samples the run's progress bar in the page every 25 ms until the run ends. */
async function watchProgress(page: import('@playwright/test').Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { seen: number[] };
    w.seen = [];
    const id = setInterval(() => {
      const bar = document.querySelector('.run-stats progress') as HTMLProgressElement | null;
      if (bar) w.seen.push(bar.value);
      if (document.querySelector('[role="status"]')?.getAttribute('data-run') !== 'running' && w.seen.length > 2) clearInterval(id);
    }, 25);
  });
}

test('on wasm, pixels stream while the run goes on, and Stop ends it early', async ({ page }) => {
  await openApp(page, { query: 'backend=wasm' });
  await setSmallRun(page, 0, 8);
  await watchProgress(page);
  await page.getByRole('button', { name: 'Generate' }).click();
  const stats = page.locator('.run-stats');
  // Progress shows several values while running, before the end.
  await expect.poll(() => page.evaluate(() => new Set((window as unknown as { seen: number[] }).seen.filter((v) => v > 0.1 && v < 1)).size), { timeout: 120_000 }).toBeGreaterThanOrEqual(3);
  await expect(page.getByRole('status')).toContainText('Generating');
  // While it runs, the readout says how long the rest will take at the speed so far.
  await expect(stats).toContainText(/tokens\/s per sample · (about \d+ (s|min)|under a second) left · [\d.]+ s$/);
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByRole('status')).toContainText('Stopped', { timeout: 10_000 });
  const painted = Number((await stats.textContent())!.match(/(\d+)\/1024 pixels/)![1]);
  expect(painted).toBeGreaterThan(0);
  expect(painted).toBeLessThan(1024);
  await expect(page.getByRole('button', { name: 'Generate again' })).toBeEnabled();
});

test('on wasm, Stop during the prefill of a long prompt ends the run before its first pixel', async ({ page }) => {
  // The bundled 6-layer model reading 31 rows (993 tokens) on wasm: seconds of prefill, in chunks.
  await page.goto('/?backend=wasm#rows=31&n=2&model=' + encodeURIComponent('/models/default/'));
  await expect(page.getByRole('status')).toContainText(/Ready/, { timeout: 180_000 });
  await page.getByRole('button', { name: 'Generate' }).click();
  const stats = page.locator('.run-stats');
  await expect(stats).toContainText(/Reading the prompt · \d+\/993 tokens/, { timeout: 60_000 });
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByRole('status')).toContainText('Stopped', { timeout: 15_000 });
  const acted = Date.now() - t0;
  await expect(stats).toContainText('0/32 pixels');
  // The elapsed time ticked while reading (it is not frozen at 0.0 s).
  expect(Number((await stats.textContent())!.match(/([\d.]+) s$/)![1])).toBeGreaterThan(0);
  test.info().annotations.push({ type: 'stop during prefill acted after', description: `${acted} ms` });
});
