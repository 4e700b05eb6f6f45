/**
 * `igpt probe --model DIR --data DIR|emoji`: linear probes of every layer (docs/PROBE.md). Pools
 * each layer's features over the 1024 positions of every image (src/probe/features.ts), then
 * trains a multinomial logistic regression per layer on a seeded stratified split and reports the
 * held-out accuracy (src/probe/).
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../../errors.ts';
import { readLabelledImages, type FileEntry } from '../../probe/folder.ts';
import { DEFAULT_L2_GRID, probeLayers } from '../../probe/probe.ts';
import { layerName, probeJson, probeSubset } from '../../probe/report.ts';
import { parseProbeSet, probeSetTokens } from '../../probe/probeSet.ts';
import { choiceOption, intOption, numberOption, parseArgs, parseNumberIn, UsageError, type OptionSpecs } from '../args.ts';
import { featuresCacheKey, readFeaturesCache, writeFeaturesCache } from '../featuresCache.ts';
import { readFolderFiles } from '../nodeFiles.ts';
import { setupNodeWebGPU } from '../nodeWebgpu.ts';
import { formatDuration } from '../progress.ts';
import { makeCtx, PACKAGE_ROOT, resolveModelDir, resolvePath, round, setWasmTiering, writeJson, type CliIO, type Ctx } from './common.ts';
import { readBundleManifest } from './score.ts';

export const PROBE_USAGE = `usage: igpt probe [--model DIR] --data DIR|emoji|SET.json [--split 0.2] [--seed S] [--per-class N]
                  [--l2 auto|X] [--batch B] [--backend wasm|webgpu] [--cache FILE] [--progress] [--json]
  Linear probes: pools every layer's features (gain-free RMS norm of the residual stream, averaged
  over the 1024 positions; layer 0 is the embeddings) for each labelled image, trains a logistic
  regression per layer on a seeded stratified split and prints the held-out accuracy per layer.
  --data DIR: one sub-folder per class holding PNG/JPEG images; emoji: the bundled emoji set
  (public/probe/emoji.json, 9 emoji groups). --per-class N keeps about N images per class (seeded).
  --l2 auto picks the L2 strength per layer on a validation split of the train split.
  --cache FILE keeps the pooled features, reused while the model and the images are the same.`;

const SPECS = {
  model: { type: 'string', short: 'm' },
  data: { type: 'string', short: 'd' },
  split: { type: 'string' },
  seed: { type: 'string' },
  'per-class': { type: 'string' },
  l2: { type: 'string' },
  batch: { type: 'string' },
  backend: { type: 'string' },
  cache: { type: 'string' },
  progress: { type: 'boolean' },
  json: { type: 'boolean' },
} satisfies OptionSpecs;

export const EMOJI_SET = join(PACKAGE_ROOT, 'public/probe/emoji.json');

interface ProbeData {
  source: string;
  classes: string[];
  labels: Int32Array;
  tokens: Int32Array[];
  groups?: string[];
  bad: { path: string; problem: string }[];
  skipped: { path: string; reason: string }[];
}

async function readProbeSetFile(indexPath: string, shownAs: string, clusters: number[][]): Promise<ProbeData> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new InputError(shownAs, `cannot be read as a probe set index (${(e as Error).message})`);
  }
  const sheetName = (index as { sheet?: unknown })?.sheet;
  if (typeof sheetName !== 'string' || sheetName.includes('/') || sheetName.includes('\\')) throw new InputError(shownAs, 'names no sprite sheet file ("sheet")');
  const sheetPath = join(indexPath, '..', sheetName);
  const sheet = await readFile(sheetPath).catch(() => {
    throw new InputError(sheetPath, 'no such file (the probe set sheet)');
  });
  const set = parseProbeSet(index, new Uint8Array(sheet), shownAs);
  return { source: shownAs, classes: set.classes, labels: set.labels, tokens: probeSetTokens(set, clusters), groups: set.groups, bad: [], skipped: [] };
}

async function readDataFolder(dir: string, shownAs: string, clusters: number[][]): Promise<ProbeData> {
  const files = await readFolderFiles(dir, { maxDepth: 8 });
  const entries: FileEntry[] = [];
  for (const [path, blob] of files) entries.push({ path, bytes: new Uint8Array(await blob.arrayBuffer()) });
  const data = readLabelledImages(entries, clusters, shownAs);
  return { source: shownAs, classes: data.classes, labels: data.labels, tokens: data.tokens, bad: data.bad, skipped: data.skipped };
}

async function readData(ctx: Ctx, arg: string, clusters: number[][]): Promise<ProbeData> {
  if (arg === 'emoji') return readProbeSetFile(EMOJI_SET, 'emoji', clusters);
  const path = isAbsolute(arg) ? arg : resolve(ctx.cwd, arg);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new InputError(arg, 'no such folder (--data takes a folder with one sub-folder per class, a probe set .json, or emoji)');
  if (st.isDirectory()) return readDataFolder(path, arg, clusters);
  if (path.endsWith('.json')) return readProbeSetFile(path, arg, clusters);
  throw new InputError(arg, 'is a file; --data takes a folder with one sub-folder per class, a probe set .json, or emoji');
}

export { layerName, probeJson } from '../../probe/report.ts';

async function extractFeatures(
  ctx: Ctx,
  dir: string,
  tokens: Int32Array[],
  options: { backend: 'wasm' | 'webgpu'; batchSize: number; progress: boolean },
): Promise<{ features: Float32Array; graphSource: string }> {
  if (options.backend === 'webgpu') {
    let why = '';
    if (!(await setupNodeWebGPU((r) => (why = r)))) throw new InputError('--backend webgpu', why);
  }
  setWasmTiering(ctx.env);
  const { openFeatureExtractor } = await import('../../probe/features.ts');
  const t0 = performance.now();
  const extractor = await openFeatureExtractor({ kind: 'files', files: await readFolderFiles(dir), label: dir }, { backend: options.backend });
  let lastNote = 0;
  try {
    const result = await extractor.extract(tokens, {
      batchSize: options.batchSize,
      onProgress: (done, total) => {
        const now = performance.now();
        if (!options.progress || (now - lastNote < 10_000 && done < total)) return;
        lastNote = now;
        const perImage = (now - t0) / 1000 / done;
        ctx.note(`igpt probe: features ${done}/${total} images (${perImage.toFixed(2)} s/image, ${formatDuration(perImage * (total - done))} left)`);
      },
    });
    return { features: result.features, graphSource: extractor.graphSource === 'bundle' ? 'features graph of the bundle' : 'features graph built from the decoder graph' };
  } finally {
    await extractor.dispose();
  }
}

export async function probeCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.values.json === true);
  if (args.positionals.length) throw new UsageError(`probe takes no positional arguments, got ${args.positionals.join(' ')}`);
  const dataArg = args.values.data;
  if (!dataArg) throw new UsageError('probe needs --data DIR (one sub-folder per class) or --data emoji');
  const testFraction = numberOption(args, 'split', 0.2, 0.01, 0.9);
  const seed = intOption(args, 'seed', 0, 0, 2 ** 31 - 1);
  const perClass = args.values['per-class'] !== undefined ? intOption(args, 'per-class', 0, 1, 1e9) : undefined;
  const l2Raw = args.values.l2 ?? 'auto';
  const l2 = l2Raw === 'auto' ? 'auto' : parseNumberIn(l2Raw, '--l2', 0, 1e6);
  const batchSize = intOption(args, 'batch', 2, 1, 256);
  const backend = choiceOption<'wasm' | 'webgpu'>(args, 'backend', ['wasm', 'webgpu'], 'wasm');
  const progress = args.values.progress === true || !!io.stderr.isTTY;

  const dir = await resolveModelDir(ctx, args);
  const manifest = await readBundleManifest(dir);
  const data = await readData(ctx, dataArg, manifest.palette.clusters);
  const { labels, groups, tokens } = probeSubset(data, perClass, seed);
  const present = new Set(labels);
  if (present.size < 2) throw new InputError(data.source, 'has fewer than 2 classes with images');

  const cachePath = args.values.cache !== undefined ? resolvePath(ctx, args.values.cache) : null;
  const cacheKey = featuresCacheKey(manifest, tokens);
  const t0 = performance.now();
  let features = cachePath ? await readFeaturesCache(cachePath, cacheKey) : null;
  let graphSource = `cache ${cachePath}`;
  if (!features) {
    const extracted = await extractFeatures(ctx, dir, tokens, { backend, batchSize, progress });
    features = extracted.features;
    graphSource = extracted.graphSource;
    if (cachePath) await writeFeaturesCache(cachePath, cacheKey, features);
  }
  const featureSeconds = (performance.now() - t0) / 1000;
  const layers = manifest.config.nLayer + 1;
  const width = manifest.config.nEmbd;

  const t1 = performance.now();
  const report = probeLayers(features, { images: tokens.length, layers, width }, labels, data.classes.length, {
    testFraction,
    seed,
    groups,
    l2,
    l2Grid: DEFAULT_L2_GRID,
    onLayer: (r, i, total) => {
      if (progress) ctx.note(`igpt probe: layer ${r.layer} (${i + 1}/${total}): test accuracy ${(100 * r.testAccuracy).toFixed(1)}%, l2 ${r.l2}`);
    },
  });
  const probeSeconds = (performance.now() - t1) / 1000;

  if (ctx.json) {
    writeJson(ctx, {
      model: dir,
      model_name: manifest.name,
      data: data.source,
      backend,
      features_from: graphSource,
      ...probeJson(report, data.classes),
      per_class_cap: perClass ?? null,
      bad_files: data.bad,
      skipped_files: data.skipped,
      seconds: { features: round(featureSeconds, 1), probe: round(probeSeconds, 1) },
    });
    return 0;
  }
  ctx.say(`model ${manifest.name} (${dir}), ${manifest.config.nLayer} layers x ${manifest.config.nEmbd}; data ${data.source}: ${tokens.length} images, ${data.classes.length} classes`);
  ctx.say(`split ${report.counts.train} train / ${report.counts.test} test (seed ${seed}); chance (largest test class) ${(100 * report.chance).toFixed(1)}%`);
  ctx.say('layer         test acc  train acc  l2');
  for (const l of report.layers) {
    const mark = l.layer === report.bestLayer ? '  <- best' : '';
    ctx.say(`${layerName(l.layer).padEnd(12)}  ${(100 * l.testAccuracy).toFixed(1).padStart(7)}%  ${(100 * l.trainAccuracy).toFixed(1).padStart(8)}%  ${l.l2}${mark}`);
  }
  for (const b of data.bad) ctx.note(`igpt probe: skipped ${b.path}: ${b.problem}`);
  ctx.say(`features (${graphSource}) ${formatDuration(featureSeconds)}, probes ${formatDuration(probeSeconds)}`);
  return 0;
}
