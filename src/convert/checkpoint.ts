/**
 * Opens a Hugging Face ImageGPT folder (config.json, preprocessor_config.json and weights as
 * model.safetensors, sharded safetensors, or pytorch_model.bin) as a validated `Checkpoint`
 * whose tensors are read lazily, one Blob slice each.
 */
import { type Checkpoint, type CheckpointDType, type FileMap, type TensorSource } from './types.ts';
import { InputError } from '../errors.ts';
import { expectedTensorShapes, parseClusters, parseImageGPTConfig, parseJsonFile } from './hfconfig.ts';
import { openSafetensors } from './safetensors.ts';
import { openTorchZip } from './torchzip.ts';

export { expectedTensorShapes, type ExpectedTensor } from './hfconfig.ts';

export interface OpenCheckpointOptions {
  /** Force one weight format; by default safetensors is used when present, else pytorch_model.bin. */
  prefer?: 'safetensors' | 'pytorch';
}

/** Dtypes a weight may have; integer and boolean tensors where weights belong are refused. */
export const FLOAT_DTYPES: readonly CheckpointDType[] = ['F32', 'F16', 'BF16', 'F64'];

/** Looks a file up by exact key, else by a unique key ending in `/<name>` (a folder picked with its own name). */
export function findFile(files: FileMap, name: string): [string, Blob] | undefined {
  const exact = files.get(name);
  if (exact) return [name, exact];
  const hits = [...files.keys()].filter((k) => k.endsWith(`/${name}`));
  if (hits.length === 1) return [hits[0], files.get(hits[0])!];
  return undefined;
}

function requireFile(files: FileMap, name: string, why: string): [string, Blob] {
  const f = findFile(files, name);
  if (!f) throw new InputError(name, `missing file: the checkpoint folder has no ${name} (${why})`);
  return f;
}

async function readJson(files: FileMap, name: string, why: string): Promise<Record<string, unknown>> {
  const [key, blob] = requireFile(files, name, why);
  return parseJsonFile(await blob.text(), key);
}

/** Name normalisation: `transformer.h.0.ln_1.weight` -> `h.0.ln_1.weight`; `lm_head.weight` unchanged. */
export function normaliseTensorName(name: string): string {
  return name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
}

/** Legacy attention-mask buffers the 2021 hub pytorch files carry: `h.N.attn.bias`, `h.N.attn.masked_bias`. */
export function isLegacyBuffer(normalisedName: string): boolean {
  return /^h\.\d+\.attn\.(bias|masked_bias)$/.test(normalisedName);
}

/** Opens sharded weights from an index json ({ weight_map: { tensor: shard file } }). */
async function openSharded(
  files: FileMap,
  indexName: string,
  open: (file: string, blob: Blob) => Promise<TensorSource[]>,
): Promise<{ sources: TensorSource[]; weightFiles: string[] }> {
  const [indexKey, indexBlob] = requireFile(files, indexName, 'sharded weights index');
  const index = parseJsonFile(await indexBlob.text(), indexKey);
  const map = index.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new InputError(indexKey, 'missing key weight_map');
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length === 0) throw new InputError(indexKey, 'weight_map is empty');
  const shardNames: string[] = [];
  for (const [tensor, shard] of entries) {
    if (typeof shard !== 'string') throw new InputError(indexKey, `weight_map entry ${tensor} is not a file name`);
    if (!shardNames.includes(shard)) shardNames.push(shard);
  }
  const sources: TensorSource[] = [];
  const weightFiles: string[] = [];
  for (const shard of shardNames) {
    const f = findFile(files, shard);
    if (!f) throw new InputError(shard, `missing file: shard listed in ${indexKey} is not in the folder`);
    const inShard = await open(f[0], f[1]);
    const names = new Set(inShard.map((s) => s.name));
    for (const [tensor, s] of entries) {
      if (s === shard && !names.has(tensor)) throw new InputError(f[0], `tensor ${tensor} listed in ${indexKey} is not in this shard`);
    }
    sources.push(...inShard);
    weightFiles.push(f[0]);
  }
  return { sources, weightFiles };
}

