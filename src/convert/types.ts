/**
 * Shared types of the checkpoint readers, the graph builder and the bundle writer.
 * Everything here is runtime-agnostic: bytes and Blobs in, no Node-only APIs.
 */

/** Tensor dtypes we read from checkpoints. */
export type CheckpointDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'I8' | 'BOOL';

/**
 * One tensor in a checkpoint, not yet read. `read()` reads only this tensor's bytes
 * (a Blob slice) and converts them to float32, so a converter can walk a 1.8 GB checkpoint
 * holding one tensor at a time.
 */
export interface TensorSource {
  /** Normalised name, without the `transformer.` prefix: `wte.weight`, `h.0.attn.c_attn.weight`, `lm_head.weight`. */
  name: string;
  dtype: CheckpointDType;
  shape: number[];
  /** Where the tensor lives, for error messages: `model.safetensors`, `pytorch_model.bin:archive/data/3`. */
  file: string;
  read(): Promise<Float32Array>;
}

/** The ImageGPT hyper-parameters we need, validated. */
export interface ImageGPTConfig {
  vocabSize: number; // 513
  nPositions: number; // 1024
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nInner: number; // 4 * nEmbd when config has null
  layerNormEpsilon: number;
  activation: 'quick_gelu';
}

/** A checkpoint opened from a Hugging Face folder: config, palette, and lazily read tensors. */
export interface Checkpoint {
  config: ImageGPTConfig;
  /** 512 x 3 palette in [-1, 1] from preprocessor_config.json `clusters`. */
  clusters: number[][];
  tensors: Map<string, TensorSource>;
  /** Raw config.json and preprocessor_config.json objects, kept for provenance. */
  rawConfig: Record<string, unknown>;
  /** Which weight file(s) the tensors came from. */
  weightFiles: string[];
}

/** A file of a checkpoint folder or bundle, as the browser and Node both can give it. */
export type FileMap = Map<string, Blob>;
