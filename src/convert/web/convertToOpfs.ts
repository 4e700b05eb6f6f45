/**
 * The page's conversion: a checkpoint (files the user picked, or a hub repo downloaded into OPFS)
 * converted with the same `openCheckpoint` + `writeBundle` as `igpt export`, written into OPFS as it
 * is produced. Runs in the convert worker.
 */
import type { WeightDType } from '../../bundle/index.ts';
import { InputError } from '../../errors.ts';
import { writeBundle, type BundleSink } from '../bundle.ts';
import { openCheckpoint } from '../checkpoint.ts';
import type { FileMap } from '../types.ts';
import { checkRepo, downloadHubCheckpoint, listHubCheckpoint, bytesPresent, normaliseEndpoint, removeDownload, type DownloadProgress, type HubFile, type HubRepoRef } from './hub.ts';
import { createOpfsBundleSink, listConverted, slug, type ConvertedModel } from './opfs.ts';

export type AttentionScaleChoice = 'exact' | 'transformers';

export type ConvertSource =
  | { kind: 'hub'; endpoint: string; repo: string; revision: string }
  | { kind: 'files'; files: { path: string; file: Blob }[]; label: string };

export interface ConvertRequest {
  source: ConvertSource;
  dtype: WeightDType;
  attentionScale: AttentionScaleChoice;
  /** The page's storage estimate, taken after asking for persistent storage (else the worker's own). */
  storage?: { quota?: number; usage?: number };
}

export type ConvertStage = 'metadata' | 'storage' | 'download' | 'convert' | 'done';

export type ConvertEvent =
  | { type: 'stage'; stage: ConvertStage; text: string }
  | { type: 'download'; progress: DownloadProgress }
  | { type: 'write'; file: string; written: number; estimate: number }
  | { type: 'id'; id: string };

/** Bytes per weight of each precision, for estimates (q4: 4 bits + a scale and zero point per 32). */
const BYTES_PER_WEIGHT: Record<WeightDType, number> = { fp32: 4, fp16: 2, q4: 0.5 + 2 / 32 + 0.5 / 32 };

/** The approximate size of a bundle converted from fp32 weights of `checkpointBytes`. */
export function estimateBundleBytes(checkpointWeightBytes: number, dtype: WeightDType): number {
  return Math.round((checkpointWeightBytes / 4) * BYTES_PER_WEIGHT[dtype]);
}

export const isWeightFile = (path: string) => /\.(safetensors|bin)$/.test(path);

/** A hub repo's checkpoint files and what converting it needs: sizes shown before a download. */
export interface HubPlan {
  ref: HubRepoRef;
  files: HubFile[];
  downloadBytes: number;
  /** Bytes already downloaded (a previous, interrupted download). */
  presentBytes: number;
}

export async function planHub(source: { endpoint: string; repo: string; revision: string }, signal?: AbortSignal): Promise<HubPlan> {
  const ref: HubRepoRef = { endpoint: normaliseEndpoint(source.endpoint), repo: checkRepo(source.repo), revision: source.revision.trim() || 'main' };
  const files = await listHubCheckpoint(ref, signal);
  return { ref, files, downloadBytes: files.reduce((n, f) => n + f.size, 0), presentBytes: await bytesPresent(ref, files) };
}

export const bundleId = (source: string, revision: string | undefined, dtype: WeightDType, scale: AttentionScaleChoice) =>
  slug(`${source}${revision ? `@${revision}` : ''}-${dtype}-${scale}`);

/** Bytes as a person reads them, with the exact count: "1.5 MB (1,523,042 bytes)". */
export function describeBytes(n: number): string {
  const exact = `${Math.round(n).toLocaleString('en-US')} bytes`;
  if (n < 1000) return exact;
  const [v, unit] = n < 1e6 ? [n / 1e3, 'kB'] : n < 1e9 ? [n / 1e6, 'MB'] : [n / 1e9, 'GB'];
  return `${v.toFixed(v < 10 ? 2 : 1)} ${unit} (${exact})`;
}

/**
 * Refuses, before anything is downloaded or written, when the browser's storage estimate leaves
 * less room than `need` bytes (what is left to download plus the estimated bundle).
 */
