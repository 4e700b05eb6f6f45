/**
 * Pooled per-layer features of whole images (for linear probes), from a bundle's features graph.
 * The same code in Node (CLI, tests) and in a browser worker.
 *
 * A bundle exported with `igpt export --features` lists `model.features.onnx` in igpt.json
 * (`features`); for any other bundle the same graph is built in memory from the weights of its
 * decoder graph (the fp32 variant when there is one), so every bundle can be probed.
 * What the features are: src/convert/features.ts and docs/PROBE.md.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { CONVERTER_VERSION } from '../convert/bundle.ts';
import { buildFeaturesGraph, FEATURES_SEQUENCE_LENGTH, featuresInput, type FeaturesManifestEntry } from '../convert/features.ts';
import { checkpointFromDecoderGraph } from '../convert/graphCheckpoint.ts';
import { concatChunks, encodeMessage } from '../convert/onnx/proto.ts';
import { loadBundle, readManifest, type BundleManifest, type BundleSource, type BundleStore, type BundleVariant, type LoadProgress, type ManifestRead } from '../bundle/index.ts';
import { InputError } from '../errors.ts';

export interface FeatureExtractorOptions {
  /** Default wasm. WebGPU needs a device (the browser, or Dawn in Node). */
  backend?: 'wasm' | 'webgpu';
  /** onnxruntime wasm threads (default 1, or up to 4 when the page is cross-origin isolated). */
  wasmThreads?: number;
  onProgress?: (p: LoadProgress) => void;
  /** Verified files kept by the page (Cache Storage), as for the engine. */
  store?: BundleStore;
  signal?: AbortSignal;
}

export interface ExtractOptions {
  /** Images per session run (default 2; attention scores take batch x heads x 4 MiB). */
  batchSize?: number;
  /** Called after each batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
  /** Stops before the next batch; the result then holds the images done. */
  signal?: AbortSignal;
}

export interface ExtractResult {
  /** float32 [done, layers, width]: layer 0 is the embeddings, layer l the output of block l. */
  features: Float32Array;
  done: number;
  aborted: boolean;
}

export interface FeatureExtractor {
  readonly manifest: BundleManifest;
  /** nLayer + 1. */
  readonly layers: number;
  readonly width: number;
  /** Where the graph came from: the bundle's features graph, or built from its decoder graph. */
  readonly graphSource: 'bundle' | 'decoder';
  readonly backend: 'wasm' | 'webgpu';
  extract(images: ArrayLike<number>[], options?: ExtractOptions): Promise<ExtractResult>;
  dispose(): Promise<void>;
}

/** Checks the optional `features` entry of a manifest; null when absent. */
export function featuresEntry(manifest: BundleManifest, name = 'igpt.json'): FeaturesManifestEntry | null {
  const f = (manifest as { features?: FeaturesManifestEntry }).features;
  if (f === undefined || f === null) return null;
  const ok =
    typeof f === 'object' &&
    typeof f.graph === 'string' &&
    Array.isArray(f.files) &&
    f.files.some((x) => x?.path === f.graph) &&
    f.files.every((x) => typeof x?.path === 'string' && typeof x.bytes === 'number' && typeof x.sha256 === 'string') &&
    typeof f.io?.inputIds === 'string' &&
    typeof f.io?.features === 'string' &&
    f.layers === manifest.config.nLayer + 1 &&
    f.sequenceLength === FEATURES_SEQUENCE_LENGTH;
  if (!ok) throw new InputError(name, 'has an invalid "features" entry (graph, files, io, layers, sequenceLength)');
  return f;
}

interface GraphBytes {
  graph: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
  io: { inputIds: string; features: string };
  label: string;
}

async function bundleFeaturesGraph(source: BundleSource, read: ManifestRead, entry: FeaturesManifestEntry, options: FeatureExtractorOptions): Promise<GraphBytes> {
  const pseudo: BundleVariant = { dtype: 'fp32', files: entry.files, graph: entry.graph, nodesPerLayer: 0, nodeCount: 0 };
  const loaded = await loadBundle(source, read, pseudo, options);
  return { graph: loaded.graph, externalData: loaded.externalData, io: entry.io, label: `${loaded.label}/${entry.graph}` };
}

