/**
 * For the stage: presentation mode on a 1920x1080 projector, recording a run, accessibility of the
 * main states (axe-core), and the backend the app picks on a machine whose only WebGPU adapter is
 * software (SwiftShader here).
 */
import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { generateAndWait, openApp, setSmallRun } from './app-helpers';

async function seriousViolations(page: Page, state: string): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${state}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('auto picks wasm over a software WebGPU adapter and says why', async ({ page }) => {
  await openApp(page);
  await expect(page.getByRole('status')).toContainText('wasm');
  await expect(page.getByText(/software emulation on the CPU, slower than wasm/).first()).toBeVisible();
});

test('presentation at 1920x1080: large samples, the prompt once, a progress bar that stays, a recording to download', async ({ page }) => {
  await page.setViewportSize({ width: 1920, height: 1080 });
  await openApp(page, { query: 'backend=wasm', hash: 'rows=28&n=4&seed=5' });
  await page.getByRole('button', { name: 'Presentation' }).click();
  // No banners on the projector (the wasm notice stays in the model panel).
  await expect(page.getByText('WebGPU is not in use')).toHaveCount(0);
  await expect(page.getByRole('img', { name: 'Prompt', exact: true })).toHaveCount(0);
  for (const name of ['Original', 'Sample 1', 'Sample 2', 'Sample 3', 'Sample 4']) {
    const box = (await page.getByRole('img', { name, exact: true }).boundingBox())!;
    expect(box.width, name).toBeGreaterThanOrEqual(360);
    expect(box.y + box.height, name).toBeLessThanOrEqual(1080);
  }
  await page.getByRole('button', { name: 'Record next run' }).click();
  await generateAndWait(page);
  const stats = page.locator('.run-stats.large');
  await expect(stats).toBeVisible();
  await expect(stats).toContainText(/Done · 128\/128 pixels · [\d.]+ tokens\/s per sample · [\d.]+ s/);
  await expect(stats.getByRole('progressbar', { name: 'Generation progress' })).toBeVisible();
  const link = page.getByRole('link', { name: /Download recording/ });
  await expect(link).toBeVisible({ timeout: 30_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const bytes = readFileSync((await download.path())!);
  expect(bytes.length).toBeGreaterThan(1000);
  expect([...bytes.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3]); // EBML: a WebM file
  expect(download.suggestedFilename()).toMatch(/\.webm$/);
});

test('axe-core finds no serious or critical problems in the main states', async ({ page }) => {
  await openApp(page, { query: 'backend=wasm' });
  const found = await seriousViolations(page, 'loaded');
  await setSmallRun(page, 31, 2);
  await generateAndWait(page);
  found.push(...(await seriousViolations(page, 'after a run')));
  await page.getByRole('tab', { name: 'Draw' }).click();
  found.push(...(await seriousViolations(page, 'drawing')));
  await page.getByRole('button', { name: 'Presentation' }).click();
  found.push(...(await seriousViolations(page, 'presentation')));
  expect(found).toEqual([]);
});

test('keyboard: arrows on a focused tab leave the temperature alone; the drawing canvas and palette work from the keyboard', async ({ page }) => {
  await openApp(page, { hash: 't=1' });
  await page.getByRole('tab', { name: 'Draw' }).click();
  await page.getByRole('tab', { name: 'Draw' }).press('ArrowRight');
  await expect(page.getByLabel('Temperature')).toHaveValue('1');
  const palette = page.getByRole('img', { name: 'Palette' });
  await palette.focus();
  const before = await page.locator('.colour-row').textContent();
  await palette.press('ArrowRight');
  await palette.press('ArrowDown');
  await expect(page.locator('.colour-row')).not.toHaveText(before!);
  const canvas = page.getByRole('img', { name: 'Drawing canvas' });
  await canvas.focus();
  const pixel = () => canvas.evaluate((c) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(18, 16, 1, 1).data));
  const old = await pixel();
  await page.getByRole('button', { name: '1px' }).click();
  await canvas.focus();
  await canvas.press('ArrowRight');
  await canvas.press('ArrowRight');
  await canvas.press('Space');
  await expect.poll(pixel).not.toEqual(old);
  await expect(page.getByLabel('Temperature')).toHaveValue('1');
});
