/**
 * The bundled default model (models/default) opens with the app and completes an image. The other
 * app tests run on the small fixture bundle to keep SwiftShader runs short (see playwright.config.ts).
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { decodeImage, imageToTokens } from '../src/image/index.ts';
import { canvasPixels, generateAndWait, rowsOf, setSmallRun, waitReady } from './app-helpers';

const manifest = JSON.parse(readFileSync(new URL('../models/default/igpt.json', import.meta.url), 'utf8'));
const IMAGE = 'public/examples/red-apple.png';

test('the app opens on the bundled default model and completes an uploaded image', async ({ page }) => {
  await page.goto('/');
  await waitReady(page);
  await expect(page.getByRole('status')).toContainText(`Model ${manifest.name} loaded`);
  await page.getByLabel('Upload image').setInputFiles(IMAGE);
  await expect(page.locator('.prompt-view figcaption')).toContainText('red-apple.png');
  await setSmallRun(page, 30, 1);
  await generateAndWait(page);

  const { tokens } = imageToTokens(decodeImage(new Uint8Array(readFileSync(IMAGE)), 'red-apple.png'), manifest.palette.clusters);
  const expected: number[] = [];
  for (const t of tokens) expected.push(...manifest.palette.rgb[t], 255);
  const px = await canvasPixels(page, 'Sample 1');
  expect(rowsOf(px, 30)).toEqual(rowsOf(expected, 30));
  const palette = new Set(manifest.palette.rgb.map((c: number[]) => c.join(',')));
  for (let i = 30 * 32; i < 1024; i++) expect(palette.has(px.slice(4 * i, 4 * i + 3).join(','))).toBe(true);
});
