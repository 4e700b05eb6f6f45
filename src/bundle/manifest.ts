/**
 * The model bundle format: a folder holding `igpt.json` (this manifest) and the ONNX graph files it
 * lists. One type, one validator and one variant picker for the converter, the engine, the worker
 * and the CLI. Pure: no DOM, no Node.
 */
import { InputError } from '../errors.ts';

/** iGPT's fixed geometry: 32x32 images, 1024 positions, 512 palette colours, start token 512. */
export const IMAGE_SIZE = 32;
export const IMAGE_TOKENS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_COLOURS = 512;
export const START_TOKEN = NUM_COLOURS;
export const MANIFEST_FILE = 'igpt.json';

/**
 * Weight variants: fp32; fp16 (weights, activations and cache in half precision); q4 (the layers'
 * weight matrices 4-bit through onnxruntime's MatMulNBits, the rest fp32). q4 is picked only when
 * asked for by name (or when a bundle has nothing else): see `pickVariant`.
 */
export type WeightDType = 'fp32' | 'fp16' | 'q4';
export const WEIGHT_DTYPES: readonly WeightDType[] = ['fp32', 'fp16', 'q4'];

/** A model bundle's manifest, `igpt.json`. */
export interface BundleManifest {
  format: 'igpt-bundle';
  version: 1;
  name: string;
  config: {
    nLayer: number;
    nHead: number;
    nEmbd: number;
    nInner: number;
    nPositions: number; // 1024
    vocabSize: number; // 513 (512 colours + start token)
    startToken: number; // 512
    imageSize: number; // 32
    /** Multiplier of the attention scores (GroupQueryAttention `scale`). */
    attentionScale: number;
  };
  /** 512 RGB triples (0-255) and the raw clusters in [-1, 1]. */
  palette: { rgb: number[][]; clusters: number[][] };
  /** One entry per dtype variant; the first is the default. */
  variants: BundleVariant[];
  /** Graph input/output names, identical for every variant. */
  io: {
    inputIds: string; // int64 [B, S]
    positionIds: string; // int64 [B, S]
    seqlensK: string; // int32 [B]: total length - 1
    totalSequenceLength: string; // int32 scalar
    pastKey: string[]; // per layer, [B, H, L, headDim]
    pastValue: string[];
    logits: string; // float32 [B, S, 512]
    presentKey: string[];
    presentValue: string[];
  };
  provenance: {
    source: string; // e.g. "openai/imagegpt-small" or a folder name
    revision?: string;
    weightFiles: string[];
    converter: string; // "igpt-playground <version>"
    createdAt: string; // ISO date
    licence?: string;
    notes?: string;
    /**
     * How config.attentionScale was chosen: 'exact' 1/sqrt(head_dim), 'transformers'
     * 1/int(sqrt(head_dim)) (Hugging Face transformers), 'custom' a given number. Absent in
     * bundles written before it was recorded.
     */
    attentionScaleMode?: 'exact' | 'transformers' | 'custom';
  };
  /** Optional: the features graph for linear probes (`igpt export --features`), see src/convert/features.ts. */
  features?: FeaturesManifestEntry;
}

/** The optional `features` entry of igpt.json: the graph of pooled per-layer features (docs/PROBE.md). */
export interface FeaturesManifestEntry {
  /** The graph file among `files`. */
  graph: string;
  /** The graph and, when the weights pass the external-data threshold, its data file. */
  files: BundleFile[];
  io: FeaturesIo;
  /** nLayer + 1: the embeddings, then each layer's output. */
  layers: number;
  sequenceLength: number;
  pooling: string;
}

export interface FeaturesIo {
  /** int64 [B, 1024]: start token + the image's first 1023 tokens. */
  inputIds: string;
  /** float32 [B, nLayer + 1, nEmbd]. */
  features: string;
}

