import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSeed } from '../engine/plan.ts';
import { GRID_STYLE } from '../image/index.ts';
import { runCli } from '../../test/testio.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'test/data/imagegpt-tiny-a');
const IMAGE = join(FIXTURE, 'image32.png');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as { image32_bits_per_token: number; image32_tokens: number[] };

let tmp: string;
let model: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'igpt-cli-'));
  model = join(tmp, 'bundle');
  const r = await runCli(['export', FIXTURE, '--out', model, '--attention-scale', 'transformers', '--dtype', 'fp32,fp16']);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('igpt score', () => {
  it('scores images; image32 matches the reference bits per token', async () => {
    const odd = join(FIXTURE, 'image_odd.png');
    const r = await runCli(['score', '--model', model, '--dtype', 'fp32', IMAGE, odd, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model).toBe(model);
    expect(out.backend).toBe('wasm');
    expect(out.images.map((i: { file: string }) => i.file)).toEqual([IMAGE, odd]);
    const [a, b] = out.images;
    expect(Math.abs(a.bits_per_token - expected.image32_bits_per_token)).toBeLessThan(1e-3);
    expect(a.bits_per_dim).toBeCloseTo(a.bits_per_token / 3, 10);
    expect(b.bits_per_token).toBeGreaterThan(0);
    expect(b.bits_per_token).toBeLessThan(20);
    expect(out.mean_bits_per_token).toBeCloseTo((a.bits_per_token + b.bits_per_token) / 2, 10);
  });

  it('names a missing image, a non-image and a missing model', async () => {
    const missing = await runCli(['score', '--model', model, join(tmp, 'nope.png')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`igpt: ${join(tmp, 'nope.png')}: no such file\n`);
    const notImage = await runCli(['score', '--model', model, join(FIXTURE, 'config.json')]);
    expect(notImage.code).toBe(1);
    expect(notImage.stderr).toMatch(/config\.json: not a PNG or JPEG image/);
    const noModel = await runCli(['score', '--model', join(tmp, 'no-model'), IMAGE]);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/no-model: no such model bundle folder/);
    const notBundle = await runCli(['score', '--model', FIXTURE, IMAGE]);
    expect(notBundle.code).toBe(1);
    expect(notBundle.stderr).toMatch(/imagegpt-tiny-a: has no igpt\.json/);
    expect((await runCli(['score', '--model', model])).code).toBe(2);
  });

  it('names IGPT_WASM_TIERING when it holds an unknown mode', async () => {
    const r = await runCli(['score', '--model', model, IMAGE], { ...process.env, IGPT_WASM_TIERING: 'fast' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('igpt: IGPT_WASM_TIERING: must be budget, liftoff or v8, not "fast"\n');
  });

  it('names the bundle path of a corrupt or cut model.onnx, not only model.onnx', async () => {
    const bad = join(tmp, 'corrupt-bundle');
    cpSync(model, bad, { recursive: true });
    const bytes = readFileSync(join(bad, 'model.onnx'));
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(join(bad, 'model.onnx'), bytes);
    const r = await runCli(['score', '--model', bad, '--dtype', 'fp32', IMAGE]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^igpt: ${join(bad, 'model.onnx').replace(/[.]/g, '\\.')}: sha256 mismatch`));
    writeFileSync(join(bad, 'model.onnx'), bytes.subarray(0, 1000));
    const cut = await runCli(['score', '--model', bad, '--dtype', 'fp32', IMAGE]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toBe(`igpt: ${join(bad, 'model.onnx')}: has 1000 bytes, the manifest lists ${bytes.length}\n`);
    rmSync(join(bad, 'model.fp16.onnx'));
    const missing = await runCli(['score', '--model', bad, '--dtype', 'fp16', IMAGE]);
    expect(missing.stderr).toBe(`igpt: ${join(bad, 'model.fp16.onnx')}: is missing (listed in igpt.json)\n`);
  });
});

describe('igpt complete', () => {
  it('samples per temperature with shared seeds, repeatably, and writes the grid', async () => {
    const grid = join(tmp, 'grid.png');
    const argv = ['complete', '--model', model, IMAGE, '--rows', '28', '--samples', '2', '--temperature', '1,0.5', '--top-k', '40', '--seed', '7', '--max-new-tokens', '6', '--json'];
    const r1 = await runCli([...argv, '--out', grid]);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    const out = JSON.parse(r1.stdout);
    expect(out).toMatchObject({ model, backend: 'wasm', prompt_tokens: 28 * 32, out: grid });
    // The app's plan: column j of every row draws from sampleSeed(7, j).
    expect(out.samples.map((s: { temperature: number; seed: number; top_k: number; top_p: number }) => [s.temperature, s.seed, s.top_k, s.top_p])).toEqual([
      [1, sampleSeed(7, 0), 40, 1],
      [1, sampleSeed(7, 1), 40, 1],
      [0.5, sampleSeed(7, 0), 40, 1],
      [0.5, sampleSeed(7, 1), 40, 1],
    ]);
    for (const s of out.samples) {
      expect(s.tokens).toHaveLength(6);
      for (const t of s.tokens) expect(Number.isInteger(t) && t >= 0 && t < 512).toBe(true);
    }
    expect(out.prefill_ms).toBeGreaterThan(0);
    expect(out.decode_ms).toBeGreaterThan(0);
    expect(out.tokens_per_second).toBeGreaterThan(0);

    const png = decode(readFileSync(grid));
    const { scale, gap } = GRID_STYLE;
    expect([png.width, png.height]).toEqual([3 * 32 * scale + 4 * gap, 2 * 32 * scale + 3 * gap]);
    // the top-left cell is the quantised original: its first pixel is token 0's colour of image32
    const rgb = (JSON.parse(readFileSync(join(model, 'igpt.json'), 'utf8')) as { palette: { rgb: number[][] } }).palette.rgb;
    const at = ((gap * png.width + gap) * 3);
    expect(Array.from(png.data.slice(at, at + 3))).toEqual(rgb[expected.image32_tokens[0]]);

    const r2 = await runCli(argv);
    expect(r2.code).toBe(0);
    const again = JSON.parse(r2.stdout);
    expect(again.out).toBeNull();
    expect(again.samples.map((s: { tokens: number[] }) => s.tokens)).toEqual(out.samples.map((s: { tokens: number[] }) => s.tokens));
  });

  it('--out into a missing folder fails before the model is loaded or sampled', async () => {
    const out = join(tmp, 'no-such-folder', 'grid.png');
    const t0 = performance.now();
    const r = await runCli(['complete', '--model', model, IMAGE, '--rows', '28', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`igpt: ${out}: cannot be written: the folder ${join(tmp, 'no-such-folder')} does not exist (create it first)\n`);
    expect(performance.now() - t0).toBeLessThan(5000); // no model load, no 128 sampling steps
    const dirOut = await runCli(['complete', '--model', model, IMAGE, '--out', tmp]);
    expect(dirOut.code).toBe(1);
    expect(dirOut.stderr).toBe(`igpt: ${tmp}: is a folder; --out takes the path of the PNG file to write\n`);
  });

  it('rejects bad sampling options as usage errors', async () => {
    for (const bad of [['--rows', '32'], ['--temperature', '1,x'], ['--top-p', '0'], ['--samples', '0'], ['--max-new-tokens', '2000']]) {
      const r = await runCli(['complete', '--model', model, IMAGE, ...bad]);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^igpt complete: ${bad[0]}`));
    }
  });
});

describe('igpt bench', () => {
  it('reports cold and warm timings per batch size', async () => {
    const r = await runCli(['bench', '--model', model, '--batch', '1,3', '--steps', '5', '--prefix', '40', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ model, backend: 'wasm', prefix: 40, steps: 5 });
    expect(typeof out.adapter).toBe('string');
    expect(out.load_ms).toBeGreaterThan(0);
    expect(out.runs.map((x: { batch: number }) => x.batch)).toEqual([1, 3]);
    for (const run of out.runs) {
      expect(run.warm.steps).toBe(5);
      expect(run.cold.steps).toBe(4);
      for (const t of [run.cold, run.warm]) {
        expect(t.prefill_ms).toBeGreaterThan(0);
        expect(t.decode_ms_per_step).toBeCloseTo(t.decode_ms / t.steps, 6);
        expect(t.tokens_per_second).toBeCloseTo((run.batch * t.steps) / (t.decode_ms / 1000), 3);
      }
    }
    expect((await runCli(['bench', '--model', model, '--prefix', '1000', '--steps', '64'])).code).toBe(2);
  });
});

describe('igpt as a process', () => {
  it('bin/igpt.mjs runs score and passes the exit code on', () => {
    const ok = spawnSync(process.execPath, [join(ROOT, 'bin/igpt.mjs'), 'score', '--model', model, IMAGE, '--json'], { encoding: 'utf8', timeout: 110_000 });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const out = JSON.parse(ok.stdout);
    expect(Math.abs(out.images[0].bits_per_token - expected.image32_bits_per_token)).toBeLessThan(1e-2);

    const bad = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'export', join(tmp, 'missing'), '--out', join(tmp, 'o')], {
      encoding: 'utf8',
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`igpt: ${join(tmp, 'missing')}: no such folder, and not a hub model id (owner/name)\n`);
  });

  it('gives the same samples whether V8 runs onnxruntime on Liftoff only or tiers it up (the CLI default)', () => {
    // The bundled model, 768 new tokens in 4 samples: long enough for V8 to compile the hot kernels
    // with TurboFan under the CLI's tiering budget, which V8's trace shows. The trace shares stdout,
    // so the samples are compared through the grid PNG (one colour per token).
    const complete = (tiering: string) => {
      const out = join(tmp, `tiering-${tiering}.png`);
      const r = spawnSync(
        process.execPath,
        ['--trace-wasm-compilation-times', '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'complete', '--model', join(ROOT, 'models/default'), IMAGE, '--rows', '8', '--samples', '4', '--seed', '3', '--out', out],
        { encoding: 'utf8', cwd: ROOT, timeout: 110_000, env: { ...process.env, IGPT_WASM_TIERING: tiering }, maxBuffer: 64 << 20 },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('4 samples x 768 new tokens');
      return { turbofan: r.stdout.split('using TurboFan').length - 1, png: readFileSync(out) };
    };
    const liftoff = complete('liftoff');
    const tiered = complete('budget');
    // Some functions reach TurboFan even in Liftoff-only mode (6 here: wasm that runs before the CLI
    // sets V8's flag); tiered up, onnxruntime's kernels add a couple of hundred (235 here).
    expect(liftoff.turbofan).toBeLessThan(20);
    expect(tiered.turbofan).toBeGreaterThan(liftoff.turbofan + 50);
    expect(Buffer.compare(tiered.png, liftoff.png)).toBe(0);
  });
});
