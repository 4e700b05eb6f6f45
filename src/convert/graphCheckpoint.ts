/**
 * A `Checkpoint` read back from a bundle's decoder graph (`model.onnx`, written by
 * `buildDecoderGraph`): its initializers under the checkpoint's tensor names. Lets the features
 * graph be built for a bundle exported without one, in Node or in the browser, from the bytes the
 * engine already has. Biases the decoder graph dropped (all zero) are absent, as in the official
 * weights; `lm_head` is not needed and not returned.
 */
import { readOnnxModel, tensorToFloat32, type OnnxTensor } from './onnx/read.ts';
import { InputError } from '../errors.ts';
import type { Checkpoint, ImageGPTConfig, TensorSource } from './types.ts';

export interface DecoderGraphInfo {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nInner: number;
  nPositions: number;
  vocabSize: number;
}

/** Graph initializer name -> checkpoint tensor name. */
function checkpointName(graphName: string): string | null {
  if (graphName === 'wte') return 'wte.weight';
  if (graphName === 'wpe') return 'wpe.weight';
  if (graphName === 'ln_f.weight') return graphName;
  if (/^h\.\d+\.(ln_1|ln_2|attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.(weight|bias)$/.test(graphName)) return graphName;
  return null;
}

export function checkpointFromDecoderGraph(
  graph: Uint8Array,
  config: DecoderGraphInfo,
  options: { label: string; clusters?: number[][]; externalData?: { path: string; data: Uint8Array }[] },
): Checkpoint {
  let summary;
  try {
    summary = readOnnxModel(graph);
  } catch (e) {
    throw new InputError(options.label, `cannot be read as an ONNX model (${(e as Error).message})`);
  }
  const norm = summary.nodes.find((n) => n.op === 'SkipSimplifiedLayerNormalization' || n.op === 'SimplifiedLayerNormalization');
  const eps = norm?.attrs.epsilon;
  if (eps === undefined || !(eps > 0)) throw new InputError(options.label, 'has no RMS norm node with an epsilon: not an igpt decoder graph');
  const external = new Map((options.externalData ?? []).map((e) => [e.path, e.data]));
  const tensors = new Map<string, TensorSource>();
  for (const [graphName, t] of summary.initializers) {
    const name = checkpointName(graphName);
    if (!name) continue;
    tensors.set(name, sourceOf(name, t, options.label, external));
  }
  const imageGptConfig: ImageGPTConfig = {
    vocabSize: config.vocabSize,
    nPositions: config.nPositions,
    nEmbd: config.nEmbd,
    nLayer: config.nLayer,
    nHead: config.nHead,
    nInner: config.nInner,
    // The graph stores epsilon as a float32 attribute; the checkpoint's value was a double.
    layerNormEpsilon: eps,
    activation: 'quick_gelu',
  };
  return { config: imageGptConfig, clusters: options.clusters ?? [], tensors, rawConfig: {}, weightFiles: [options.label] };
}

function sourceOf(name: string, t: OnnxTensor, label: string, external: Map<string, Uint8Array>): TensorSource {
  return {
    name,
    dtype: 'F32',
    shape: t.dims,
    file: label,
    read: async () => {
      try {
        return tensorToFloat32(t, (location) => external.get(location));
      } catch (e) {
        throw new InputError(label, (e as Error).message);
      }
    },
  };
}
