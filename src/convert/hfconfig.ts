/**
 * Validation of Hugging Face ImageGPT `config.json` and `preprocessor_config.json`, and the
 * tensor names and shapes a checkpoint of a given config must hold.
 */
import { type ImageGPTConfig } from './types.ts';
import { InputError } from '../errors.ts';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses JSON bytes/text, naming `file` on failure. */
export function parseJsonFile(text: string, file: string): Record<string, unknown> {
  if (text.trim() === '') throw new InputError(file, 'empty file, expected a JSON object');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `invalid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new InputError(file, 'expected a JSON object');
  return v;
}

/** Validates an ImageGPT config.json object. */
export function parseImageGPTConfig(raw: unknown, file = 'config.json'): ImageGPTConfig {
  if (!isObject(raw)) throw new InputError(file, 'expected a JSON object');
  const arch = raw.architectures;
  const archIsImageGPT = Array.isArray(arch) && arch.some((a) => typeof a === 'string' && a.startsWith('ImageGPT'));
  if (raw.model_type !== 'imagegpt' && !archIsImageGPT) {
    throw new InputError(
      file,
      `not an ImageGPT config (model_type ${JSON.stringify(raw.model_type ?? null)}, architectures ${JSON.stringify(arch ?? null)})`,
    );
  }
  const posInt = (key: string): number => {
    if (!(key in raw) || raw[key] === null || raw[key] === undefined) throw new InputError(file, `missing config key ${key}`);
    const v = raw[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new InputError(file, `config key ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const nEmbd = posInt('n_embd');
  const nLayer = posInt('n_layer');
  const nHead = posInt('n_head');
  const vocabSize = posInt('vocab_size');
  const nPositions = posInt('n_positions');
  if (vocabSize !== 513) throw new InputError(file, `config key vocab_size must be 513 (512 colours + start token), got ${vocabSize}`);
  if (nEmbd % nHead !== 0) throw new InputError(file, `n_embd ${nEmbd} is not divisible by n_head ${nHead}`);
  let nInner = 4 * nEmbd;
  if (raw.n_inner !== undefined && raw.n_inner !== null) nInner = posInt('n_inner');
  // transformers' ImageGPTConfig defaults activation_function to quick_gelu.
  const act = raw.activation_function ?? 'quick_gelu';
  if (act !== 'quick_gelu') throw new InputError(file, `activation_function must be quick_gelu, got ${JSON.stringify(act)}`);
  let layerNormEpsilon = 1e-5;
  if (raw.layer_norm_epsilon !== undefined && raw.layer_norm_epsilon !== null) {
    const e = raw.layer_norm_epsilon;
    if (typeof e !== 'number' || !(e > 0) || !Number.isFinite(e)) {
      throw new InputError(file, `config key layer_norm_epsilon must be a positive number, got ${JSON.stringify(e)}`);
    }
    layerNormEpsilon = e;
  }
  return { vocabSize, nPositions, nEmbd, nLayer, nHead, nInner, layerNormEpsilon, activation: 'quick_gelu' };
}

/** Validates `clusters` of a preprocessor_config.json object: 512 x 3 finite numbers. */
export function parseClusters(raw: unknown, file = 'preprocessor_config.json'): number[][] {
  if (!isObject(raw)) throw new InputError(file, 'expected a JSON object');
  const c = raw.clusters;
  if (c === undefined || c === null) throw new InputError(file, 'missing key clusters (the 512 x 3 colour palette)');
  if (!Array.isArray(c) || c.length !== 512) {
    throw new InputError(file, `clusters must be 512 x 3 numbers, got ${Array.isArray(c) ? c.length : typeof c} rows`);
  }
  return c.map((row, i) => {
    if (!Array.isArray(row) || row.length !== 3 || !row.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new InputError(file, `clusters row ${i} must be 3 finite numbers, got ${JSON.stringify(row)}`);
    }
    return row.slice() as number[];
  });
}

export interface ExpectedTensor {
  shape: number[];
  /** Biases may be absent (the original TF weights have none); absent means zero. */
  optional: boolean;
}

/**
 * Every tensor an ImageGPT checkpoint of `config` holds, by normalised name, in model order:
 * `wte.weight`, `wpe.weight`, `h.{i}.*`, `ln_f.weight`, `lm_head.weight`. Conv1D weights are [in, out].
 */
export function expectedTensorShapes(config: ImageGPTConfig): Map<string, ExpectedTensor> {
  const d = config.nEmbd;
  const inner = config.nInner;
  const m = new Map<string, ExpectedTensor>();
  const req = (name: string, shape: number[]) => m.set(name, { shape, optional: false });
  const opt = (name: string, shape: number[]) => m.set(name, { shape, optional: true });
  req('wte.weight', [config.vocabSize, d]);
  req('wpe.weight', [config.nPositions, d]);
  for (let i = 0; i < config.nLayer; i++) {
    const p = `h.${i}.`;
    req(`${p}ln_1.weight`, [d]);
    req(`${p}attn.c_attn.weight`, [d, 3 * d]);
    opt(`${p}attn.c_attn.bias`, [3 * d]);
    req(`${p}attn.c_proj.weight`, [d, d]);
    opt(`${p}attn.c_proj.bias`, [d]);
    req(`${p}ln_2.weight`, [d]);
    req(`${p}mlp.c_fc.weight`, [d, inner]);
    opt(`${p}mlp.c_fc.bias`, [inner]);
    req(`${p}mlp.c_proj.weight`, [inner, d]);
    opt(`${p}mlp.c_proj.bias`, [d]);
  }
  req('ln_f.weight', [d]);
  req('lm_head.weight', [config.vocabSize - 1, d]);
  return m;
}
