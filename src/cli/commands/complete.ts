/** `igpt complete --model DIR IMAGE`: keeps the top rows of an image and samples the rest. */
import { writeFile } from 'node:fs/promises';
import { dequantize } from '../../image/index.ts';
import type { SampleSettings, StepEvent } from '../../engine/types.ts';
import { intOption, numberListOption, numberOption, parseArgs, UsageError, type OptionSpecs } from '../args.ts';
import { encodeRgbPng, gridImage, type RgbImage } from '../png.ts';
import { BACKEND_OPTIONS, makeCtx, openEngine, resolveModelDir, resolvePath, round, writeJson, type CliIO } from './common.ts';
import { imageFileTokens, readBundleManifest } from './score.ts';

export const COMPLETE_USAGE = `usage: igpt complete [--model DIR] IMAGE [--rows 16] [--samples 4] [--temperature T[,T...]]
                     [--top-k K] [--top-p P] [--seed S] [--max-new-tokens N] [--out grid.png]
                     [--backend wasm|webgpu] [--dtype fp32|fp16|auto] [--json]
  Keeps the first --rows pixel rows of the (32x32, quantised) image and samples the rest.
  Several temperatures give one row of samples each; sample j of every row uses seed S+j.
  --out writes a PNG grid (x4): per row the original, then each completion.`;

const SPECS = {
  model: { type: 'string', short: 'm' },
  rows: { type: 'string' },
  samples: { type: 'string', short: 'n' },
  temperature: { type: 'string', short: 't' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  out: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  ...BACKEND_OPTIONS,
} satisfies OptionSpecs;

export const GRID_SCALE = 4;
const SIDE = 32;
const PIXELS = SIDE * SIDE;

/** Builds the per-sample settings: temperatures x samples, seeds S+j repeated in every row. */
export function sampleGrid(temperatures: number[], samples: number, topK: number, topP: number, seed: number): SampleSettings[] {
  const out: SampleSettings[] = [];
  for (const temperature of temperatures) {
    for (let j = 0; j < samples; j++) out.push({ temperature, topK, topP, seed: (seed + j) >>> 0 });
  }
  return out;
}

/** An image's tokens as RGB; positions past `tokens.length` are mid grey. */
function tokensImage(tokens: ArrayLike<number>, clusters: number[][]): RgbImage {
  const data = new Uint8Array(PIXELS * 3).fill(128);
  data.set(dequantize(tokens, clusters).subarray(0, PIXELS * 3));
  return { width: SIDE, height: SIDE, data };
}

export async function completeCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.values.json);
  if (args.positionals.length !== 1) throw new UsageError(`complete takes one IMAGE, got ${args.positionals.length}`);
  const rows = intOption(args, 'rows', 16, 0, SIDE - 1);
  const samples = intOption(args, 'samples', 4, 1, 256);
  const temperatures = numberListOption(args, 'temperature', [1], 0, 100);
  const topK = intOption(args, 'top-k', 0, 0, 512);
  const topP = numberOption(args, 'top-p', 1, 0, 1);
  if (topP === 0) throw new UsageError('--top-p must be greater than 0 (1 turns it off)');
  const seed = intOption(args, 'seed', 0, 0, 0xffffffff);
  const promptLength = rows * SIDE;
  const maxNew = intOption(args, 'max-new-tokens', PIXELS - promptLength, 1, PIXELS - promptLength);
  const outArg = args.values.out;

  const dir = await resolveModelDir(ctx, args);
  const manifest = await readBundleManifest(dir);
  const clusters = manifest.palette.clusters;
  const file = args.positionals[0];
  const { tokens: imageTokens } = await imageFileTokens(resolvePath(ctx, file), file, clusters);
  const prompt = imageTokens.subarray(0, promptLength);
  const settings = sampleGrid(temperatures, samples, topK, topP, seed);

  const { engine } = await openEngine(ctx, dir, args);
  try {
    const tty = !ctx.json && !!io.stderr.isTTY;
    const onStep = tty
      ? (e: StepEvent) => {
          if (e.step % 16 === 0 || e.step === maxNew - 1) io.stderr.write(`\rsampling ${e.step + 1}/${maxNew}`);
        }
      : undefined;
    const result = await engine.generate({ prompt, samples: settings, maxNewTokens: maxNew }, { onStep });
    if (tty) io.stderr.write('\n');

    let outPath: string | null = null;
    if (outArg) {
      outPath = resolvePath(ctx, outArg);
      const original = tokensImage(imageTokens, clusters);
      const cells: RgbImage[][] = temperatures.map((_, r) => [
        original,
        ...Array.from({ length: samples }, (_, j) => {
          const gen = result.tokens[r * samples + j];
          const full = new Int32Array(promptLength + gen.length);
          full.set(prompt);
          full.set(gen, promptLength);
          return tokensImage(full, clusters);
        }),
      ]);
      await writeFile(outPath, encodeRgbPng(gridImage(cells, GRID_SCALE)));
    }

    if (ctx.json) {
      writeJson(ctx, {
        model: dir,
        backend: engine.info.backend,
        prompt_tokens: promptLength,
        samples: settings.map((s, i) => ({ temperature: s.temperature, top_k: s.topK, top_p: s.topP, seed: s.seed, tokens: Array.from(result.tokens[i]) })),
        prefill_ms: result.prefillMs,
        decode_ms: result.decodeMs,
        tokens_per_second: result.tokensPerSecond,
        out: outPath,
      });
    } else {
      ctx.say(`model ${manifest.name} (${dir}), ${engine.info.backend}, ${engine.info.dtype}`);
      ctx.say(`prompt ${promptLength} tokens (${rows} rows); ${settings.length} samples x ${result.steps} new tokens`);
      ctx.say(`prefill ${round(result.prefillMs, 1)} ms, decode ${round(result.decodeMs, 1)} ms, ${round(result.tokensPerSecond, 1)} tokens/s`);
      if (outPath) ctx.say(`wrote ${outPath} (${temperatures.length} row(s): original + ${samples} completion(s), temperatures ${temperatures.join(', ')})`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
