/**
 * Writes a model bundle: `igpt.json` plus one ONNX graph per dtype (and its external data file when
 * the weights pass 1.5 GB). Runtime-agnostic: files go through a `BundleSink`, which the CLI backs
 * with a temporary folder renamed into place on success (a failed export leaves nothing behind).
 */
import type { BundleManifest, BundleVariant } from '../engine/types.ts';
import { writeFeaturesGraph } from './features.ts';
import { buildDecoderGraph, NUM_COLOURS, START_TOKEN, type WeightDType } from './graph.ts';
import { encodeMessage } from './onnx/proto.ts';
import { type Checkpoint, InputError } from './types.ts';

export const CONVERTER_VERSION = '0.1.0';

export interface FileWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<{ bytes: number; sha256: string }>;
}

export interface BundleSink {
  create(path: string): Promise<FileWriter>;
  /** Makes every written file visible at once. */
  commit(): Promise<void>;
  /** Removes everything written. */
  abort(): Promise<void>;
}

export interface WriteBundleOptions {
  name: string;
  dtypes: WeightDType[];
  source: string;
  revision?: string;
  licence?: string;
  notes?: string;
  attentionScale?: number;
  externalDataThreshold?: number;
  /** Also write the features graph for linear probes (`model.features.onnx`, manifest `features`). */
  features?: boolean;
}

export function parseDtypes(spec: string): WeightDType[] {
  const dtypes = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (dtypes.length === 0) throw new InputError('--dtype', 'no dtype given (use fp32, fp16 or fp32,fp16)');
  for (const d of dtypes) {
    if (d !== 'fp32' && d !== 'fp16') throw new InputError('--dtype', `unknown dtype "${d}" (use fp32, fp16 or fp32,fp16)`);
  }
  return [...new Set(dtypes)] as WeightDType[];
}

/** 512 RGB triples by rint(127.5 * (c + 1)), round half to even, clipped to 0..255. */
export function clustersToRgb(clusters: number[][]): number[][] {
  const roundHalfEven = (x: number) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  return clusters.map((c) => c.map((v) => Math.min(255, Math.max(0, roundHalfEven(127.5 * (v + 1))))));
}

export async function writeBundle(ckpt: Checkpoint, sink: BundleSink, options: WriteBundleOptions): Promise<BundleManifest> {
  try {
    const variants: BundleVariant[] = [];
    let io: BundleManifest['io'] | null = null;
    let attentionScale = 0;
    for (const dtype of options.dtypes) {
      const graphFile = dtype === 'fp32' ? 'model.onnx' : `model.${dtype}.onnx`;
      const graph = await buildDecoderGraph(ckpt, {
        dtype,
        graphFile,
        producerVersion: CONVERTER_VERSION,
        attentionScale: options.attentionScale,
        externalDataThreshold: options.externalDataThreshold,
      });
      io = graph.io;
      attentionScale = graph.attentionScale;
      const files: BundleVariant['files'] = [];
      const graphWriter = await sink.create(graphFile);
      for await (const chunk of encodeMessage(graph.model)) await graphWriter.write(chunk);
      files.push({ path: graphFile, ...(await graphWriter.close()) });
      if (graph.externalData) {
        const dataWriter = await sink.create(graph.externalData.location);
        for (const init of graph.externalData.initializers) await dataWriter.write(await init.produce());
        files.push({ path: graph.externalData.location, ...(await dataWriter.close()) });
      }
      variants.push({ dtype, files, graph: graphFile, nodesPerLayer: graph.nodesPerLayer, nodeCount: graph.nodeCount });
    }
    if (!io) throw new InputError('--dtype', 'no dtype given');
    const features = options.features
      ? await writeFeaturesGraph(ckpt, sink, { producerVersion: CONVERTER_VERSION, attentionScale, externalDataThreshold: options.externalDataThreshold })
      : undefined;
    const { config } = ckpt;
    const manifest: BundleManifest = {
      format: 'igpt-bundle',
      version: 1,
      name: options.name,
      config: {
        nLayer: config.nLayer,
        nHead: config.nHead,
        nEmbd: config.nEmbd,
        nInner: config.nInner,
        nPositions: config.nPositions,
        vocabSize: config.vocabSize,
        startToken: START_TOKEN,
        imageSize: Math.round(Math.sqrt(config.nPositions)),
        attentionScale,
      },
      palette: { rgb: clustersToRgb(ckpt.clusters), clusters: ckpt.clusters },
      variants,
      io,
      provenance: {
        source: options.source,
        revision: options.revision,
        weightFiles: ckpt.weightFiles,
        converter: `igpt-playground ${CONVERTER_VERSION}`,
        createdAt: new Date().toISOString(),
        licence: options.licence,
        notes: options.notes,
      },
      ...(features ? { features } : {}),
    };
    if (manifest.palette.rgb.length !== NUM_COLOURS) throw new InputError('preprocessor_config.json', `clusters has ${manifest.palette.rgb.length} entries, expected ${NUM_COLOURS}`);
    const manifestWriter = await sink.create('igpt.json');
    await manifestWriter.write(new TextEncoder().encode(JSON.stringify(manifest, null, 1) + '\n'));
    await manifestWriter.close();
    await sink.commit();
    return manifest;
  } catch (err) {
    await sink.abort();
    throw err;
  }
}
