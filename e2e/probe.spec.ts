/**
 * The Probe view on the bundled default model and the bundled emoji set (2 images per class, half
 * held out, seed 3): it draws the chart and the table, and its numbers and its CSV equal those of
 * `igpt probe --json` with the same options. The backend is the one the app picks (auto): wasm
 * where the only WebGPU adapter is a software one, as on the test machines.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { encodeRgbPng } from '../src/image/index.ts';
import { probeCsv, type ProbeJson } from '../src/probe/report.ts';
import { waitReady } from './app-helpers';

const PER_CLASS = 2;
const SPLIT = 0.5;
const SEED = 3;
const manifest = JSON.parse(readFileSync(new URL('../models/default/igpt.json', import.meta.url), 'utf8'));

const emoji = JSON.parse(readFileSync(new URL('../public/probe/emoji.json', import.meta.url), 'utf8')) as { classes: string[]; labels: number[] };

let cliRun: Promise<ProbeJson> | null = null;

/** `igpt probe --json` with the view's options: started once, by the first test that needs it, while its browser works. */
function cli(): Promise<ProbeJson> {
  cliRun ??= promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'probe', '--model', 'models/default', '--data', 'emoji', '--per-class', String(PER_CLASS), '--split', String(SPLIT), '--seed', String(SEED), '--json'],
    { encoding: 'utf8', maxBuffer: 16 << 20 },
  ).then(({ stdout }) => JSON.parse(stdout) as ProbeJson);
  return cliRun;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

