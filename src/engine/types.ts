/**
 * The engine's public API: the same in a Web Worker, in Node (CLI) and in tests.
 * The UI talks to it only through these types (via the worker protocol in src/worker/).
 */

import type { FeaturesManifestEntry } from '../convert/features.ts';

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
  };
  /** Optional: the features graph for linear probes (`igpt export --features`), see src/convert/features.ts. */
  features?: FeaturesManifestEntry;
}

export interface BundleVariant {
  dtype: 'fp32' | 'fp16';
  /** The graph file, and its external data file when weights exceed 1.5 GB. */
  files: { path: string; bytes: number; sha256: string }[];
  graph: string; // path of the .onnx file among `files`
  nodesPerLayer: number;
  nodeCount: number;
}

/** Where a bundle comes from: a URL (folder URL ending in /) or a set of files. */
export type BundleSource = { kind: 'url'; url: string } | { kind: 'files'; files: Map<string, Blob>; label?: string };

export type Backend = 'webgpu' | 'wasm';

export interface SampleSettings {
  /** 0 means greedy. */
  temperature: number;
  /** 0 means off. */
  topK: number;
  /** 1 means off. */
  topP: number;
  /** 32-bit unsigned seed of this sample's own PRNG. */
  seed: number;
}

export interface GenerateRequest {
  /** Palette tokens of the kept prefix (raster order), without the start token. Length 0..1023. */
  prompt: ArrayLike<number>;
  /** One entry per sample (batch row). */
  samples: SampleSettings[];
  /** Default: fill the image (1024 - prompt.length). */
  maxNewTokens?: number;
}

/** Emitted after each decode step. */
export interface StepEvent {
  type: 'step';
  /** 0-based index of the generated token; its pixel position is prompt.length + step. */
  step: number;
  position: number;
  /** The token drawn for each sample at this step. */
  tokens: Int32Array;
  /** Entropy in bits of each sample's (temperature-adjusted, truncated) distribution. */
  entropy: Float32Array;
  /** Top candidates of each sample's distribution: B x TOP_CANDIDATES tokens and probabilities. */
  candidates: Int32Array;
  candidateProbs: Float32Array;
  elapsedMs: number;
}

export const TOP_CANDIDATES = 5;

export interface GenerateResult {
  /** Generated tokens only, per sample. */
  tokens: Int32Array[];
  prefillMs: number;
  decodeMs: number;
  steps: number;
  tokensPerSecond: number;
  aborted: boolean;
}

export interface ScoreResult {
  /** Mean negative log2-likelihood per token, teacher forced. */
  bitsPerToken: number;
  /** Per position (1024), -log2 p(token). */
  bits: Float32Array;
}

export interface EngineInfo {
  backend: Backend;
  /** Adapter description, or why wasm was used. */
  adapter: string;
  fallbackReason?: string;
  dtype: 'fp32' | 'fp16';
  modelBytes: number;
  manifest: BundleManifest;
}

export interface LoadProgress {
  loaded: number;
  total: number;
  file: string;
}

export interface LoadOptions {
  /** 'auto' tries WebGPU then falls back to wasm. */
  backend?: Backend | 'auto';
  dtype?: 'fp32' | 'fp16' | 'auto';
  onProgress?: (p: LoadProgress) => void;
  /** onnxruntime wasm threads (default: 1, or half the cores when the page is cross-origin isolated). */
  wasmThreads?: number;
}

export interface Engine {
  readonly info: EngineInfo;
  generate(
    request: GenerateRequest,
    options?: { onStep?: (event: StepEvent) => void; signal?: AbortSignal },
  ): Promise<GenerateResult>;
  /** Teacher-forced scores of full 1024-token images. */
  score(images: ArrayLike<number>[]): Promise<ScoreResult[]>;
  dispose(): Promise<void>;
}
