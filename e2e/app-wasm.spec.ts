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
