/** `igpt complete --model DIR IMAGE`: keeps the top rows of an image and samples the rest. */
import { stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InputError } from '../../errors.ts';
import { IMAGE_SIZE, IMAGE_TOKENS } from '../../bundle/index.ts';
import { LIMITS, planRun } from '../../engine/plan.ts';
import type { StepEvent } from '../../engine/types.ts';
import { completionGrid, encodeRgbPng } from '../../image/index.ts';
import { intOption, numberListOption, numberOption, parseArgs, UsageError, type OptionSpecs } from '../args.ts';
import { BACKEND_OPTIONS, makeCtx, openEngine, resolveModelDir, resolvePath, round, writeJson, type CliIO } from './common.ts';
import { imageFileTokens, readBundleManifest } from './score.ts';

export const COMPLETE_USAGE = `usage: igpt complete [--model DIR] IMAGE [--rows 16] [--samples 4] [--temperature T[,T...]]
                     [--top-k K] [--top-p P] [--seed S] [--max-new-tokens N] [--out grid.png]
                     [--backend wasm|webgpu] [--dtype fp32|fp16|q4|auto] [--json]
  Keeps the first --rows pixel rows of the (32x32, quantised) image and samples the rest.
  Several temperatures give one row of samples each; sample j of every row draws from the same
  seed (mixed from S and j), as in the app: the same settings and seed give the app's samples.
  --out writes the app's PNG grid: per row the original, then each completion.`;

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

export async function completeCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.values.json);
  if (args.positionals.length !== 1) throw new UsageError(`complete takes one IMAGE, got ${args.positionals.length}`);
  const rows = intOption(args, 'rows', 16, LIMITS.rowsToKeep.min, LIMITS.rowsToKeep.max);
  const samples = intOption(args, 'samples', 4, 1, LIMITS.batch);
  const temperatures = numberListOption(args, 'temperature', [1], LIMITS.temperature.min, LIMITS.temperature.max);
  const topK = intOption(args, 'top-k', 0, LIMITS.topK.min, LIMITS.topK.max);
  const topP = numberOption(args, 'top-p', 1, LIMITS.topP.min, LIMITS.topP.max);
  const seed = intOption(args, 'seed', 0, 0, 0xffffffff);
  const promptLength = rows * IMAGE_SIZE;
  const maxNew = intOption(args, 'max-new-tokens', IMAGE_TOKENS - promptLength, 1, IMAGE_TOKENS - promptLength);
  const outArg = args.values.out;

  const dir = await resolveModelDir(ctx, args);
  const manifest = await readBundleManifest(dir);
  const clusters = manifest.palette.clusters;
  const file = args.positionals[0];
  const { tokens: imageTokens } = await imageFileTokens(resolvePath(ctx, file), file, clusters);
  const plan = planRun(imageTokens, { temperatures, samples, topK, topP, seed, rowsToKeep: rows, maxNewTokens: maxNew });
  const settings = plan.samples;
  const prompt = plan.prompt;

  // Check where the grid goes before loading the model and sampling, not after.
  const outPath = outArg ? resolvePath(ctx, outArg) : null;
  if (outPath) await checkOutFile(outPath, outArg!);

  const { engine } = await openEngine(ctx, dir, args);
  try {
    const tty = !ctx.json && !!io.stderr.isTTY;
    const onStep = tty
      ? (e: StepEvent) => {
          if (e.step % 16 === 0 || e.step === maxNew - 1) io.stderr.write(`\rsampling ${e.step + 1}/${maxNew}`);
        }
      : undefined;
    const result = await engine.generate({ prompt, samples: settings, maxNewTokens: plan.maxNewTokens }, { onStep });
    if (tty) io.stderr.write('\n');

    if (outPath) {
      await writeFile(outPath, encodeRgbPng(completionGrid(imageTokens, promptLength, result.tokens, plan.rows, clusters)));
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

/** --out must name a file in an existing folder. */
async function checkOutFile(path: string, shownAs: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) throw new InputError(shownAs, 'is a folder; --out takes the path of the PNG file to write');
  const folder = dirname(path);
  const parent = await stat(folder).catch(() => undefined);
  if (!parent) throw new InputError(shownAs, `cannot be written: the folder ${folder} does not exist (create it first)`);
  if (!parent.isDirectory()) throw new InputError(shownAs, `cannot be written: ${folder} is a file, not a folder`);
}
