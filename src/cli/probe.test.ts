import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../engine/rng.ts';
import { runCli } from '../../test/testio.ts';

const FIXTURE = fileURLToPath(new URL('../../test/data/imagegpt-tiny-a', import.meta.url));
const COLOURS: Record<string, [number, number, number]> = { red: [220, 30, 30], green: [30, 200, 40], blue: [30, 50, 220] };

let tmp: string;
let model: string;
let data: string;

/** 16x16: 60-95% of the top half in the class colour, the other pixels random colours. */
function image(rgb: [number, number, number], rng: Rng): Uint8Array {
  const px = new Uint8Array(16 * 16 * 3);
  const cover = 0.6 + 0.35 * rng.nextFloat();
  for (let i = 0; i < 256; i++) {
    const top = i < 128 && rng.nextFloat() < cover;
    for (let c = 0; c < 3; c++) px[i * 3 + c] = top ? rgb[c] : Math.floor(rng.nextFloat() * 256);
  }
  return encode({ width: 16, height: 16, data: px, channels: 3, depth: 8 });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'igpt-probe-'));
  model = join(tmp, 'bundle');
  const r = await runCli(['export', FIXTURE, '--out', model, '--attention-scale', '0.5', '--features', '--json']);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).features.graph).toBe('model.features.onnx');
  data = join(tmp, 'data');
  const rng = new Rng(4);
  for (const [name, rgb] of Object.entries(COLOURS)) {
    mkdirSync(join(data, name), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(data, name, `${i}.png`), image(rgb, rng));
  }
  writeFileSync(join(data, 'blue', 'broken.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]));
  writeFileSync(join(data, 'README.txt'), 'not an image');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('igpt probe', () => {
  it('a labelled folder whose class is the top half colour: the best layer reaches >= 95%', async () => {
    const cache = join(tmp, 'features.bin');
    const argv = ['probe', '--model', model, '--data', data, '--split', '0.25', '--seed', '1', '--cache', cache, '--json'];
    const r = await runCli(argv);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ model, data, backend: 'wasm', features_from: 'features graph of the bundle', classes: ['blue', 'green', 'red'] });
    expect(out.counts).toMatchObject({ images: 60, train: 45, test: 15 });
    expect(out.counts.per_class).toEqual([
      { class: 'blue', train: 15, test: 5 },
      { class: 'green', train: 15, test: 5 },
      { class: 'red', train: 15, test: 5 },
    ]);
    expect(out.chance).toBeCloseTo(1 / 3, 10);
    expect(out.layers.map((l: { layer: number; name: string }) => [l.layer, l.name])).toEqual([
      [0, 'embeddings'],
      [1, 'block 1'],
      [2, 'block 2'],
    ]);
    const best = out.layers[out.best_layer];
    expect(best.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(best.accuracy).toBe(Math.max(...out.layers.map((l: { accuracy: number }) => l.accuracy)));
    for (const l of out.layers) {
      expect(l.train_accuracy).toBeGreaterThanOrEqual(0);
      expect(l.train_accuracy).toBeLessThanOrEqual(1);
    }
    expect(out.bad_files.map((b: { path: string }) => b.path)).toEqual(['blue/broken.png']);
    expect(out.skipped_files).toEqual([{ path: 'README.txt', reason: 'not inside a class sub-folder' }]);

    // Again from the cached features: the same report.
    const again = JSON.parse((await runCli(argv)).stdout);
    expect(again.features_from).toBe(`cache ${cache}`);
    expect(again.layers).toEqual(out.layers);
  });

  it('usage and input errors', async () => {
    expect((await runCli(['probe', '--model', model])).code).toBe(2);
    expect((await runCli(['probe', '--model', model, '--data', data, '--split', '1'])).code).toBe(2);
    const missing = await runCli(['probe', '--model', model, '--data', join(tmp, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: no such folder/);
    const one = join(tmp, 'one');
    mkdirSync(join(one, 'only'), { recursive: true });
    writeFileSync(join(one, 'only', 'a.png'), image([1, 2, 3], new Rng(1)));
    const single = await runCli(['probe', '--model', model, '--data', one]);
    expect(single.code).toBe(1);
    expect(single.stderr).toMatch(/needs at least 2 class sub-folders/);
  });
});
