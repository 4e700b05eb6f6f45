/**
 * The iGPT decoder as an ONNX graph with a KV cache, built from fused onnxruntime ops:
 *
 *   x   = wte[input_ids] + wpe[position_ids]
 *   per layer:  a = ln_1(x); x += c_proj(attn(c_attn(a)));  m = ln_2(x); x += mlp_proj(quick_gelu(c_fc(m)))
 *   logits = ln_f(x) @ lm_head^T          (512 colours; the start token is never predicted)
 *
 * Each residual add is folded into the next norm (SkipSimplifiedLayerNormalization, which also
 * returns the sum and takes the preceding projection's bias), attention is GroupQueryAttention with
 * packed QKV and num_heads == kv_num_heads (plain multi-head attention, causal, with past/present
 * cache), and QuickGelu is the fused activation. That is 8 nodes per layer when the c_attn and
 * c_fc biases are zero (the official weights), 10 otherwise.
 *
 * dtypes: fp32; fp16 (every weight, activation and the cache in half precision, logits cast to
 * float32); q4 (the four weight matrices of each layer 4-bit through MatMulNBits, see q4.ts;
 * embeddings, norms, lm_head, activations and the cache stay float32).
 */
import { NUM_COLOURS, type BundleManifest, type WeightDType } from '../bundle/index.ts';
import { toFloat16Array } from './fp16.ts';
import { Q4_BLOCK_SIZE, q4Blocks, q4Bytes, quantizeQ4, type Q4Weight } from './q4.ts';
import { buildModelProto, DataType, type DataTypeId, type InitializerSpec, type NodeSpec } from './onnx/onnx.ts';
import type { Message } from './onnx/proto.ts';
import { type Checkpoint, type TensorSource } from './types.ts';
import { InputError } from '../errors.ts';

/** Above this many weight bytes, weights go to an external data file (protobuf caps a file at 2 GB). */
export const EXTERNAL_DATA_THRESHOLD = 1.5e9;

export interface GraphOptions {
  dtype: WeightDType;
  /** Graph file name, used to name the external data file `<graphFile>.data`. */
  graphFile: string;
  externalDataThreshold?: number;
  producerVersion: string;
  /**
   * Multiplier of the attention scores, or how to compute it (see `attentionScaleFor`): default
   * 'exact', 1/sqrt(head_dim).
   */
  attentionScale?: AttentionScaleSpec;
  /** q4 only: symmetric blocks (no zero points) instead of asymmetric ones (the default). */
  q4Symmetric?: boolean;
}

/**
 * How the attention scores are scaled:
 * - 'exact': 1/sqrt(head_dim), the original OpenAI code and the paper (the default);
 * - 'transformers': 1/int(sqrt(head_dim)), what Hugging Face transformers' ImageGPT computes (its
 *   `torch_float` helper returns a Python int): the same for iGPT-S (head_dim 64), 1/11 instead of
 *   1/sqrt(128) for iGPT-M, 1/9 instead of 1/sqrt(96) for iGPT-L, 1/2 for the reference fixture;
 * - a number: that multiplier ('custom').
 */
export type AttentionScaleMode = 'exact' | 'transformers';
export type AttentionScaleSpec = AttentionScaleMode | number;

export function defaultAttentionScale(nEmbd: number, nHead: number): number {
  return 1 / Math.sqrt(nEmbd / nHead);
}

export function attentionScaleFor(
  spec: AttentionScaleSpec | undefined,
  nEmbd: number,
  nHead: number,
): { scale: number; mode: AttentionScaleMode | 'custom' } {
  const headDim = nEmbd / nHead;
  if (spec === undefined || spec === 'exact') return { scale: defaultAttentionScale(nEmbd, nHead), mode: 'exact' };
  if (spec === 'transformers') return { scale: 1 / Math.floor(Math.sqrt(headDim)), mode: 'transformers' };
  if (typeof spec !== 'number' || !Number.isFinite(spec) || spec <= 0) {
    throw new InputError('--attention-scale', `must be exact, transformers or a positive number, got ${JSON.stringify(spec)}`);
  }
  return { scale: spec, mode: 'custom' };
}

