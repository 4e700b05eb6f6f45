/**
 * The reference fixture's logits through onnxruntime-web's WebGPU EP in Chromium (SwiftShader
 * adapter here, no GPU needed), with the same tolerance as on wasm: 1e-4 absolute in fp32.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';

const expected = JSON.parse(readFileSync(new URL('../test/data/imagegpt-tiny-a/expected.json', import.meta.url), 'utf8'));
const TOL = 1e-4;

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

type ParityApi = Record<string, (...args: unknown[]) => Promise<unknown>>;
const call = <T>(page: Page, fn: string, ...args: unknown[]) =>
  page.evaluate(([f, a]) => (globalThis as unknown as { parity: ParityApi }).parity[f as string](...(a as unknown[])), [fn, args] as const) as Promise<T>;

test.describe.configure({ mode: 'serial' });

test.describe('engine parity in Chromium', () => {
  let page: Page;
  test.beforeAll(async ({ browser }) => {
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.log('[page]', m.text());
    });
    await page.goto('/e2e/pages/parity.html');
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  });

  test('WebGPU: batch and full-sequence logits, cache, greedy and bits match the reference', async () => {
    const info = await call<{ backend: string; adapter: string }>(page, 'load', '/e2e/bundles/tiny/', 'webgpu');
    expect(info.backend).toBe('webgpu');
    console.log(`WebGPU adapter: ${info.adapter}`);

    const batch = await call<number[]>(page, 'logits', expected.batch_input_ids);
    expect(maxAbsDiff(batch, expected.batch_logits.flat(2))).toBeLessThan(TOL);

    const full = await call<number[]>(page, 'logits', [expected.full_input_ids]);
    expected.full_logits_positions.forEach((p: number, j: number) => {
      expect(maxAbsDiff(full.slice(p * 512, (p + 1) * 512), expected.full_logits[j])).toBeLessThan(TOL);
    });

    const rows = expected.batch_input_ids.map((r: number[]) => r.slice(0, 24));
    const stepwise = await call<number[]>(page, 'stepwise', rows);
    const direct = await call<number[]>(page, 'logits', rows);
    expect(maxAbsDiff(stepwise, direct)).toBeLessThan(TOL);

    const prompt = expected.full_input_ids.slice(1, expected.greedy_prefix_len);
    expect(await call<number[]>(page, 'greedy', prompt, 32)).toEqual(expected.greedy_new_tokens);

    const bits = await call<number>(page, 'score', expected.image32_tokens);
    expect(Math.abs(bits - expected.image32_bits_per_token)).toBeLessThan(TOL);
  });

  test('WebGPU and wasm draw the same seeded samples', async () => {
    const prompt = expected.image32_tokens.slice(0, 30 * 32);
    const gpu = await call<number[][]>(page, 'sample', prompt, [1, 2, 3], 48);
    await call(page, 'load', '/e2e/bundles/tiny/', 'wasm');
    const cpu = await call<number[][]>(page, 'sample', prompt, [1, 2, 3], 48);
    // Equal up to float ties: on this random model the top probabilities are far apart.
    expect(gpu).toEqual(cpu);
    expect(gpu[0]).not.toEqual(gpu[1]);
  });
});