async function derivedFeaturesGraph(source: BundleSource, read: ManifestRead, options: FeatureExtractorOptions): Promise<GraphBytes> {
  const { manifest } = read;
  const variant = manifest.variants.find((v) => v.dtype === 'fp32') ?? manifest.variants[0];
  const loaded = await loadBundle(source, read, variant, options);
  const label = `${loaded.label}/${variant.graph}`;
  const ckpt = checkpointFromDecoderGraph(loaded.graph, manifest.config, { label, clusters: manifest.palette.clusters, externalData: loaded.externalData });
  const built = await buildFeaturesGraph(ckpt, { producerVersion: CONVERTER_VERSION, attentionScale: manifest.config.attentionScale });
  const externalData: GraphBytes['externalData'] = [];
  if (built.externalData) {
    const { location, initializers } = built.externalData;
    externalData.push({ path: location, data: await concatChunks((async function* () { for (const w of initializers) yield await w.produce(); })()) });
  }
  return { graph: await concatChunks(encodeMessage(built.model)), externalData, io: built.io, label: `${label} (features graph built from it)` };
}

function configureWasm(threads?: number): void {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const cores = g.navigator?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = threads ?? (g.crossOriginIsolated ? Math.min(4, Math.ceil(cores / 2)) : 1);
}

export async function openFeatureExtractor(source: BundleSource, options: FeatureExtractorOptions = {}): Promise<FeatureExtractor> {
  const read = await readManifest(source, options);
  const { manifest } = read;
  const entry = featuresEntry(manifest);
  const g = entry ? await bundleFeaturesGraph(source, read, entry, options) : await derivedFeaturesGraph(source, read, options);
  const backend = options.backend ?? 'wasm';
  configureWasm(options.wasmThreads);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [backend === 'webgpu' ? { name: 'webgpu' } : { name: 'wasm' }],
    graphOptimizationLevel: 'all',
  };
  if (g.externalData.length) sessionOptions.externalData = g.externalData.map(({ path, data }) => ({ path, data }));
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(g.graph, sessionOptions);
  } catch (err) {
    throw new InputError(g.label, `could not be loaded by onnxruntime (${backend}): ${(err as Error).message}`);
  }
  const { nLayer, nEmbd, startToken, nPositions } = manifest.config;
  const layers = nLayer + 1;
  const width = nEmbd;
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const extract = async (images: ArrayLike<number>[], opts: ExtractOptions = {}): Promise<ExtractResult> => {
    const batchSize = opts.batchSize ?? 2;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError('batchSize', `must be a positive whole number, got ${batchSize}`);
    const rows = images.map((img, i) => {
      if (img.length !== nPositions) throw new InputError(`image ${i + 1}`, `has ${img.length} tokens, expected ${nPositions}`);
      for (let p = 0; p < img.length; p++) {
        const t = img[p];
        if (!Number.isInteger(t) || t < 0 || t >= 512) throw new InputError(`image ${i + 1}`, `token ${t} is not a palette index`);
      }
      return featuresInput(img, startToken);
    });
    return exclusive(async () => {
      const out = new Float32Array(rows.length * layers * width);
      let done = 0;
      while (done < rows.length) {
        if (opts.signal?.aborted) return { features: out.slice(0, done * layers * width), done, aborted: true };
        const batch = rows.slice(done, done + batchSize);
        const ids = new BigInt64Array(batch.length * nPositions);
        batch.forEach((row, b) => {
          for (let p = 0; p < nPositions; p++) ids[b * nPositions + p] = BigInt(row[p]);
        });
        const result = await session.run({ [g.io.inputIds]: new ort.Tensor('int64', ids, [batch.length, nPositions]) });
        const t = result[g.io.features];
        const data = (t.location === 'cpu' ? t.data : await t.getData()) as Float32Array;
        if (data.length !== batch.length * layers * width) throw new Error(`features graph returned ${data.length} values for ${batch.length} images`);
        out.set(data, done * layers * width);
        t.dispose();
        done += batch.length;
        opts.onProgress?.(done, rows.length);
      }
      return { features: out, done, aborted: false };
    });
  };

  return {
    manifest,
    layers,
    width,
    graphSource: entry ? 'bundle' : 'decoder',
    backend,
    extract,
    dispose: () => exclusive(() => session.release()),
  };
}