/** Reads a tensor and refuses NaN or infinite values, naming the tensor and its file. */
export async function readFiniteTensor(source: TensorSource): Promise<Float32Array> {
  const values = await source.read();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      const index: number[] = [];
      let rest = i;
      for (let d = source.shape.length - 1; d >= 0; d--) {
        index.unshift(rest % source.shape[d]);
        rest = Math.floor(rest / source.shape[d]);
      }
      throw new InputError(
        source.file,
        `tensor ${source.name} holds ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Infinity' : '-Infinity'} at [${index.join(', ')}]: the checkpoint is corrupt, or was saved after training diverged`,
      );
    }
  }
  return values;
}

export interface BuiltGraph {
  model: Message;
  io: BundleManifest['io'];
  nodeCount: number;
  nodesPerLayer: number;
  weightBytes: number;
  attentionScale: number;
  attentionScaleMode: AttentionScaleMode | 'custom';
  /** Initializers stored in the external data file, in file order; null when all are inline. */
  externalData: { location: string; initializers: InitializerSpec[] } | null;
}

export function graphIoNames(nLayer: number): BundleManifest['io'] {
  const layers = Array.from({ length: nLayer }, (_, i) => i);
  return {
    inputIds: 'input_ids',
    positionIds: 'position_ids',
    seqlensK: 'seqlens_k',
    totalSequenceLength: 'total_sequence_length',
    pastKey: layers.map((i) => `past_key.${i}`),
    pastValue: layers.map((i) => `past_value.${i}`),
    logits: 'logits',
    presentKey: layers.map((i) => `present_key.${i}`),
    presentValue: layers.map((i) => `present_value.${i}`),
  };
}

function isAllZero(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) return false;
  return true;
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

