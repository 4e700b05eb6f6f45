/** Chromium launched without --enable-unsafe-webgpu: no adapter, so the app falls back to wasm. */
import { expect, test } from '@playwright/test';
import { generateAndWait, openApp, setSmallRun } from './app-helpers';

test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  },
});

test('without WebGPU the app falls back to wasm and says why', async ({ page }) => {
  await openApp(page);
  await expect(page.getByRole('status')).toContainText('wasm');
  const notice = page.getByText('WebGPU is not in use').first();
  await expect(notice).toBeVisible();
  await setSmallRun(page, 31, 1);
  await generateAndWait(page);
});
