/**
 * The features graph for linear probes: whole images in, one pooled feature vector per layer out.
 *
 *   input_ids int64 [B, 1024]: the start token 512 followed by the image's first 1023 tokens
 *                               (the input of teacher-forced scoring; the last token is never seen)
 *   h_0 = wte[input_ids] + wpe                       (the embeddings)
 *   h_l = h_{l-1} + attn(ln_1(h_{l-1})) + mlp(...)   (the residual stream after layer l, l = 1..L)
 *   features[b, l, :] = mean over the 1024 positions p of  h_l[b, p] / sqrt(mean(h_l[b, p]^2) + eps)
 *   features float32 [B, L + 1, nEmbd]
 *
 * The norm is a gain-free RMS norm (eps = the model's layer_norm_epsilon); every layer, the
 * embeddings and the last layer alike, gets the same one. The model's own norms (ln_1 of the next
 * layer, ln_f after the last) only multiply each feature by its gain, which the probe's per-feature
 * standardisation removes, so they would give the same probe.
 *
 * No KV cache, and attention is written out as MatMul + causal mask + Softmax + MatMul (standard
 * ONNX ops that onnxruntime's wasm and WebGPU backends both run; GroupQueryAttention on WebGPU is
 * wrong for 32 or more new tokens in one run). The blocks use the same fused contrib ops as the
 * decoder graph: SkipSimplifiedLayerNormalization, SimplifiedLayerNormalization and QuickGelu.
 * The causal mask is computed from two small position initializers (Greater + Where), which
 * onnxruntime folds into a constant at session creation.
 */
import type { FeaturesIo, FeaturesManifestEntry } from '../bundle/index.ts';
import { InputError } from '../errors.ts';
import { defaultAttentionScale, EXTERNAL_DATA_THRESHOLD } from './graph.ts';
import { buildModelProto, DataType, type InitializerSpec, type NodeSpec } from './onnx/onnx.ts';
import { encodeMessage, type Message } from './onnx/proto.ts';
import type { Checkpoint, TensorSource } from './types.ts';

export type { FeaturesIo, FeaturesManifestEntry };

export const FEATURES_GRAPH_FILE = 'model.features.onnx';
export const FEATURES_SEQUENCE_LENGTH = 1024;

/** What `features` holds, as recorded in the manifest. */
export const FEATURES_POOLING = 'mean over 1024 positions of the gain-free RMS-normalised residual stream, embeddings and every layer';

export const FEATURES_IO: FeaturesIo = { inputIds: 'input_ids', features: 'features' };

export interface FeaturesGraphOptions {
  producerVersion: string;
  attentionScale?: number;
  /** Graph file name, to name the external data file `<graphFile>.data`. */
  graphFile?: string;
  externalDataThreshold?: number;
}

export interface BuiltFeaturesGraph {
  model: Message;
  io: FeaturesIo;
  nodeCount: number;
  weightBytes: number;
  attentionScale: number;
  externalData: { location: string; initializers: InitializerSpec[] } | null;
}

function isAllZero(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) return false;
  return true;
}

function int64Bytes(values: number[]): Uint8Array {
  const a = BigInt64Array.from(values.map((v) => BigInt(v)));
  return new Uint8Array(a.buffer);
}

function float32Bytes(values: number[] | Float32Array): Uint8Array {
  const a = Float32Array.from(values);
  return new Uint8Array(a.buffer);
}

