/** `igpt export <hf-folder | owner/name> --out DIR`: converts a Hugging Face ImageGPT checkpoint to a model bundle. */
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { readdir, realpath, stat } from 'node:fs/promises';
import { openCheckpoint } from '../../convert/checkpoint.ts';
import { parseDtypes, writeBundle } from '../../convert/bundle.ts';
import { type AttentionScaleSpec } from '../../convert/graph.ts';
import { InputError } from '../../errors.ts';
import type { BundleManifest } from '../../bundle/index.ts';
import { choiceOption, parseArgs, parseNumberIn, UsageError, type OptionSpecs } from '../args.ts';
import { cleanStaleTemporaries, createFolderSink } from '../fsSink.ts';
import { downloadHubModel, stderrProgress } from '../hub.ts';
import { readFolderFiles } from '../nodeFiles.ts';
import { formatBytes } from '../progress.ts';
import { makeCtx, resolvePath, writeJson, type CliIO, type Ctx } from './common.ts';

export const EXPORT_USAGE = `usage: igpt export <hf-folder | owner/name> --out DIR [--dtype fp32,fp16,q4] [--q4-symmetric]
                   [--attention-scale exact|transformers|X] [--revision REV]
                   [--prefer safetensors|pytorch] [--name NAME] [--features] [--json]
  Converts an ImageGPT checkpoint (a local Hugging Face folder, or a hub model id that is downloaded
  into $IGPT_CACHE, default ~/.cache/igpt/hub) into a model bundle folder DIR (igpt.json + ONNX graphs).
  --dtype: one or more of fp32 (default), fp16, q4 (4-bit weight matrices, MatMulNBits, block 32;
  asymmetric with zero points unless --q4-symmetric). --attention-scale: exact = 1/sqrt(head_dim)
  (default), transformers = 1/int(sqrt(head_dim)) as Hugging Face transformers computes it, or a number.
  --features also writes model.features.onnx, the graph igpt probe runs (without it, igpt probe
  builds the same graph in memory from model.onnx).
  The bundle is written to a temporary folder and moved into place only when complete; Ctrl-C
  removes it.`;

const SPECS = {
  out: { type: 'string', short: 'o' },
  dtype: { type: 'string' },
  revision: { type: 'string' },
  'attention-scale': { type: 'string' },
  'q4-symmetric': { type: 'boolean' },
  prefer: { type: 'string' },
  name: { type: 'string' },
  features: { type: 'boolean' },
  json: { type: 'boolean' },
} satisfies OptionSpecs;

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  return env.IGPT_CACHE ? join(env.IGPT_CACHE) : join(homedir(), '.cache', 'igpt', 'hub');
}

/** `--attention-scale exact|transformers|X`. */
export function parseAttentionScale(raw: string | undefined): AttentionScaleSpec | undefined {
  if (raw === undefined) return undefined;
  const word = raw.trim().toLowerCase();
  if (word === 'exact' || word === 'transformers') return word;
  if (!/^[+]?[\d.]/.test(word)) throw new UsageError(`--attention-scale must be exact, transformers or a positive number, got "${raw}"`);
  return parseNumberIn(raw, '--attention-scale', Number.MIN_VALUE, 1e6);
}

/** The real path of `p`, or of its nearest existing ancestor with the rest appended. */
async function realPathish(p: string): Promise<string> {
  const rest: string[] = [];
  let at = p;
  for (;;) {
    try {
      return join(await realpath(at), ...rest);
    } catch {
      const up = dirname(at);
      if (up === at) return p;
      rest.unshift(basename(at));
      at = up;
    }
  }
}

