// Build the labelled emoji set for linear probes (docs/PROBE.md).
//   npx tsx training/build_probe_set.ts [--out public/probe] [--per-class 200] [--seed 1] [--workers 2]
// Classes: the Unicode emoji groups as the icon sets' own metadata.json `categories` name them
// (Activities, Animals & Nature, Flags, ...). Icons of twemoji, noto and fluent-emoji-flat are
// rendered at 128x128 on white with resvg (training/render.ts) and brought to 32x32 with the app's
// own pipeline (src/image: composite on white, antialiased bilinear resize, 'torch' flavour), the
// exact pixels `imageToTokens` quantises for an upload. Writes <out>/emoji.png (a sprite sheet of
// the 32x32 images) and <out>/emoji.json (classes, labels, groups, sources, licences).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode as encodePng } from 'fast-png';
import { buildSheet, CELL, PROBE_SET_FORMAT, type ProbeSetIndex, type ProbeSetSource } from '../src/probe/probeSet.ts';
import { PROBE_SETS, selectProbeItems, type SetCatalogue } from './probe_set_lib.ts';
import { renderAll } from './render_pool.ts';
import { loadIconSet } from './render.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'public/probe' },
    'per-class': { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    'render-size': { type: 'string', default: '128' },
    columns: { type: 'string', default: '64' },
  },
});
const require = createRequire(import.meta.url);
const perClass = Number(args['per-class']);
const seed = Number(args.seed);
const renderSize = Number(args['render-size']);
const columns = Number(args.columns);

const readJson = (path: string) => JSON.parse(readFileSync(require.resolve(path), 'utf8'));
const catalogues: SetCatalogue[] = PROBE_SETS.map((set) => ({
  set,
  icons: new Set(Object.keys(loadIconSet(set).icons)),
  categories: readJson(`@iconify-json/${set}/metadata.json`).categories as Record<string, string[]>,
}));
const { classes, items } = selectProbeItems(catalogues, { perClass, seed });
console.log(`${items.length} icons in ${classes.length} classes: ${classes.map((c, i) => `${c} ${items.filter((x) => x.label === i).length}`).join(', ')}`);

const jobs = PROBE_SETS.map((set) => ({ set, names: items.filter((x) => x.set === set).map((x) => x.name) }));
const rendered = await renderAll(jobs, { workers: Number(args.workers), batchSize: 64, renderSize });
const kept = items.filter((x) => rendered.get(`${x.set}:${x.name}`)?.rgb);
const failed = items.filter((x) => !rendered.get(`${x.set}:${x.name}`)?.rgb).map((x) => ({ item: `${x.set}:${x.name}`, error: rendered.get(`${x.set}:${x.name}`)?.error ?? 'not rendered' }));
if (failed.length) console.log(`${failed.length} icons failed to render and are left out: ${failed.map((f) => f.item).join(', ')}`);

const px = CELL * CELL * 3;
const rgb = new Uint8Array(kept.length * px);
kept.forEach((x, i) => rgb.set(rendered.get(`${x.set}:${x.name}`)!.rgb!, i * px));
const sheet = buildSheet(rgb, kept.length, columns);
const png = encodePng({ width: sheet.width, height: sheet.height, data: sheet.data, channels: 3, depth: 8 });

const sources: Record<string, ProbeSetSource> = {};
for (const set of PROBE_SETS) {
  const info = readJson(`@iconify-json/${set}/info.json`);
  const pkg = readJson(`@iconify-json/${set}/package.json`);
  sources[set] = {
    package: `@iconify-json/${set}@${pkg.version}`,
    name: info.name,
    author: info.author?.name ?? String(info.author),
    url: info.author?.url,
    licence: info.license?.spdx ?? info.license?.title,
    licenceUrl: info.license?.url,
    images: kept.filter((x) => x.set === set).length,
  };
}

const index: ProbeSetIndex = {
  format: PROBE_SET_FORMAT,
  version: 1,
  name: 'emoji',
  description:
    'Emoji labelled with their Unicode emoji group, as the icon sets\' metadata.json categories name it; ' +
    'skin-tone variants left out; one emoji drawn by several sets forms one group.',
  sheet: 'emoji.png',
  columns,
  count: kept.length,
  classes,
  labels: kept.map((x) => x.label),
  groups: kept.map((x) => x.group),
  items: kept.map((x) => `${x.set}:${x.name}`),
  sources,
  build: {
    script: 'training/build_probe_set.ts',
    perClass,
    seed,
    renderSize,
    pipeline: 'resvg render on white at renderSize, then src/image compositeOnWhite + resizeTo32 (torch flavour)',
    failed,
  },
};
mkdirSync(args.out!, { recursive: true });
writeFileSync(join(args.out!, 'emoji.png'), png);
writeFileSync(join(args.out!, 'emoji.json'), JSON.stringify(index) + '\n');
console.log(`wrote ${join(args.out!, 'emoji.png')} (${(png.length / 1024).toFixed(0)} KiB, ${sheet.width}x${sheet.height}) and emoji.json, ${kept.length} images`);
