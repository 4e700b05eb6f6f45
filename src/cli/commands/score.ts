/** `igpt score --model DIR IMAGE...`: bits per token of each image under the model, teacher forced. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage, imageToTokens } from '../../image/index.ts';
import { parseArgs, UsageError, type OptionSpecs } from '../args.ts';
import { BACKEND_OPTIONS, makeCtx, openEngine, readInputFile, resolveModelDir, resolvePath, round, writeJson, type CliIO } from './common.ts';
import { parseManifest, type BundleManifest } from '../../bundle/index.ts';

export const SCORE_USAGE = `usage: igpt score [--model DIR] IMAGE... [--backend wasm|webgpu] [--dtype fp32|fp16|q4|auto] [--json]
  Each image is resized to 32x32 and quantised to the model's palette; prints the mean negative
  log2-likelihood per token (bits/token) and per colour channel (bits/dim = bits/token / 3).`;

const SPECS = { model: { type: 'string', short: 'm' }, json: { type: 'boolean' }, ...BACKEND_OPTIONS } satisfies OptionSpecs;

export async function readBundleManifest(dir: string): Promise<BundleManifest> {
  const path = join(dir, 'igpt.json');
  return parseManifest(await readFile(path, 'utf8'), path);
}

/** Decodes an image file and quantises it with the bundle's palette. */
export async function imageFileTokens(cwdPath: string, shownAs: string, clusters: number[][]) {
  const bytes = await readInputFile(cwdPath, shownAs);
  return imageToTokens(decodeImage(bytes, shownAs), clusters);
}

export async function scoreCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.values.json);
  if (args.positionals.length === 0) throw new UsageError('score needs at least one IMAGE');
  const dir = await resolveModelDir(ctx, args);
  const manifest = await readBundleManifest(dir);
  const clusters = manifest.palette.clusters;
  const images = [];
  for (const file of args.positionals) images.push({ file, tokens: (await imageFileTokens(resolvePath(ctx, file), file, clusters)).tokens });

  const { engine } = await openEngine(ctx, dir, args);
  try {
    const results = await engine.score(images.map((i) => i.tokens));
    const rows = images.map((img, i) => ({
      file: img.file,
      bits_per_token: results[i].bitsPerToken,
      bits_per_dim: results[i].bitsPerToken / 3,
    }));
    const mean = rows.reduce((s, r) => s + r.bits_per_token, 0) / rows.length;
    if (ctx.json) {
      writeJson(ctx, { model: dir, backend: engine.info.backend, images: rows, mean_bits_per_token: mean });
    } else {
      ctx.say(`model ${manifest.name} (${dir}), ${engine.info.backend}, ${engine.info.dtype}`);
      const w = Math.max(...rows.map((r) => r.file.length), 4);
      ctx.say(`${'file'.padEnd(w)}  bits/token  bits/dim`);
      for (const r of rows) ctx.say(`${r.file.padEnd(w)}  ${round(r.bits_per_token, 4).toFixed(4).padStart(10)}  ${round(r.bits_per_dim, 4).toFixed(4).padStart(8)}`);
      if (rows.length > 1) ctx.say(`${'mean'.padEnd(w)}  ${mean.toFixed(4).padStart(10)}`);
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
