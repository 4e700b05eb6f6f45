/**
 * Reads a model bundle (igpt.json + graph files) from a URL or a set of files, checking every
 * file's size and sha256 against the manifest. Errors name the file and the problem.
 */
import { InputError } from '../convert/types.ts';
import type { BundleManifest, BundleSource, BundleVariant, LoadProgress } from './types.ts';

export interface LoadedBundle {
  manifest: BundleManifest;
  variant: BundleVariant;
  /** The graph bytes and, when present, external data keyed by its path. */
  graph: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
  label: string;
}

export function sourceLabel(source: BundleSource): string {
  return source.kind === 'url' ? source.url : (source.label ?? 'files');
}

function joinUrl(base: string, path: string): string {
  return base.endsWith('/') ? base + path : `${base}/${path}`;
}

async function fetchBytes(url: string, name: string, expected: number | null, onProgress?: (loaded: number) => void): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new InputError(name, `could not be downloaded from ${url} (${(err as Error).message})`);
  }
  if (!response.ok) throw new InputError(name, `download failed: HTTP ${response.status} for ${url}`);
  if (!response.body || expected === null) return new Uint8Array(await response.arrayBuffer());
  const out = new Uint8Array(expected);
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > expected) {
      await reader.cancel();
      throw new InputError(name, `is larger than the ${expected} bytes the manifest lists`);
    }
    out.set(value, loaded);
    loaded += value.length;
    onProgress?.(loaded);
  }
  if (loaded !== expected) throw new InputError(name, `has ${loaded} bytes, the manifest lists ${expected} (truncated download?)`);
  return out;
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function validateManifest(value: unknown, name = 'igpt.json'): BundleManifest {
  const m = value as BundleManifest;
  if (!m || typeof m !== 'object' || m.format !== 'igpt-bundle') throw new InputError(name, 'is not an igpt bundle manifest (format is not "igpt-bundle")');
  if (m.version !== 1) throw new InputError(name, `has unsupported version ${String(m.version)}`);
  const c = m.config;
  if (!c || ![c.nLayer, c.nHead, c.nEmbd, c.nPositions, c.vocabSize, c.attentionScale].every((x) => typeof x === 'number' && x > 0)) {
    throw new InputError(name, 'has a missing or invalid "config"');
  }
  if (!Array.isArray(m.palette?.rgb) || m.palette.rgb.length !== 512) throw new InputError(name, 'palette must list 512 RGB colours');
  if (!Array.isArray(m.variants) || m.variants.length === 0) throw new InputError(name, 'lists no model variants');
  if (!m.io || !Array.isArray(m.io.pastKey) || m.io.pastKey.length !== c.nLayer) throw new InputError(name, 'has missing or inconsistent graph input/output names');
  return m;
}

/** Picks the variant: the requested dtype, else the first listed. */
export function pickVariant(manifest: BundleManifest, dtype: 'fp32' | 'fp16' | 'auto', canFp16: boolean): BundleVariant {
  if (dtype !== 'auto') {
    const v = manifest.variants.find((x) => x.dtype === dtype);
    if (!v) throw new InputError('igpt.json', `has no ${dtype} variant (has ${manifest.variants.map((x) => x.dtype).join(', ')})`);
    return v;
  }
  return (canFp16 && manifest.variants.find((x) => x.dtype === 'fp16')) || manifest.variants.find((x) => x.dtype === 'fp32') || manifest.variants[0];
}

export async function readManifest(source: BundleSource): Promise<BundleManifest> {
  let text: string;
  if (source.kind === 'url') {
    text = new TextDecoder().decode(await fetchBytes(joinUrl(source.url, 'igpt.json'), 'igpt.json', null));
  } else {
    const blob = source.files.get('igpt.json');
    if (!blob) throw new InputError(sourceLabel(source), 'has no igpt.json (not a model bundle folder)');
    text = await blob.text();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError('igpt.json', 'is not valid JSON');
  }
  return validateManifest(json);
}

export async function loadBundle(
  source: BundleSource,
  manifest: BundleManifest,
  variant: BundleVariant,
  onProgress?: (p: LoadProgress) => void,
): Promise<LoadedBundle> {
  const total = variant.files.reduce((n, f) => n + f.bytes, 0);
  let done = 0;
  const contents = new Map<string, Uint8Array>();
  for (const file of variant.files) {
    let data: Uint8Array;
    const report = (loaded: number) => onProgress?.({ loaded: done + loaded, total, file: file.path });
    if (source.kind === 'url') {
      data = await fetchBytes(joinUrl(source.url, file.path), file.path, file.bytes, report);
    } else {
      const blob = source.files.get(file.path);
      if (!blob) throw new InputError(file.path, `is missing from the bundle ${sourceLabel(source)}`);
      if (blob.size !== file.bytes) throw new InputError(file.path, `has ${blob.size} bytes, the manifest lists ${file.bytes}`);
      data = new Uint8Array(await blob.arrayBuffer());
      report(data.length);
    }
    const hash = await sha256Hex(data);
    if (hash !== file.sha256) throw new InputError(file.path, `sha256 mismatch: the file is ${hash}, the manifest lists ${file.sha256} (corrupt or replaced file)`);
    done += file.bytes;
    contents.set(file.path, data);
  }
  const graph = contents.get(variant.graph);
  if (!graph) throw new InputError('igpt.json', `variant ${variant.dtype} names graph ${variant.graph} but does not list it among its files`);
  const externalData = variant.files.filter((f) => f.path !== variant.graph).map((f) => ({ path: f.path, data: contents.get(f.path)! }));
  return { manifest, variant, graph, externalData, label: sourceLabel(source) };
}
