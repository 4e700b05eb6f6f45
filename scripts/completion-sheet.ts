// A completion sheet: per image one row, the quantised original then N samples that keep the top
// rows and sample the rest (the run plan and grid of the app and `igpt complete`).
//   npx tsx scripts/completion-sheet.ts --model models/default --temperature 1 --out sheet.png IMAGE...
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEngine } from '../src/engine/engine.ts';
import { planRun } from '../src/engine/plan.ts';
import { decodeImage, encodeRgbPng, gridImage, imageToTokens, tokensImage } from '../src/image/index.ts';
import { readFolderFiles } from '../src/cli/nodeFiles.ts';

const { values: args, positionals: images } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/default' },
    temperature: { type: 'string', default: '1' },
    rows: { type: 'string', default: '16' },
    samples: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
  allowPositionals: true,
});
const engine = await loadEngine({ kind: 'files', files: await readFolderFiles(args.model!), label: args.model }, { backend: 'wasm' });
const clusters = engine.info.manifest.palette.clusters;
const settings = { temperatures: [Number(args.temperature)], samples: Number(args.samples), topK: 0, topP: 1, seed: Number(args.seed), rowsToKeep: Number(args.rows) };
const cells = [];
for (const file of images) {
  const { tokens } = imageToTokens(decodeImage(new Uint8Array(readFileSync(file)), file), clusters);
  const plan = planRun(tokens, settings);
  const result = await engine.generate({ prompt: plan.prompt, samples: plan.samples });
  cells.push([tokensImage(tokens, clusters), ...result.tokens.map((g) => tokensImage([...plan.prompt, ...g], clusters))]);
  console.log(`${basename(file)}: ${result.steps} steps, ${result.tokensPerSecond.toFixed(1)} tokens/s per sample`);
}
writeFileSync(args.out!, encodeRgbPng(gridImage(cells, { scale: 4, gap: 8, background: [255, 255, 255] })));
console.log(`wrote ${args.out}`);
await engine.dispose();