export async function buildFeaturesGraph(ckpt: Pick<Checkpoint, 'config' | 'tensors' | 'weightFiles'>, options: FeaturesGraphOptions): Promise<BuiltFeaturesGraph> {
  const { nLayer, nHead, nEmbd: d, layerNormEpsilon: eps, nPositions } = ckpt.config;
  const S = FEATURES_SEQUENCE_LENGTH;
  if (nPositions !== S) throw new InputError('config.json', `n_positions is ${nPositions}; the features graph takes ${S}-token images`);
  const headDim = d / nHead;
  const attentionScale = options.attentionScale ?? defaultAttentionScale(d, nHead);
  const io = FEATURES_IO;
  const ms = 'com.microsoft';

  const tensor = (name: string): TensorSource => {
    const t = ckpt.tensors.get(name);
    if (!t) throw new InputError(ckpt.weightFiles.join(', '), `missing tensor ${name}`);
    return t;
  };

  const initializers: InitializerSpec[] = [];
  const addWeight = (name: string, source: TensorSource) => {
    const count = source.shape.reduce((a, b) => a * b, 1);
    initializers.push({
      name,
      dataType: DataType.FLOAT,
      dims: source.shape,
      byteLength: count * 4,
      produce: async () => {
        const v = await source.read();
        return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      },
    });
    return name;
  };
  const addBias = async (name: string): Promise<string | null> => {
    const source = ckpt.tensors.get(name);
    if (!source || isAllZero(await source.read())) return null;
    return addWeight(name, source);
  };
  /** A small constant (always inline, even when the weights go to external data). */
  const constants: InitializerSpec[] = [];
  const addConstant = (name: string, dataType: number, dims: number[], bytes: Uint8Array) => {
    constants.push({ name, dataType: dataType as InitializerSpec['dataType'], dims, byteLength: bytes.length, produce: async () => bytes });
    return name;
  };

  const nodes: NodeSpec[] = [];
  const node = (op: string, name: string, inputs: string[], outputs: string[], attrs?: NodeSpec['attrs'], domain?: string) =>
    nodes.push({ op, name, inputs, outputs, ...(attrs ? { attrs } : {}), ...(domain ? { domain } : {}) });
  const add = (name: string, a: string, b: string, out: string) => node('Add', name, [a, b], [out]);
  const matmul = (name: string, a: string, b: string, out: string) => node('MatMul', name, [a, b], [out]);
  /** x @ W (+ b, when the bias is present and non-zero). */
  const linear = async (name: string, x: string, out: string) => {
    const w = addWeight(`${name}.weight`, tensor(`${name}.weight`));
    const b = await addBias(`${name}.bias`);
    matmul(name, x, w, b ? `${out}_nobias` : out);
    if (b) add(`${name}_bias`, `${out}_nobias`, b, out);
  };

  // Constants.
  const ones = addConstant('ones', DataType.FLOAT, [d], float32Bytes(new Float32Array(d).fill(1)));
  const scale = addConstant('attention_scale', DataType.FLOAT, [], float32Bytes([attentionScale]));
  const headShape = addConstant('head_shape', DataType.INT64, [4], int64Bytes([0, 0, nHead, headDim]));
  const mergedShape = addConstant('merged_shape', DataType.INT64, [3], int64Bytes([0, 0, d]));
  const qkvSplit = addConstant('qkv_split', DataType.INT64, [3], int64Bytes([d, d, d]));
  const positions = Array.from({ length: S }, (_, i) => i);
  addConstant('mask_rows', DataType.INT64, [S, 1], int64Bytes(positions));
  addConstant('mask_cols', DataType.INT64, [1, S], int64Bytes(positions));
  addConstant('mask_blocked', DataType.FLOAT, [], float32Bytes([-1e9]));
  addConstant('mask_open', DataType.FLOAT, [], float32Bytes([0]));
  node('Greater', 'causal_future', ['mask_cols', 'mask_rows'], ['causal_future']);
  node('Where', 'causal_mask', ['causal_future', 'mask_blocked', 'mask_open'], ['causal_mask']);

  /** Gain-free RMS norm of a residual stream, averaged over positions: [B, 1, d]. */
  const pooled: string[] = [];
  const pool = (stream: string, layer: number) => {
    node('SimplifiedLayerNormalization', `pool.${layer}.norm`, [stream, ones], [`pool.${layer}.normed`], { epsilon: eps, axis: { int: -1 } });
    node('ReduceMean', `pool.${layer}.mean`, [`pool.${layer}.normed`], [`pool.${layer}.out`], { axes: [1], keepdims: { int: 1 } });
    pooled.push(`pool.${layer}.out`);
  };

  // Embeddings: h_0 = wte[ids] + wpe.
  addWeight('wte', tensor('wte.weight'));
  addWeight('wpe', tensor('wpe.weight'));
  node('Gather', 'embed_tokens', ['wte', io.inputIds], ['tok_emb']);
  add('embed_add', 'tok_emb', 'wpe', 'h.0.in');
  pool('h.0.in', 0);

  let stream = 'h.0.in'; // the residual stream entering the current layer
  let branch: string | null = null; // for layers > 0: the previous MLP output still to add
  let branchBias: string | null = null;
  for (let i = 0; i < nLayer; i++) {
    const p = `h.${i}`;
    const ln1 = addWeight(`${p}.ln_1.weight`, tensor(`${p}.ln_1.weight`));
    if (branch === null) {
      node('SimplifiedLayerNormalization', `${p}.ln_1`, [stream, ln1], [`${p}.ln_1.out`], { epsilon: eps, axis: { int: -1 } });
    } else {
      const inputs = branchBias ? [branch, stream, ln1, branchBias] : [branch, stream, ln1];
      node('SkipSimplifiedLayerNormalization', `${p}.ln_1`, inputs, [`${p}.ln_1.out`, '', '', `${p}.in`], { epsilon: eps }, ms);
      stream = `${p}.in`;
      pool(stream, i);
    }

    // Attention, written out: softmax(q k^T * scale + causal mask) v, per head.
    await linear(`${p}.attn.c_attn`, `${p}.ln_1.out`, `${p}.attn.qkv`);
    node('Split', `${p}.attn.split`, [`${p}.attn.qkv`, qkvSplit], [`${p}.attn.q`, `${p}.attn.k`, `${p}.attn.v`], { axis: { int: 2 } });
    node('Mul', `${p}.attn.scale`, [`${p}.attn.q`, scale], [`${p}.attn.q_scaled`]);
    for (const [x, perm] of [
      ['q_scaled', [0, 2, 1, 3]],
      ['k', [0, 2, 3, 1]],
      ['v', [0, 2, 1, 3]],
    ] as const) {
      node('Reshape', `${p}.attn.${x}_heads`, [`${p}.attn.${x}`, headShape], [`${p}.attn.${x}_bshd`]);
      node('Transpose', `${p}.attn.${x}_t`, [`${p}.attn.${x}_bshd`], [`${p}.attn.${x}_t`], { perm: [...perm] });
    }
    matmul(`${p}.attn.scores`, `${p}.attn.q_scaled_t`, `${p}.attn.k_t`, `${p}.attn.scores`);
    add(`${p}.attn.mask`, `${p}.attn.scores`, 'causal_mask', `${p}.attn.masked`);
    node('Softmax', `${p}.attn.softmax`, [`${p}.attn.masked`], [`${p}.attn.probs`], { axis: { int: -1 } });
    matmul(`${p}.attn.context`, `${p}.attn.probs`, `${p}.attn.v_t`, `${p}.attn.context`);
    node('Transpose', `${p}.attn.merge_t`, [`${p}.attn.context`], [`${p}.attn.context_bshd`], { perm: [0, 2, 1, 3] });
    node('Reshape', `${p}.attn.merge`, [`${p}.attn.context_bshd`, mergedShape], [`${p}.attn.out`]);
    const wProj = addWeight(`${p}.attn.c_proj.weight`, tensor(`${p}.attn.c_proj.weight`));
    matmul(`${p}.attn.c_proj`, `${p}.attn.out`, wProj, `${p}.attn.proj`);
    const bProj = await addBias(`${p}.attn.c_proj.bias`);

    // ln_2 adds the attention output (and its bias) to the stream.
    const ln2 = addWeight(`${p}.ln_2.weight`, tensor(`${p}.ln_2.weight`));
    const ln2Inputs = bProj ? [`${p}.attn.proj`, stream, ln2, bProj] : [`${p}.attn.proj`, stream, ln2];
    node('SkipSimplifiedLayerNormalization', `${p}.ln_2`, ln2Inputs, [`${p}.ln_2.out`, '', '', `${p}.mid`], { epsilon: eps }, ms);
    stream = `${p}.mid`;

    await linear(`${p}.mlp.c_fc`, `${p}.ln_2.out`, `${p}.mlp.fc`);
    node('QuickGelu', `${p}.mlp.act`, [`${p}.mlp.fc`], [`${p}.mlp.act_out`], { alpha: 1.702 }, ms);
    const wMlpProj = addWeight(`${p}.mlp.c_proj.weight`, tensor(`${p}.mlp.c_proj.weight`));
    matmul(`${p}.mlp.c_proj`, `${p}.mlp.act_out`, wMlpProj, `${p}.mlp.out`);
    branch = `${p}.mlp.out`;
    branchBias = await addBias(`${p}.mlp.c_proj.bias`);
  }

  // The last layer's output h_L = stream + branch (+ bias): the gain-free norm comes straight out
  // of a SkipSimplifiedLayerNormalization with unit gain.
  const lastInputs = branchBias ? [branch!, stream, ones, branchBias] : [branch!, stream, ones];
  node('SkipSimplifiedLayerNormalization', `pool.${nLayer}.norm`, lastInputs, [`pool.${nLayer}.normed`], { epsilon: eps }, ms);
  node('ReduceMean', `pool.${nLayer}.mean`, [`pool.${nLayer}.normed`], [`pool.${nLayer}.out`], { axes: [1], keepdims: { int: 1 } });
  pooled.push(`pool.${nLayer}.out`);
  node('Concat', 'features', pooled, [io.features], { axis: { int: 1 } });

  const weightBytes = initializers.reduce((n, w) => n + w.byteLength, 0);
  let externalData: BuiltFeaturesGraph['externalData'] = null;
  if (weightBytes > (options.externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD)) {
    const location = `${options.graphFile ?? FEATURES_GRAPH_FILE}.data`;
    let offset = 0;
    for (const w of initializers) {
      w.external = { location, offset };
      offset += w.byteLength;
    }
    externalData = { location, initializers };
  }

  const model = buildModelProto({
    producer: 'igpt-playground',
    producerVersion: options.producerVersion,
    opsets: [
      { domain: '', version: 17 },
      { domain: ms, version: 1 },
    ],
    graph: {
      name: 'imagegpt_features',
      inputs: [{ name: io.inputIds, dataType: DataType.INT64, dims: ['batch', S] }],
      outputs: [{ name: io.features, dataType: DataType.FLOAT, dims: ['batch', nLayer + 1, d] }],
      nodes,
      initializers: [...constants, ...initializers],
    },
    metadata: { pooling: FEATURES_POOLING, attention_scale: String(attentionScale) },
  });
  return { model, io, nodeCount: nodes.length, weightBytes, attentionScale, externalData };
}