async function runProbeView(page: Page, query: string): Promise<void> {
  void cli().catch(() => undefined);
  await page.goto(`/${query}`);
  await waitReady(page);
  await page.getByRole('button', { name: 'Probe', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Linear probe' })).toBeVisible();
  await expect(page.getByText(`Model: ${manifest.name}`)).toBeVisible();
  await expect(page.getByRole('combobox', { name: 'Data set' })).toHaveValue('emoji');
  await expect(page.getByText('1807 images in 9 classes')).toBeVisible({ timeout: 60_000 });
  const first = emoji.labels.filter((l) => l === 0).length;
  await expect(page.getByText(`${emoji.classes[0]}: ${first}`, { exact: true })).toBeVisible();
  await page.getByLabel('Images per class').fill(String(PER_CLASS));
  await page.getByLabel('Test split').selectOption(String(SPLIT));
  await page.getByLabel('Probe seed').fill(String(SEED));
  await page.getByRole('button', { name: 'Run probe' }).click();
  const progress = page.getByRole('status', { name: 'Probe progress' });
  await expect(progress).toContainText(/Features: \d+ \/ \d+ images|Probes|Done/, { timeout: 60_000 });
  await expect(progress).toContainText('Done', { timeout: 200_000 });
}

async function checkAgainstCli(page: Page): Promise<ProbeJson> {
  const want = await cli();
  const layers = manifest.config.nLayer + 1;
  expect(want.layers).toHaveLength(layers);
  // The table: one row per layer, train and test accuracy as the CLI computed them.
  const table = page.getByRole('table', { name: 'Accuracy by layer' });
  const rows = table.getByRole('row');
  await expect(rows).toHaveCount(layers + 1);
  for (const l of want.layers) {
    const cells = rows.nth(l.layer + 1).getByRole('cell');
    await expect(rows.nth(l.layer + 1).getByRole('rowheader')).toContainText(`${l.layer} (${l.name})`);
    await expect(cells.nth(0)).toHaveText(pct(l.train_accuracy));
    await expect(cells.nth(1)).toHaveText(pct(l.accuracy));
  }
  await expect(rows.nth(want.best_layer + 1).getByRole('rowheader')).toContainText('best');
  await expect(page.getByText(`${want.counts.images} images (${want.counts.train} train, ${want.counts.test} test)`)).toBeVisible();
  // The chart: a point per layer, the chance line, the best layer marked.
  const chart = page.getByRole('img', { name: /Test accuracy by layer/ });
  await expect(chart).toHaveAttribute('aria-label', `Test accuracy by layer: best layer ${want.best_layer} at ${pct(want.layers[want.best_layer].accuracy)}, chance ${pct(want.chance)}`);
  await expect(chart.locator('circle.point')).toHaveCount(layers);
  await expect(chart.getByText(`chance ${pct(want.chance)}`)).toBeVisible();
  await expect(chart.getByText(`best: ${pct(want.layers[want.best_layer].accuracy)}`)).toBeVisible();
  return want;
}

test('the Probe view (auto backend) equals igpt probe --json, and exports the CSV', async ({ page }) => {
  await runProbeView(page, '');
  const want = await checkAgainstCli(page);
  await expect(page.getByRole('status', { name: 'Probe progress' })).toContainText(/on (wasm|webgpu)/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(download.suggestedFilename()).toBe(`igpt-probe-${manifest.name.replace(/[^\w.-]+/g, '_')}-seed${SEED}.csv`);
  const csv = readFileSync(await download.path(), 'utf8');
  expect(csv).toBe(probeCsv(want));
  expect(csv.trim().split('\n')).toHaveLength(manifest.config.nLayer + 2);
  const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()]);
  const bytes = readFileSync(await png.path());
  expect([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
  expect(bytes.readUInt32BE(16)).toBe(1280); // the chart's 640 px at 2x
});

test('a folder of my own: classes and counts are shown, a file that cannot be read is listed and left out', async ({ page }) => {
  const root = join(mkdtempSync(join(tmpdir(), 'igpt-probe-')), 'shapes');
  const png = ([r, g, b]: readonly number[]) => {
    const rgb = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < 32 * 32; i++) rgb.set([r, g, b], 3 * i);
    return encodeRgbPng({ width: 32, height: 32, data: rgb });
  };
  for (const [cls, colour] of [['red', [220, 30, 30]], ['blue', [30, 50, 220]]] as const) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(root, cls, `${i}.png`), png(colour));
  }
  writeFileSync(join(root, 'blue', 'broken.png'), 'not a png');
  await page.goto('/?backend=wasm');
  await waitReady(page);
  await page.getByRole('button', { name: 'Probe', exact: true }).click();
  await page.getByRole('combobox', { name: 'Data set' }).selectOption('folder');
  await page.getByLabel('Choose a data folder').setInputFiles(root);
  await expect(page.getByText('6 images in 2 classes')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText('blue: 3', { exact: true })).toBeVisible();
  await expect(page.getByText('red: 3', { exact: true })).toBeVisible();
  await expect(page.getByText('1 file could not be read (left out)')).toBeVisible();
  await expect(page.getByText(/blue\/broken\.png: /)).toBeVisible();
  await expect(page.getByRole('combobox', { name: 'Data set' })).toContainText('Folder: shapes');
  await expect(page.getByRole('button', { name: 'Run probe' })).toBeEnabled();
  const { violations } = await new AxeBuilder({ page }).analyze();
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
});

test('Stop ends a probe run between batches; Run works again', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await waitReady(page);
  await page.getByRole('button', { name: 'Probe', exact: true }).click();
  await expect(page.getByText('1807 images in 9 classes')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByLabel('Images per class')).toHaveValue('4');
  await page.getByRole('button', { name: 'Run probe' }).click();
  const progress = page.getByRole('status', { name: 'Probe progress' });
  await expect(progress).toContainText(/Features: [1-9]\d* \/ \d+ images/, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(progress).toContainText(/Stopped \(\d+ images featurised, 0 layers fitted\)/, { timeout: 60_000 });
  await expect(page.getByRole('table', { name: 'Accuracy by layer' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Run probe' })).toBeEnabled();
  await expect(page.getByRole('button', { name: 'Export CSV' })).toBeDisabled();
});