export async function checkQuota(need: number, storage: { estimate(): Promise<StorageEstimate> } | undefined = globalThis.navigator?.storage): Promise<void> {
  const est = await storage?.estimate?.().catch(() => undefined);
  if (!est || est.quota === undefined || est.usage === undefined) return;
  const free = Math.max(0, est.quota - est.usage);
  if (free < need) {
    throw new InputError(
      'browser storage',
      `not enough space: converting needs about ${describeBytes(need)} and the browser allows only ${describeBytes(free)} more for this site ` +
        `(quota ${describeBytes(est.quota)}, used ${describeBytes(est.usage)}). Nothing was downloaded or written. Free disk space, or delete converted models`,
    );
  }
}

/** A sink that reports bytes written (the conversion's progress). */
function reporting(sink: BundleSink, estimate: number, emit: (e: ConvertEvent) => void): BundleSink {
  let written = 0;
  let last = 0;
  return {
    ...sink,
    async create(path) {
      const w = await sink.create(path);
      return {
        async write(chunk) {
          await w.write(chunk);
          written += chunk.length;
          const now = performance.now();
          if (now - last > 100) {
            last = now;
            emit({ type: 'write', file: path, written, estimate });
          }
        },
        close: () => w.close(),
      };
    },
  };
}

export async function convertToOpfs(req: ConvertRequest, emit: (e: ConvertEvent) => void, signal?: AbortSignal): Promise<ConvertedModel> {
  const { dtype, attentionScale } = req;
  const storage = req.storage ? { estimate: async () => ({ ...req.storage }) } : undefined;
  let files: FileMap;
  let source: string;
  let revision: string | undefined;
  let endpoint: string | undefined;
  let ref: HubRepoRef | undefined;
  if (req.source.kind === 'hub') {
    emit({ type: 'stage', stage: 'metadata', text: `Listing the files of ${req.source.repo}` });
    const plan = await planHub(req.source, signal);
    ref = plan.ref;
    source = ref.repo;
    revision = ref.revision;
    endpoint = ref.endpoint;
    const weights = plan.files.filter((f) => isWeightFile(f.path)).reduce((n, f) => n + f.size, 0);
    emit({ type: 'stage', stage: 'storage', text: 'Checking the browser storage' });
    await checkQuota(plan.downloadBytes - plan.presentBytes + estimateBundleBytes(weights, dtype), storage);
    emit({ type: 'stage', stage: 'download', text: `Downloading ${ref.repo}` });
    files = await downloadHubCheckpoint(ref, plan.files, { signal, onProgress: (progress) => emit({ type: 'download', progress }) });
  } else {
    source = req.source.label;
    files = new Map(req.source.files.map((f) => [f.path, f.file]));
    const weights = [...files].filter(([p]) => isWeightFile(p)).reduce((n, [, b]) => n + b.size, 0);
    emit({ type: 'stage', stage: 'storage', text: 'Checking the browser storage' });
    await checkQuota(estimateBundleBytes(weights, dtype), storage);
  }
  signal?.throwIfAborted();
  emit({ type: 'stage', stage: 'convert', text: `Converting to ${dtype}` });
  const id = bundleId(source, revision, dtype, attentionScale);
  emit({ type: 'id', id });
  const name = source.includes('/') ? source.split('/')[1] : source;
  try {
    const ckpt = await openCheckpoint(files);
    let numel = 0;
    for (const t of ckpt.tensors.values()) numel += t.shape.reduce((a, b) => a * b, 1);
    const estimate = estimateBundleBytes(numel * 4, dtype);
    const sink = reporting(await createOpfsBundleSink(id, { name, source, revision, endpoint, dtype, attentionScale }), estimate, emit);
    await writeBundle(ckpt, sink, { name, dtypes: [dtype], source, revision, attentionScale });
  } catch (e) {
    // A checkpoint the converter refuses is not kept: a new try downloads it again.
    if (ref && e instanceof InputError) await removeDownload(ref).catch(() => undefined);
    throw e;
  }
  if (ref) await removeDownload(ref).catch(() => undefined);
  emit({ type: 'stage', stage: 'done', text: 'Converted' });
  const entry = (await listConverted(new Set([id]))).find((m) => m.id === id);
  if (!entry) throw new Error(`The converted bundle ${id} is missing from the browser storage after writing it`);
  return entry;
}
