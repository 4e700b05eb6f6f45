/**
 * Node-only: a file of pooled features (`igpt probe --cache FILE`), so probes can be re-run with
 * other splits and seeds without another pass of the model. One JSON header line (what the
 * features were computed from), then float32 little-endian [images, layers, width]. A cache whose
 * header does not match is ignored and rewritten.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { FEATURES_POOLING } from '../convert/features.ts';
import type { BundleManifest } from '../bundle/index.ts';

export interface FeaturesCacheKey {
  format: 'igpt-features-cache-1';
  pooling: string;
  /** sha256 of the graph files the features come from, and the attention scale. */
  model: string;
  /** sha256 of the images' tokens, in order. */
  tokens: string;
  images: number;
  layers: number;
  width: number;
}

export function featuresCacheKey(manifest: BundleManifest, tokens: ArrayLike<number>[]): FeaturesCacheKey {
  const variant = manifest.variants.find((v) => v.dtype === 'fp32') ?? manifest.variants[0];
  const files = manifest.features ? manifest.features.files : variant.files;
  const model = createHash('sha256')
    .update(JSON.stringify({ files: files.map((f) => f.sha256), scale: manifest.config.attentionScale }))
    .digest('hex');
  const h = createHash('sha256');
  for (const t of tokens) h.update(new Uint8Array(Int32Array.from(t).buffer));
  return {
    format: 'igpt-features-cache-1',
    pooling: FEATURES_POOLING,
    model,
    tokens: h.digest('hex'),
    images: tokens.length,
    layers: manifest.config.nLayer + 1,
    width: manifest.config.nEmbd,
  };
}

/** The cached features, or null when the file is missing or was made from something else. */
export async function readFeaturesCache(path: string, key: FeaturesCacheKey): Promise<Float32Array | null> {
  const bytes = await readFile(path).catch(() => null);
  if (!bytes) return null;
  const newline = bytes.indexOf(10);
  if (newline < 0) return null;
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(0, newline).toString('utf8'));
  } catch {
    return null;
  }
  if (JSON.stringify(header) !== JSON.stringify(key)) return null;
  const body = bytes.subarray(newline + 1);
  if (body.length !== key.images * key.layers * key.width * 4) return null;
  return new Float32Array(Uint8Array.from(body).buffer);
}

export async function writeFeaturesCache(path: string, key: FeaturesCacheKey, features: Float32Array): Promise<void> {
  const header = Buffer.from(JSON.stringify(key) + '\n', 'utf8');
  const temp = `${path}.part-${process.pid}`;
  await writeFile(temp, Buffer.concat([header, Buffer.from(features.buffer, features.byteOffset, features.byteLength)]));
  await rename(temp, path);
}