async function openWeights(
  files: FileMap,
  prefer: OpenCheckpointOptions['prefer'],
): Promise<{ sources: TensorSource[]; weightFiles: string[] }> {
  const st = findFile(files, 'model.safetensors');
  const stIndex = findFile(files, 'model.safetensors.index.json');
  const pt = findFile(files, 'pytorch_model.bin');
  const ptIndex = findFile(files, 'pytorch_model.bin.index.json');
  const useSafetensors = async () => {
    if (st) return { sources: await openSafetensors(st[0], st[1]), weightFiles: [st[0]] };
    if (stIndex) return openSharded(files, stIndex[0], openSafetensors);
    return undefined;
  };
  const usePytorch = async () => {
    if (pt) return { sources: await openTorchZip(pt[0], pt[1]), weightFiles: [pt[0]] };
    if (ptIndex) return openSharded(files, ptIndex[0], openTorchZip);
    return undefined;
  };
  if (prefer === 'pytorch') {
    const r = await usePytorch();
    if (!r) throw new InputError('pytorch_model.bin', 'missing file: pytorch weights were asked for but the folder has none');
    return r;
  }
  const r = await useSafetensors();
  if (r) return r;
  if (prefer === 'safetensors') {
    throw new InputError('model.safetensors', 'missing file: safetensors weights were asked for but the folder has none');
  }
  const p = await usePytorch();
  if (p) return p;
  throw new InputError(
    'model.safetensors',
    'missing file: no weights found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin)',
  );
}

/**
 * Opens and validates an ImageGPT checkpoint folder. Reads only the JSON files, the safetensors
 * headers or the torch zip directory and pickle; tensor data is read by each `TensorSource.read()`.
 * `rawConfig` holds `{ 'config.json': ..., 'preprocessor_config.json': ... }`.
 */
export async function openCheckpoint(files: FileMap, options: OpenCheckpointOptions = {}): Promise<Checkpoint> {
  const rawCfg = await readJson(files, 'config.json', 'model hyper-parameters');
  const configKey = findFile(files, 'config.json')![0];
  const config = parseImageGPTConfig(rawCfg, configKey);
  const rawPre = await readJson(files, 'preprocessor_config.json', 'colour palette');
  const clusters = parseClusters(rawPre, findFile(files, 'preprocessor_config.json')![0]);

  const { sources, weightFiles } = await openWeights(files, options.prefer);
  const tensors = new Map<string, TensorSource>();
  for (const s of sources) {
    const name = normaliseTensorName(s.name);
    if (isLegacyBuffer(name)) continue;
    if (tensors.has(name)) {
      throw new InputError(s.file, `duplicate tensor ${name} (also in ${tensors.get(name)!.file})`);
    }
    tensors.set(name, { ...s, name });
  }

  for (const [name, exp] of expectedTensorShapes(config)) {
    const t = tensors.get(name);
    if (!t) {
      if (exp.optional) continue;
      throw new InputError(weightFiles.join(', '), `missing tensor ${name} (expected shape [${exp.shape.join(', ')}])`);
    }
    if (!FLOAT_DTYPES.includes(t.dtype)) {
      throw new InputError(t.file, `tensor ${name} has ${t.dtype === 'BOOL' ? 'boolean' : 'integer'} dtype ${t.dtype} where a float tensor belongs (ImageGPT weights are ${FLOAT_DTYPES.join(', ')})`);
    }
    if (t.shape.length !== exp.shape.length || t.shape.some((d, i) => d !== exp.shape[i])) {
      throw new InputError(
        t.file,
        `tensor ${name} has wrong shape [${t.shape.join(', ')}], expected [${exp.shape.join(', ')}] for this config`,
      );
    }
  }

  return {
    config,
    clusters,
    tensors,
    rawConfig: { 'config.json': rawCfg, 'preprocessor_config.json': rawPre },
    weightFiles,
  };
}
