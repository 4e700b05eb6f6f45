// Render 64 icons of each held-out set (never used for training or the palette) to 128x128 PNGs,
// rendered like the training data, for `igpt score` runs: scoring them resizes and quantises them
// with the same src/image code that made the training tokens.
//   npx tsx training/build_eval.ts [--out training/data/eval] [--count 64]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode as encodePng } from 'fast-png';
import { HELD_OUT_SETS, fnv1a32, selectIconNames, splitKey } from './dataset_lib.ts';
import { renderAll } from './render_pool.ts';
import { loadIconSet } from './render.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'training/data/eval' },
    count: { type: 'string', default: '64' },
    'render-size': { type: 'string', default: '128' },
  },
});
const require = createRequire(import.meta.url);
const count = Number(args.count);
const renderSize = Number(args['render-size']);

// A deterministic, spread-out choice: skin-tone variants left out, ordered by a hash of the name.
// A few extra are rendered in case some fail.
const jobs = HELD_OUT_SETS.map((set) => {
  const names = selectIconNames(set, loadIconSet(set))
    .filter((n) => splitKey(n) === n)
    .sort((a, b) => fnv1a32(`${set}:${a}`) - fnv1a32(`${set}:${b}`) || (a < b ? -1 : 1));
  return { set, names: names.slice(0, count + 16) };
});
const results = await renderAll(jobs, { workers: 2, batchSize: 40, renderSize, full: true });

const index: Record<string, unknown> = {};
for (const { set, names } of jobs) {
  const dir = join(args.out!, set);
  mkdirSync(dir, { recursive: true });
  const info = JSON.parse(readFileSync(require.resolve(`@iconify-json/${set}/info.json`), 'utf8'));
  const pkg = JSON.parse(readFileSync(require.resolve(`@iconify-json/${set}/package.json`), 'utf8'));
  const written: string[] = [];
  const failed: string[] = [];
  for (const name of names) {
    if (written.length === count) break;
    const r = results.get(`${set}:${name}`)!;
    if (!r.full) {
      failed.push(name);
      continue;
    }
    writeFileSync(join(dir, `${name}.png`), encodePng({ width: renderSize, height: renderSize, data: r.full, channels: 3, depth: 8 }));
    written.push(name);
  }
  if (written.length < count) throw new Error(`${set}: only ${written.length} of ${count} icons rendered`);
  index[set] = { package: `@iconify-json/${set}@${pkg.version}`, name: info.name, author: info.author, license: info.license, images: written, failed };
  console.log(`${set}: ${written.length} PNGs in ${dir} (${failed.length} failed)`);
}
writeFileSync(join(args.out!, 'index.json'), JSON.stringify(index, null, 2));
