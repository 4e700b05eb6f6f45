/// <reference lib="webworker" />
/**
 * Linear probes off the UI thread (the Probe view): reads the labelled set with the model's
 * palette, pools every layer's features of each image (src/probe/features.ts, onnxruntime), then
 * fits one probe per layer (src/probe/probe.ts), reporting progress as it goes. The same subset,
 * split and probes as `igpt probe` (src/probe/report.ts). Stop acts between batches and layers.
 */
import { sourceLabel } from '../bundle/index.ts';
import { chooseBackend } from '../engine/engine.ts';
import type { Backend } from '../engine/types.ts';
import { openFeatureExtractor, type FeatureExtractor } from '../probe/features.ts';
import { readLabelledImages, relativeToDataFolder } from '../probe/folder.ts';
import { DEFAULT_L2_GRID, probeLayers, type ProbeReport } from '../probe/probe.ts';
import { parseProbeSet, probeSetTokens } from '../probe/probeSet.ts';
import { classCounts, combineLayerReports, probeJson, probeSubset, type LabelledTokens } from '../probe/report.ts';
import { InputError } from '../errors.ts';
import { CacheStore } from './cache.ts';
import type { ProbeApi, ProbeDataInfo, ProbeDataSpec } from './protocol.ts';
import { serve } from './rpc.ts';

declare const self: DedicatedWorkerGlobalScope;

type Dataset = LabelledTokens & { info: ProbeDataInfo };

let lastData: { key: string; spec: ProbeDataSpec; data: Dataset } | null = null;
let extractor: { key: string; value: FeatureExtractor } | null = null;

async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new InputError(url, `could not be fetched (${(e as Error).message}) (${what})`);
  }
  if (!res.ok) throw new InputError(url, `HTTP ${res.status} (${what})`);
  return new Uint8Array(await res.arrayBuffer());
}

async function readSet(spec: Extract<ProbeDataSpec, { kind: 'set' }>, clusters: number[][]): Promise<Dataset> {
  const indexUrl = new URL(spec.url, self.location.href).href;
  let index: unknown;
  try {
    index = JSON.parse(new TextDecoder().decode(await fetchBytes(indexUrl, 'probe set index')));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(indexUrl, 'is not valid JSON (a probe set index)');
  }
  const sheet = (index as { sheet?: unknown })?.sheet;
  if (typeof sheet !== 'string' || sheet.includes('/')) throw new InputError(indexUrl, 'names no sprite sheet file ("sheet")');
  const set = parseProbeSet(index, await fetchBytes(new URL(sheet, indexUrl).href, 'probe set sheet'), spec.label);
  const counts = classCounts(set.labels, set.classes.length);
  return {
    classes: set.classes,
    labels: set.labels,
    groups: set.groups,
    tokens: probeSetTokens(set, clusters),
    info: { label: spec.label, classes: set.classes, counts, images: set.count, bad: [], skipped: [] },
  };
}

async function readFiles(spec: Extract<ProbeDataSpec, { kind: 'files' }>, clusters: number[][]): Promise<Dataset> {
  const entries = [];
  for (const f of relativeToDataFolder(spec.files)) entries.push({ path: f.path, bytes: new Uint8Array(await f.file.arrayBuffer()) });
  const d = readLabelledImages(entries, clusters, spec.label);
  return {
    classes: d.classes,
    labels: d.labels,
    tokens: d.tokens,
    info: { label: spec.label, classes: d.classes, counts: classCounts(d.labels, d.classes.length), images: d.labels.length, bad: d.bad, skipped: d.skipped },
  };
}

/** The data set tokenised with this palette; the last one is kept for the next run. */
async function dataset(spec: ProbeDataSpec, clusters: number[][]): Promise<Dataset> {
  const key = `${spec.kind}:${spec.kind === 'set' ? spec.url : spec.label}:${clusters.flat().join(',')}`;
  if (lastData && lastData.key === key && (spec.kind === 'set' || lastData.spec === spec || sameFiles(lastData.spec, spec))) return lastData.data;
  const data = spec.kind === 'set' ? await readSet(spec, clusters) : await readFiles(spec, clusters);
  lastData = { key, spec, data };
  return data;
}

function sameFiles(a: ProbeDataSpec, b: ProbeDataSpec): boolean {
  return a.kind === 'files' && b.kind === 'files' && a.files.length === b.files.length && a.files.every((f, i) => f.path === b.files[i].path && f.file.size === b.files[i].file.size);
}

const pause = () => new Promise((r) => setTimeout(r, 0));

serve<ProbeApi>(
  {
    async inspect({ data, clusters }) {
      return (await dataset(data, clusters)).info;
    },

    async run(req, { emit, signal }) {
      const choice = await chooseBackend(req.backend);
      const backend: Backend = choice.backend;
      const key = `${sourceLabel(req.source)}|${backend}|${req.wasmThreads ?? ''}`;
      if (!extractor || extractor.key !== key) {
        await extractor?.value.dispose().catch(() => undefined);
        extractor = null;
        const store = req.source.kind === 'url' ? await CacheStore.open() : undefined;
        const value = await openFeatureExtractor(req.source, {
          backend,
          wasmThreads: req.wasmThreads,
          store,
          signal,
          onProgress: (progress) => emit({ type: 'model', progress }),
        });
        extractor = { key, value };
      }
      const fx = extractor.value;
      const all = await dataset(req.data, fx.manifest.palette.clusters);
      const data = probeSubset(all, req.perClass, req.seed);
      emit({ type: 'data', info: all.info, selected: data.labels.length });
      if (new Set(data.labels).size < 2) throw new InputError(all.info.label, 'has fewer than 2 classes with images');

      const t0 = performance.now();
      emit({ type: 'features', done: 0, total: data.tokens.length, backend });
      const extracted = await fx.extract(data.tokens, {
        signal,
        onProgress: (done, total) => emit({ type: 'features', done, total, backend }),
      });
      if (extracted.aborted) return null;
      const featureSeconds = (performance.now() - t0) / 1000;

      const t1 = performance.now();
      const shape = { images: data.tokens.length, layers: fx.layers, width: fx.width };
      const parts: ProbeReport[] = [];
      for (let layer = 0; layer < fx.layers; layer++) {
        await pause(); // lets a Stop arrive between layers
        if (signal.aborted) return null;
        const part = probeLayers(extracted.features, shape, data.labels, data.classes.length, {
          testFraction: req.testFraction,
          seed: req.seed,
          groups: data.groups,
          l2: 'auto',
          l2Grid: DEFAULT_L2_GRID,
          layers: [layer],
        });
        parts.push(part);
        emit({ type: 'layer', layer: probeJson(part, data.classes).layers[0], index: layer, total: fx.layers });
      }
      const report = combineLayerReports(parts);
      return {
        model: fx.manifest.name,
        data: all.info.label,
        backend,
        per_class_cap: req.perClass ?? null,
        ...probeJson(report, data.classes),
        seconds: { features: featureSeconds, probe: (performance.now() - t1) / 1000 },
      };
    },
  },
  self,
);