export interface BundleFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface BundleVariant {
  dtype: WeightDType;
  /** The graph file, and its external data file when weights exceed 1.5 GB. */
  files: BundleFile[];
  graph: string; // path of the .onnx file among `files`
  nodesPerLayer: number;
  nodeCount: number;
  /** q4 only: how the weight matrices were quantised. */
  quantization?: { op: 'MatMulNBits'; bits: 4; blockSize: number; symmetric: boolean };
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
const isNames = (x: unknown, n: number) => Array.isArray(x) && x.length === n && x.every((s) => typeof s === 'string');

function validPalette(rows: unknown, lo: number, hi: number): boolean {
  return (
    Array.isArray(rows) &&
    rows.length === NUM_COLOURS &&
    rows.every((c) => Array.isArray(c) && c.length === 3 && c.every((v) => typeof v === 'number' && v >= lo && v <= hi))
  );
}

/** Checks a parsed igpt.json; every problem is an InputError naming `name` (the file or URL). */
export function validateManifest(value: unknown, name = MANIFEST_FILE): BundleManifest {
  const bad = (problem: string): never => {
    throw new InputError(name, problem);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) bad('is not a JSON object');
  const m = value as BundleManifest;
  if (m.format !== 'igpt-bundle') bad(`is not an igpt bundle manifest (format is ${JSON.stringify(m.format)}, expected "igpt-bundle")`);
  if (m.version !== 1) bad(`has unsupported version ${JSON.stringify(m.version)} (this app reads version 1)`);
  const c = m.config;
  if (!c || ![c.nLayer, c.nHead, c.nEmbd, c.nInner].every(isCount) || !(typeof c.attentionScale === 'number' && c.attentionScale > 0)) {
    bad('has a missing or invalid "config"');
  }
  if (c.nEmbd % c.nHead !== 0) bad(`config: width ${c.nEmbd} is not a multiple of ${c.nHead} heads`);
  if (c.nPositions !== IMAGE_TOKENS || c.imageSize !== IMAGE_SIZE || c.startToken !== START_TOKEN || c.vocabSize !== NUM_COLOURS + 1) {
    bad(`config: expected ${IMAGE_SIZE}x${IMAGE_SIZE} images, ${IMAGE_TOKENS} positions and ${NUM_COLOURS} colours + start token`);
  }
  if (!validPalette(m.palette?.rgb, 0, 255)) bad(`has no ${NUM_COLOURS}-colour palette (palette.rgb)`);
  if (!validPalette(m.palette?.clusters, -1.0001, 1.0001)) bad(`has no ${NUM_COLOURS} palette clusters in [-1, 1] (palette.clusters)`);
  if (!Array.isArray(m.variants) || m.variants.length === 0) bad('lists no model variants');
  for (const v of m.variants) {
    if (!v || !WEIGHT_DTYPES.includes(v.dtype)) bad(`has a variant of unknown dtype ${JSON.stringify(v?.dtype)}`);
    const filesOk =
      Array.isArray(v.files) &&
      v.files.every((f) => f && typeof f.path === 'string' && Number.isInteger(f.bytes) && f.bytes >= 0 && /^[0-9a-f]{64}$/.test(f.sha256));
    if (!filesOk) bad(`variant ${v.dtype}: every file needs a path, a byte size and a sha256`);
    if (!v.files.some((f) => f.path === v.graph)) bad(`variant ${v.dtype} names graph ${JSON.stringify(v.graph)} but does not list it among its files`);
  }
  const io = m.io;
  const names = ['inputIds', 'positionIds', 'seqlensK', 'totalSequenceLength', 'logits'] as const;
  if (!io || !names.every((k) => typeof io[k] === 'string') || ![io.pastKey, io.pastValue, io.presentKey, io.presentValue].every((a) => isNames(a, c.nLayer))) {
    bad('has missing or inconsistent graph input/output names ("io")');
  }
  return m;
}

/** Parses and validates the text of an igpt.json. */
export function parseManifest(text: string, name = MANIFEST_FILE): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(name, 'is not valid JSON (is this a model bundle folder?)');
  }
  return validateManifest(json, name);
}

/**
 * The variant to load: the requested dtype; for 'auto' fp16 where the GPU can run it, else fp32,
 * else any other full-precision variant. 'auto' never picks q4 while the bundle has another
 * variant: 4-bit weights change the model's outputs (docs/PARITY.md), so q4 is loaded only when
 * asked for by name, or from a bundle that holds nothing else.
 */
export function pickVariant(manifest: BundleManifest, dtype: WeightDType | 'auto', canFp16: boolean): BundleVariant {
  const vs = manifest.variants;
  if (dtype !== 'auto') {
    const v = vs.find((x) => x.dtype === dtype);
    if (!v) throw new InputError(manifest.name, `has no ${dtype} variant (has ${vs.map((x) => x.dtype).join(', ')})`);
    return v;
  }
  return (canFp16 && vs.find((x) => x.dtype === 'fp16')) || vs.find((x) => x.dtype === 'fp32') || vs.find((x) => x.dtype !== 'q4') || vs[0];
}

export function variantBytes(v: BundleVariant): number {
  return v.files.reduce((s, f) => s + f.bytes, 0);
}

/** Normalise what the user typed: a folder URL (ending in /) or the URL of its igpt.json. */
export function resolveBundleUrl(input: string, base: string): string {
  const text = input.trim();
  if (!text) throw new InputError('model URL', 'is empty');
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new InputError(text, 'is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(text, `unsupported protocol ${url.protocol} (use http or https)`);
  url.hash = '';
  if (url.pathname.endsWith('/' + MANIFEST_FILE)) url.pathname = url.pathname.slice(0, -MANIFEST_FILE.length);
  else if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/** Picked files (a folder or loose files) as a bundle file map: paths relative to the folder holding igpt.json. */
export function bundleFileMap(entries: { path: string; file: Blob }[], label: string): Map<string, Blob> {
  const manifestEntry = entries.find((e) => e.path === MANIFEST_FILE || e.path.endsWith('/' + MANIFEST_FILE));
  if (!manifestEntry) throw new InputError(label, `contains no ${MANIFEST_FILE} (choose the bundle folder or its files)`);
  const prefix = manifestEntry.path.slice(0, manifestEntry.path.length - MANIFEST_FILE.length);
  const out = new Map<string, Blob>();
  for (const e of entries) if (e.path.startsWith(prefix)) out.set(e.path.slice(prefix.length), e.file);
  return out;
}
