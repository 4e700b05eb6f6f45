/**
 * Shared helpers of the playground e2e tests. They drive the app only through accessible names.
 * E2E_MODEL_URL (optional) points the app at another bundle than the bundled default, and
 * E2E_MODEL_DIR at its folder on disk.
 */
import { expect, type Page } from '@playwright/test';

export const MODEL_URL = process.env.E2E_MODEL_URL;
/** The same bundle on disk, for the file-picker test. */
export const MODEL_DIR = process.env.E2E_MODEL_DIR ?? 'models/default';

/** Open the app with optional query (e.g. "backend=wasm") and hash settings; wait for the model. */
export async function openApp(page: Page, opts: { query?: string; hash?: string } = {}): Promise<void> {
  const hash = new URLSearchParams(opts.hash ?? '');
  if (MODEL_URL && !hash.has('model')) hash.set('model', MODEL_URL);
  const h = hash.toString();
  await page.goto(`/${opts.query ? `?${opts.query}` : ''}${h ? `#${h}` : ''}`);
  await waitReady(page);
}

export async function waitReady(page: Page): Promise<void> {
  await expect(page.getByRole('status')).toContainText('loaded', { timeout: 180_000 });
  await expect(page.getByRole('status')).toContainText(/Ready|Done/, { timeout: 60_000 });
}

/** Click Generate and wait until the run is done. */
export async function generateAndWait(page: Page, timeout = 200_000): Promise<void> {
  const generate = page.getByRole('button', { name: 'Generate' });
  const status = page.getByRole('status');
  await expect(generate).toBeEnabled();
  const before = Number(await status.getAttribute('data-run-id'));
  await generate.click();
  // A new run has started (the status carries the run's number) and finished.
  await expect.poll(async () => Number(await status.getAttribute('data-run-id')), { timeout }).toBeGreaterThan(before);
  await expect(status).toContainText('Done', { timeout });
  await expect(page.getByRole('button', { name: 'Stop' })).toBeDisabled();
}

/** RGBA pixels of a canvas found by its accessible name. */
export async function canvasPixels(page: Page, name: string): Promise<number[]> {
  const canvas = page.getByRole('img', { name, exact: true });
  await expect(canvas).toHaveAttribute('width', '32');
  await expect(canvas).toHaveAttribute('height', '32');
  return canvas.evaluate((c) => {
    const ctx = (c as HTMLCanvasElement).getContext('2d')!;
    return Array.from(ctx.getImageData(0, 0, 32, 32).data);
  });
}

/** The first `rows` rows of RGBA pixels. */
export function rowsOf(px: number[], rows: number): number[] {
  return px.slice(0, rows * 32 * 4);
}

export async function setSmallRun(page: Page, rows: number, samples: number): Promise<void> {
  await page.getByLabel('Rows to keep').fill(String(rows));
  await page.getByLabel('Samples', { exact: true }).fill(String(samples));
  await expect(page.getByLabel('Rows to keep')).toHaveValue(String(rows));
}