/** The input of one image: the start token followed by its first 1023 tokens. */
export function featuresInput(tokens: ArrayLike<number>, startToken = 512): number[] {
  if (tokens.length !== FEATURES_SEQUENCE_LENGTH) throw new InputError('image', `has ${tokens.length} tokens, expected ${FEATURES_SEQUENCE_LENGTH}`);
  const row = new Array<number>(FEATURES_SEQUENCE_LENGTH);
  row[0] = startToken;
  for (let i = 1; i < FEATURES_SEQUENCE_LENGTH; i++) row[i] = tokens[i - 1];
  return row;
}

/** Writes the features graph (and its external data file, if any) through a bundle sink; returns the manifest entry. */
export async function writeFeaturesGraph(
  ckpt: Pick<Checkpoint, 'config' | 'tensors' | 'weightFiles'>,
  sink: { create(path: string): Promise<{ write(chunk: Uint8Array): Promise<void>; close(): Promise<{ bytes: number; sha256: string }> }> },
  options: FeaturesGraphOptions,
): Promise<FeaturesManifestEntry> {
  const graphFile = options.graphFile ?? FEATURES_GRAPH_FILE;
  const built = await buildFeaturesGraph(ckpt, { ...options, graphFile });
  const files: FeaturesManifestEntry['files'] = [];
  const writer = await sink.create(graphFile);
  for await (const chunk of encodeMessage(built.model)) await writer.write(chunk);
  files.push({ path: graphFile, ...(await writer.close()) });
  if (built.externalData) {
    const dataWriter = await sink.create(built.externalData.location);
    for (const init of built.externalData.initializers) await dataWriter.write(await init.produce());
    files.push({ path: built.externalData.location, ...(await dataWriter.close()) });
  }
  return { graph: graphFile, files, io: built.io, layers: ckpt.config.nLayer + 1, sequenceLength: FEATURES_SEQUENCE_LENGTH, pooling: FEATURES_POOLING };
}
