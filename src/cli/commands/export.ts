/** `igpt export <hf-folder | owner/name> --out DIR`: converts a Hugging Face ImageGPT checkpoint to a model bundle. */
import { homedir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { readdir, stat } from 'node:fs/promises';
import { openCheckpoint } from '../../convert/checkpoint.ts';
import { parseDtypes, writeBundle } from '../../convert/bundle.ts';
import { InputError } from '../../convert/types.ts';
import type { BundleManifest } from '../../engine/types.ts';
import { choiceOption, numberOption, parseArgs, UsageError, type OptionSpecs } from '../args.ts';
import { createFolderSink } from '../fsSink.ts';
import { downloadHubModel, stderrProgress } from '../hub.ts';
import { readFolderFiles } from '../nodeFiles.ts';
import { formatBytes } from '../progress.ts';
import { makeCtx, resolvePath, writeJson, type CliIO, type Ctx } from './common.ts';

export const EXPORT_USAGE = `usage: igpt export <hf-folder | owner/name> --out DIR [--dtype fp32,fp16] [--revision REV]
                   [--attention-scale X] [--prefer safetensors|pytorch] [--name NAME] [--features] [--json]
  Converts an ImageGPT checkpoint (a local Hugging Face folder, or a hub model id that is downloaded
  into $IGPT_CACHE, default ~/.cache/igpt/hub) into a model bundle folder DIR (igpt.json + ONNX graphs).
  The bundle is written to a temporary folder and moved into place only when complete.
  --features also writes model.features.onnx, the graph igpt probe runs (without it, igpt probe
  builds the same graph in memory from model.onnx).`;

const SPECS: OptionSpecs = {
  out: { type: 'string', short: 'o' },
  dtype: { type: 'string' },
  revision: { type: 'string' },
  'attention-scale': { type: 'string' },
  prefer: { type: 'string' },
  name: { type: 'string' },
  features: { type: 'flag' },
  json: { type: 'flag' },
};

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  return env.IGPT_CACHE ? join(env.IGPT_CACHE) : join(homedir(), '.cache', 'igpt', 'hub');
}

/** Refuses --out folders whose replacement would destroy something other than an old bundle. */
async function checkOut(out: string, input: string | undefined): Promise<void> {
  if (input) {
    const rel = relative(out, input);
    if (rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel))) {
      throw new InputError(out, 'the output folder is (or contains) the input checkpoint folder; choose another --out');
    }
  }
  const st = await stat(out).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new InputError(out, 'exists and is a file; --out takes a folder');
  const entries = await readdir(out);
  if (entries.length > 0 && !entries.includes('igpt.json')) {
    throw new InputError(out, 'exists and is not a model bundle (no igpt.json); refusing to replace it');
  }
}

export async function exportCommand(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, SPECS);
  const ctx = makeCtx(io, args.flags.has('json'));
  if (args.positionals.length !== 1) throw new UsageError(`export takes one checkpoint (a folder or owner/name), got ${args.positionals.length}`);
  const outArg = args.values.get('out');
  if (!outArg) throw new UsageError('export needs --out DIR');
  const input = args.positionals[0];
  const dtypes = parseDtypes(args.values.get('dtype') ?? 'fp32');
  const prefer = args.values.has('prefer') ? choiceOption(args, 'prefer', ['safetensors', 'pytorch'] as const, 'safetensors') : undefined;
  const attentionScale = args.values.has('attention-scale') ? numberOption(args, 'attention-scale', 0, Number.MIN_VALUE, 1e6) : undefined;
  const revisionArg = args.values.get('revision');
  const out = resolvePath(ctx, outArg);

  const inputPath = resolvePath(ctx, input);
  const st = await stat(inputPath).catch(() => undefined);
  let folder: string;
  let source: string;
  let revision = revisionArg;
  if (st?.isDirectory()) {
    folder = inputPath;
    source = basename(inputPath);
  } else if (!st && HUB_ID.test(input)) {
    revision = revisionArg ?? 'main';
    ctx.note(`igpt: downloading ${input} (revision ${revision})`);
    folder = await downloadHubModel(input, {
      dest: hubCacheDir(ctx.env),
      revision,
      endpoint: ctx.env.HF_ENDPOINT || undefined,
      token: ctx.env.HF_TOKEN || undefined,
      onProgress: progressTo(ctx),
    });
    source = input;
  } else if (st) {
    throw new InputError(input, 'is a file; export takes a checkpoint folder (config.json, preprocessor_config.json, weights) or a hub id owner/name');
  } else {
    throw new InputError(input, 'no such folder, and not a hub model id (owner/name)');
  }
  await checkOut(out, folder);

  const files = await readFolderFiles(folder);
  const ckpt = await openCheckpoint(files, { prefer });
  const name = args.values.get('name') ?? (source.includes('/') ? source.split('/')[1] : source);
  const sink = await createFolderSink(out);
  const manifest = await writeBundle(ckpt, sink, { name, dtypes, source, revision, attentionScale, features: args.flags.has('features') });

  if (ctx.json) writeJson(ctx, summary(manifest, out));
  else printSummary(ctx, manifest, out);
  return 0;
}

function progressTo(ctx: Ctx) {
  const stream = ctx.io.stderr as NodeJS.WriteStream;
  return stderrProgress(stream);
}

export function summary(m: BundleManifest, out: string) {
  return {
    out,
    name: m.name,
    source: m.provenance.source,
    revision: m.provenance.revision ?? null,
    weight_files: m.provenance.weightFiles,
    config: m.config,
    variants: m.variants.map((v) => ({
      dtype: v.dtype,
      graph: v.graph,
      bytes: v.files.reduce((n, f) => n + f.bytes, 0),
      files: v.files,
      nodes_per_layer: v.nodesPerLayer,
      node_count: v.nodeCount,
    })),
    ...(m.features ? { features: { graph: m.features.graph, bytes: m.features.files.reduce((n, f) => n + f.bytes, 0), files: m.features.files } } : {}),
  };
}

function printSummary(ctx: Ctx, m: BundleManifest, out: string): void {
  const c = m.config;
  ctx.say(`wrote ${out}`);
  ctx.say(`  model      ${m.name} (from ${m.provenance.source}${m.provenance.revision ? `@${m.provenance.revision}` : ''}; ${m.provenance.weightFiles.join(', ')})`);
  ctx.say(`  config     ${c.nLayer} layers, ${c.nHead} heads, width ${c.nEmbd}, inner ${c.nInner}, ${c.nPositions} positions, attention scale ${c.attentionScale}`);
  for (const v of m.variants) {
    const bytes = v.files.reduce((n, f) => n + f.bytes, 0);
    ctx.say(`  ${v.dtype.padEnd(10)} ${v.files.map((f) => f.path).join(' + ')}: ${formatBytes(bytes)}, ${v.nodesPerLayer} nodes per layer, ${v.nodeCount} nodes`);
  }
  if (m.features) ctx.say(`  features   ${m.features.files.map((f) => f.path).join(' + ')}: ${formatBytes(m.features.files.reduce((n, f) => n + f.bytes, 0))}`);
}
