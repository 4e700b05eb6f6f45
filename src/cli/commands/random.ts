/** `igpt random --shape small --out DIR`: a Hugging Face ImageGPT folder with random weights, for benchmarks. */
import { choiceOption, intOption, parseArgs, UsageError, type OptionSpecs } from '../args.ts';
import { SHAPES, writeRandomCheckpoint } from '../randomCheckpoint.ts';
import { makeCtx, resolvePath, writeJson, type CliIO } from './common.ts';

export const RANDOM_USAGE = `usage: igpt random --out DIR [--shape tiny|small|medium|large] [--layers N] [--width D] [--heads H] [--seed S] [--json]
  Writes config.json, preprocessor_config.json and model.safetensors with random weights of an
  iGPT shape (small = iGPT-S: 24 layers, width 512, 8 heads), zero biases and unit norm gains.
  Export it with igpt export DIR --out BUNDLE; used to benchmark without the official weights.`;

const SPECS = {
  out: { type: 'string', short: 'o' },
  shape: { type: 'string' },
  layers: { type: 'string' },
  width: { type: 'string' },
  heads: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
} satisfies OptionSpecs;

export async function randomCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.values.json);
  const out = args.values.out;
  if (!out) throw new UsageError('random needs --out DIR');
  const base = SHAPES[choiceOption(args, 'shape', Object.keys(SHAPES) as (keyof typeof SHAPES)[], 'small')];
  const shape = {
    nLayer: intOption(args, 'layers', base.nLayer, 1, 256),
    nEmbd: intOption(args, 'width', base.nEmbd, 8, 8192),
    nHead: intOption(args, 'heads', base.nHead, 1, 128),
  };
  if (shape.nEmbd % shape.nHead !== 0) throw new UsageError(`--width ${shape.nEmbd} is not divisible by --heads ${shape.nHead}`);
  const seed = intOption(args, 'seed', 0, 0, 2 ** 32 - 1);
  const dir = resolvePath(ctx, out);
  await writeRandomCheckpoint(dir, shape, seed);
  if (args.values.json) writeJson(ctx, { out: dir, ...shape, seed });
  else io.stdout.write(`wrote a random ${shape.nLayer}-layer, width-${shape.nEmbd}, ${shape.nHead}-head ImageGPT to ${dir}\n`);
  return 0;
}
