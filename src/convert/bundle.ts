/**
 * Writes a model bundle: `igpt.json` plus one ONNX graph per dtype (and its external data file when
 * the weights pass 1.5 GB). Runtime-agnostic: files go through a `BundleSink`, which the CLI backs
 * with a temporary folder renamed into place on success (a failed export leaves nothing behind).
 */
import { IMAGE_SIZE, NUM_COLOURS, START_TOKEN, type BundleManifest, type BundleVariant, type WeightDType } from '../bundle/index.ts';
import { paletteRgb } from '../image/index.ts';
import { buildDecoderGraph, type AttentionScaleSpec } from './graph.ts';
import { Q4_BLOCK_SIZE } from './q4.ts';
import { writeFeaturesGraph } from './features.ts';
import { encodeMessage } from './onnx/proto.ts';
import { type Checkpoint } from './types.ts';
import { InputError } from '../errors.ts';

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
  /**
   * 'exact' (1/sqrt(head_dim), the default), 'transformers' (1/int(sqrt(head_dim)), what Hugging
   * Face transformers computes) or a multiplier; recorded in `config.attentionScale` and
   * `provenance.attentionScaleMode`. See graph.ts `attentionScaleFor` and docs/PARITY.md.
   */
  attentionScale?: AttentionScaleSpec;
  /** q4: symmetric 4-bit blocks without zero points (default: asymmetric, with zero points). */
  q4Symmetric?: boolean;
  externalDataThreshold?: number;
  /** Also write the features graph for linear probes (`model.features.onnx`, manifest `features`). */
  features?: boolean;
}

const DTYPES: readonly WeightDType[] = ['fp32', 'fp16', 'q4'];
const DTYPE_HINT = 'use fp32, fp16, q4 or a list such as fp32,fp16,q4';

export function parseDtypes(spec: string): WeightDType[] {
  const dtypes = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (dtypes.length === 0) throw new InputError('--dtype', `no dtype given (${DTYPE_HINT})`);
  for (const d of dtypes) {
    if (!(DTYPES as readonly string[]).includes(d)) throw new InputError('--dtype', `unknown dtype "${d}" (${DTYPE_HINT})`);
  }
  return [...new Set(dtypes)] as WeightDType[];
}

export async function writeBundle(ckpt: Checkpoint, sink: BundleSink, options: WriteBundleOptions): Promise<BundleManifest> {
  try {
    const variants: BundleVariant[] = [];
    let io: BundleManifest['io'] | null = null;
    let attentionScale = 0;
    let attentionScaleMode: BundleManifest['provenance']['attentionScaleMode'];
    for (const dtype of options.dtypes) {
      const graphFile = dtype === 'fp32' ? 'model.onnx' : `model.${dtype}.onnx`;
      const graph = await buildDecoderGraph(ckpt, {
        dtype,
        graphFile,
        producerVersion: CONVERTER_VERSION,
        attentionScale: options.attentionScale,
        q4Symmetric: options.q4Symmetric,
        externalDataThreshold: options.externalDataThreshold,
      });
      io = graph.io;
      attentionScale = graph.attentionScale;
      attentionScaleMode = graph.attentionScaleMode;
      const files: BundleVariant['files'] = [];
      const graphWriter = await sink.create(graphFile);
      for await (const chunk of encodeMessage(graph.model)) await graphWriter.write(chunk);
      files.push({ path: graphFile, ...(await graphWriter.close()) });
      if (graph.externalData) {
        const dataWriter = await sink.create(graph.externalData.location);
        for (const init of graph.externalData.initializers) await dataWriter.write(await init.produce());
        files.push({ path: graph.externalData.location, ...(await dataWriter.close()) });
      }
      const variant: BundleVariant = { dtype, files, graph: graphFile, nodesPerLayer: graph.nodesPerLayer, nodeCount: graph.nodeCount };
      if (dtype === 'q4') variant.quantization = { op: 'MatMulNBits', bits: 4, blockSize: Q4_BLOCK_SIZE, symmetric: options.q4Symmetric ?? false };
      variants.push(variant);
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
        imageSize: IMAGE_SIZE,
        attentionScale,
      },
      palette: { rgb: paletteRgb(ckpt.clusters), clusters: ckpt.clusters },
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
        attentionScaleMode,
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