const isInside = (child: string, parent: string) => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** Refuses --out folders whose replacement would destroy something other than an old bundle. */
async function checkOut(out: string, input: string | undefined): Promise<void> {
  if (input) {
    const [realOut, realIn] = [await realPathish(out), await realPathish(input)];
    if (isInside(realIn, realOut)) {
      throw new InputError(out, 'the output folder is (or contains) the input checkpoint folder; choose another --out');
    }
    if (isInside(realOut, realIn)) {
      throw new InputError(out, `the output folder is inside the input checkpoint folder ${input}; choose an --out outside it`);
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
  const ctx = makeCtx(io, args.values.json);
  if (args.positionals.length !== 1) throw new UsageError(`export takes one checkpoint (a folder or owner/name), got ${args.positionals.length}`);
  const outArg = args.values.out;
  if (!outArg) throw new UsageError('export needs --out DIR');
  const input = args.positionals[0];
  const dtypes = parseDtypes(args.values.dtype ?? 'fp32');
  const prefer = args.values.prefer !== undefined ? choiceOption(args, 'prefer', ['safetensors', 'pytorch'] as const, 'safetensors') : undefined;
  const attentionScale = parseAttentionScale(args.values['attention-scale']);
  const q4Symmetric = !!args.values['q4-symmetric'];
  if (q4Symmetric && !dtypes.includes('q4')) throw new UsageError('--q4-symmetric needs --dtype q4 (or a list holding q4)');
  const revisionArg = args.values.revision;
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
  // Temporary folders of an earlier export to the same --out that crashed or was killed -9.
  for (const name of await cleanStaleTemporaries(out)) ctx.note(`igpt: removed ${name}, left by an earlier export that did not finish`);

  const files = await readFolderFiles(folder);
  const ckpt = await openCheckpoint(files, { prefer });
  const name = args.values.name ?? (source.includes('/') ? source.split('/')[1] : source);
  const sink = await createFolderSink(out);
  // Ctrl-C or a kill: remove the unfinished bundle before exiting (the default would leave it).
  const onSignal = (signal: NodeJS.Signals) => {
    sink.abortSync();
    io.stderr.write(`igpt: export interrupted (${signal}); removed the unfinished bundle\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let manifest: BundleManifest;
  try {
    manifest = await writeBundle(ckpt, sink, { name, dtypes, source, revision, attentionScale, q4Symmetric, features: args.values.features === true });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

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
    attention_scale_mode: m.provenance.attentionScaleMode ?? null,
    variants: m.variants.map((v) => ({
      dtype: v.dtype,
      graph: v.graph,
      bytes: v.files.reduce((n, f) => n + f.bytes, 0),
      files: v.files,
      nodes_per_layer: v.nodesPerLayer,
      node_count: v.nodeCount,
      ...(v.quantization ? { quantization: v.quantization } : {}),
    })),
    ...(m.features ? { features: { graph: m.features.graph, bytes: m.features.files.reduce((n, f) => n + f.bytes, 0), files: m.features.files } } : {}),
  };
}

function printSummary(ctx: Ctx, m: BundleManifest, out: string): void {
  const c = m.config;
  ctx.say(`wrote ${out}`);
  ctx.say(`  model      ${m.name} (from ${m.provenance.source}${m.provenance.revision ? `@${m.provenance.revision}` : ''}; ${m.provenance.weightFiles.join(', ')})`);
  const mode = m.provenance.attentionScaleMode;
  ctx.say(`  config     ${c.nLayer} layers, ${c.nHead} heads, width ${c.nEmbd}, inner ${c.nInner}, ${c.nPositions} positions, attention scale ${c.attentionScale}${mode ? ` (${mode})` : ''}`);
  for (const v of m.variants) {
    const bytes = v.files.reduce((n, f) => n + f.bytes, 0);
    ctx.say(`  ${v.dtype.padEnd(10)} ${v.files.map((f) => f.path).join(' + ')}: ${formatBytes(bytes)}, ${v.nodesPerLayer} nodes per layer, ${v.nodeCount} nodes`);
  }
  if (m.features) ctx.say(`  features   ${m.features.files.map((f) => f.path).join(' + ')}: ${formatBytes(m.features.files.reduce((n, f) => n + f.bytes, 0))}`);
}