export async function buildDecoderGraph(ckpt: Checkpoint, options: GraphOptions): Promise<BuiltGraph> {
  const { nLayer, nHead, nEmbd: d, layerNormEpsilon: eps } = ckpt.config;
  const floatType: DataTypeId = options.dtype === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT;
  const bytesPerValue = options.dtype === 'fp16' ? 2 : 4;
  const io = graphIoNames(nLayer);
  const { scale: attentionScale, mode: attentionScaleMode } = attentionScaleFor(options.attentionScale, d, nHead);
  const q4 = options.dtype === 'q4';
  const q4Symmetric = options.q4Symmetric ?? false;

  const tensor = (name: string): TensorSource => {
    const t = ckpt.tensors.get(name);
    if (!t) throw new InputError(ckpt.weightFiles.join(', '), `missing tensor ${name}`);
    return t;
  };
  const optionalTensor = (name: string) => ckpt.tensors.get(name);

  const initializers: InitializerSpec[] = [];
  const addWeight = (name: string, source: TensorSource, transform?: (v: Float32Array) => Float32Array, dims?: number[]) => {
    const shape = dims ?? source.shape;
    const count = shape.reduce((a, b) => a * b, 1);
    initializers.push({
      name,
      dataType: floatType,
      dims: shape,
      byteLength: count * bytesPerValue,
      produce: async () => {
        let values = await readFiniteTensor(source);
        if (transform) values = transform(values);
        const typed = options.dtype === 'fp16' ? toFloat16Array(values) : values;
        return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
      },
    });
    return name;
  };
  /** A bias, or null when it is absent or all zero (then its node or input is dropped). */
  const addBias = async (name: string): Promise<string | null> => {
    const source = optionalTensor(name);
    if (!source) return null;
    if (isAllZero(await readFiniteTensor(source))) return null;
    return addWeight(name, source);
  };

  /**
   * A Conv1D weight [K, N] as MatMulNBits' three initializers (packed, scales, zero points); the
   * source is read and quantised once, when the packed bytes are produced, and kept until the
   * last of the three is written.
   */
  const addQ4Weight = (name: string, source: TensorSource): { inputs: string[]; K: number; N: number } => {
    const [K, N] = source.shape;
    const kBlocks = q4Blocks(K);
    const bytes = q4Bytes(K, N, q4Symmetric);
    const parts = q4Symmetric ? 2 : 3;
    let pending: Promise<Q4Weight> | null = null;
    let left = 0;
    const part = async (pick: (q: Q4Weight) => Uint8Array) => {
      if (!pending) {
        pending = readFiniteTensor(source).then((v) => quantizeQ4(v, K, N, 'kn', q4Symmetric));
        left = parts;
      }
      const q = await pending;
      if (--left === 0) pending = null;
      return pick(q);
    };
    const inputs = [`${name}.q4`, `${name}.scales`];
    initializers.push(
      { name: inputs[0], dataType: DataType.UINT8, dims: [N, kBlocks, Q4_BLOCK_SIZE / 2], byteLength: bytes.packed, produce: () => part((q) => q.packed) },
      {
        name: inputs[1],
        dataType: DataType.FLOAT,
        dims: [N, kBlocks],
        byteLength: bytes.scales,
        produce: () => part((q) => new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength)),
      },
    );
    if (!q4Symmetric) {
      inputs.push(`${name}.zero_points`);
      initializers.push({ name: inputs[2], dataType: DataType.UINT8, dims: [N, Math.ceil(kBlocks / 2)], byteLength: bytes.zeroPoints, produce: () => part((q) => q.zeroPoints!) });
    }
    return { inputs, K, N };
  };

  const nodes: NodeSpec[] = [];
  const ms = 'com.microsoft';
  const skipNorm = (name: string, input: string, skip: string, gamma: string, bias: string | null, out: string, sum?: string) =>
    nodes.push({
      op: 'SkipSimplifiedLayerNormalization',
      domain: ms,
      name,
      inputs: bias ? [input, skip, gamma, bias] : [input, skip, gamma],
      outputs: sum ? [out, '', '', sum] : [out],
      attrs: { epsilon: eps },
    });
  const matmul = (name: string, a: string, w: string, out: string) => nodes.push({ op: 'MatMul', name, inputs: [a, w], outputs: [out] });
  /** A layer's weight matrix: an fp32/fp16 initializer, or MatMulNBits' three for q4. */
  type Projection = { weight: string } | { q4: { inputs: string[]; K: number; N: number } };
  const addProjection = (weight: string): Projection =>
    q4 ? { q4: addQ4Weight(weight, tensor(weight)) } : { weight: addWeight(weight, tensor(weight)) };
  /** a @ W: MatMul, or MatMulNBits on 4-bit weights. */
  const project = (name: string, a: string, w: Projection, out: string) => {
    if ('weight' in w) {
      matmul(name, a, w.weight, out);
      return;
    }
    nodes.push({
      op: 'MatMulNBits',
      domain: ms,
      name,
      inputs: [a, ...w.q4.inputs],
      outputs: [out],
      attrs: { K: { int: w.q4.K }, N: { int: w.q4.N }, bits: { int: 4 }, block_size: { int: Q4_BLOCK_SIZE } },
    });
  };

  const add = (name: string, a: string, b: string, out: string) => nodes.push({ op: 'Add', name, inputs: [a, b], outputs: [out] });

  // Embeddings.
  addWeight('wte', tensor('wte.weight'));
  addWeight('wpe', tensor('wpe.weight'));
  nodes.push({ op: 'Gather', name: 'embed_tokens', inputs: ['wte', io.inputIds], outputs: ['tok_emb'] });
  nodes.push({ op: 'Gather', name: 'embed_positions', inputs: ['wpe', io.positionIds], outputs: ['pos_emb'] });

  // The branch to add into the residual before the next norm, and its pending bias.
  let branch = 'tok_emb';
  let residual = 'pos_emb';
  let branchBias: string | null = null;
  let maxNodesPerLayer = 0;

  for (let i = 0; i < nLayer; i++) {
    const p = `h.${i}`;
    const before = nodes.length;
    const ln1 = addWeight(`${p}.ln_1.weight`, tensor(`${p}.ln_1.weight`));
    skipNorm(`${p}.ln_1`, branch, residual, ln1, branchBias, `${p}.ln_1.out`, `${p}.resid_attn`);

    const wAttn = addProjection(`${p}.attn.c_attn.weight`);
    const bAttn = await addBias(`${p}.attn.c_attn.bias`);
    project(`${p}.attn.c_attn`, `${p}.ln_1.out`, wAttn, bAttn ? `${p}.attn.qkv_nobias` : `${p}.attn.qkv`);
    if (bAttn) add(`${p}.attn.c_attn_bias`, `${p}.attn.qkv_nobias`, bAttn, `${p}.attn.qkv`);

    nodes.push({
      op: 'GroupQueryAttention',
      domain: ms,
      name: `${p}.attn.attention`,
      inputs: [`${p}.attn.qkv`, '', '', io.pastKey[i], io.pastValue[i], io.seqlensK, io.totalSequenceLength],
      outputs: [`${p}.attn.out`, io.presentKey[i], io.presentValue[i]],
      attrs: { num_heads: { int: nHead }, kv_num_heads: { int: nHead }, scale: attentionScale },
    });
    project(`${p}.attn.c_proj`, `${p}.attn.out`, addProjection(`${p}.attn.c_proj.weight`), `${p}.attn.proj`);
    const bProj = await addBias(`${p}.attn.c_proj.bias`);

    const ln2 = addWeight(`${p}.ln_2.weight`, tensor(`${p}.ln_2.weight`));
    skipNorm(`${p}.ln_2`, `${p}.attn.proj`, `${p}.resid_attn`, ln2, bProj, `${p}.ln_2.out`, `${p}.resid_mlp`);

    const wFc = addProjection(`${p}.mlp.c_fc.weight`);
    const bFc = await addBias(`${p}.mlp.c_fc.bias`);
    project(`${p}.mlp.c_fc`, `${p}.ln_2.out`, wFc, bFc ? `${p}.mlp.fc_nobias` : `${p}.mlp.fc`);
    if (bFc) add(`${p}.mlp.c_fc_bias`, `${p}.mlp.fc_nobias`, bFc, `${p}.mlp.fc`);
    nodes.push({ op: 'QuickGelu', domain: ms, name: `${p}.mlp.act`, inputs: [`${p}.mlp.fc`], outputs: [`${p}.mlp.act_out`], attrs: { alpha: 1.702 } });
    project(`${p}.mlp.c_proj`, `${p}.mlp.act_out`, addProjection(`${p}.mlp.c_proj.weight`), `${p}.mlp.out`);

    branch = `${p}.mlp.out`;
    residual = `${p}.resid_mlp`;
    branchBias = await addBias(`${p}.mlp.c_proj.bias`);
    maxNodesPerLayer = Math.max(maxNodesPerLayer, nodes.length - before);
  }

  const lnf = addWeight('ln_f.weight', tensor('ln_f.weight'));
  skipNorm('ln_f', branch, residual, lnf, branchBias, 'ln_f.out');
  const lmHead = tensor('lm_head.weight');
  const wHead = addWeight('lm_head', lmHead, (v) => transpose2d(v, NUM_COLOURS, d), [d, NUM_COLOURS]);
  if (options.dtype === 'fp16') {
    matmul('lm_head', 'ln_f.out', wHead, 'logits_fp16');
    nodes.push({ op: 'Cast', name: 'logits_to_fp32', inputs: ['logits_fp16'], outputs: [io.logits], attrs: { to: { int: DataType.FLOAT } } });
  } else {
    matmul('lm_head', 'ln_f.out', wHead, io.logits);
  }

  const weightBytes = initializers.reduce((n, w) => n + w.byteLength, 0);
  let externalData: BuiltGraph['externalData'] = null;
  if (weightBytes > (options.externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD)) {
    const location = `${options.graphFile}.data`;
    let offset = 0;
    for (const w of initializers) {
      w.external = { location, offset };
      offset += w.byteLength;
    }
    externalData = { location, initializers };
  }

  const headDim = d / nHead;
  const cacheDims = (past: string) => ['batch', nHead, past, headDim];
  const model = buildModelProto({
    producer: 'igpt-playground',
    producerVersion: options.producerVersion,
    opsets: [
      { domain: '', version: 17 },
      { domain: ms, version: 1 },
    ],
    graph: {
      name: 'imagegpt_decoder',
      inputs: [
        { name: io.inputIds, dataType: DataType.INT64, dims: ['batch', 'sequence'] },
        { name: io.positionIds, dataType: DataType.INT64, dims: ['batch', 'sequence'] },
        { name: io.seqlensK, dataType: DataType.INT32, dims: ['batch'] },
        { name: io.totalSequenceLength, dataType: DataType.INT32, dims: [] },
        ...io.pastKey.flatMap((k, i) => [
          { name: k, dataType: floatType, dims: cacheDims('past_sequence') },
          { name: io.pastValue[i], dataType: floatType, dims: cacheDims('past_sequence') },
        ]),
      ],
      outputs: [
        { name: io.logits, dataType: DataType.FLOAT, dims: ['batch', 'sequence', NUM_COLOURS] },
        ...io.presentKey.flatMap((k, i) => [
          { name: k, dataType: floatType, dims: cacheDims('present_sequence') },
          { name: io.presentValue[i], dataType: floatType, dims: cacheDims('present_sequence') },
        ]),
      ],
      nodes,
      initializers,
    },
  });
  return { model, io, nodeCount: nodes.length, nodesPerLayer: maxNodesPerLayer, weightBytes, attentionScale, attentionScaleMode, externalData };
}
