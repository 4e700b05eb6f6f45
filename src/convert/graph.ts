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
 */
import { NUM_COLOURS, type BundleManifest, type WeightDType } from '../bundle/index.ts';
import { toFloat16Array } from './fp16.ts';
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
   * Multiplier of the attention scores. Hugging Face's ImageGPT source and the TF original divide by
   * sqrt(head_dim), the default; the reference fixture's logits are reproduced with another value
   * (see docs/PARITY.md), so the scale is explicit and recorded in the manifest.
   */
  attentionScale?: number;
}

export function defaultAttentionScale(nEmbd: number, nHead: number): number {
  return 1 / Math.sqrt(nEmbd / nHead);
}

export interface BuiltGraph {
  model: Message;
  io: BundleManifest['io'];
  nodeCount: number;
  nodesPerLayer: number;
  weightBytes: number;
  attentionScale: number;
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
  const attentionScale = options.attentionScale ?? defaultAttentionScale(d, nHead);

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
        let values = await source.read();
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
    if (isAllZero(await source.read())) return null;
    return addWeight(name, source);
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

    const wAttn = addWeight(`${p}.attn.c_attn.weight`, tensor(`${p}.attn.c_attn.weight`));
    const bAttn = await addBias(`${p}.attn.c_attn.bias`);
    matmul(`${p}.attn.c_attn`, `${p}.ln_1.out`, wAttn, bAttn ? `${p}.attn.qkv_nobias` : `${p}.attn.qkv`);
    if (bAttn) add(`${p}.attn.c_attn_bias`, `${p}.attn.qkv_nobias`, bAttn, `${p}.attn.qkv`);

    nodes.push({
      op: 'GroupQueryAttention',
      domain: ms,
      name: `${p}.attn.attention`,
      inputs: [`${p}.attn.qkv`, '', '', io.pastKey[i], io.pastValue[i], io.seqlensK, io.totalSequenceLength],
      outputs: [`${p}.attn.out`, io.presentKey[i], io.presentValue[i]],
      attrs: { num_heads: { int: nHead }, kv_num_heads: { int: nHead }, scale: attentionScale },
    });
    const wProj = addWeight(`${p}.attn.c_proj.weight`, tensor(`${p}.attn.c_proj.weight`));
    matmul(`${p}.attn.c_proj`, `${p}.attn.out`, wProj, `${p}.attn.proj`);
    const bProj = await addBias(`${p}.attn.c_proj.bias`);

    const ln2 = addWeight(`${p}.ln_2.weight`, tensor(`${p}.ln_2.weight`));
    skipNorm(`${p}.ln_2`, `${p}.attn.proj`, `${p}.resid_attn`, ln2, bProj, `${p}.ln_2.out`, `${p}.resid_mlp`);

    const wFc = addWeight(`${p}.mlp.c_fc.weight`, tensor(`${p}.mlp.c_fc.weight`));
    const bFc = await addBias(`${p}.mlp.c_fc.bias`);
    matmul(`${p}.mlp.c_fc`, `${p}.ln_2.out`, wFc, bFc ? `${p}.mlp.fc_nobias` : `${p}.mlp.fc`);
    if (bFc) add(`${p}.mlp.c_fc_bias`, `${p}.mlp.fc_nobias`, bFc, `${p}.mlp.fc`);
    nodes.push({ op: 'QuickGelu', domain: ms, name: `${p}.mlp.act`, inputs: [`${p}.mlp.fc`], outputs: [`${p}.mlp.act_out`], attrs: { alpha: 1.702 } });
    const wMlpProj = addWeight(`${p}.mlp.c_proj.weight`, tensor(`${p}.mlp.c_proj.weight`));
    matmul(`${p}.mlp.c_proj`, `${p}.mlp.act_out`, wMlpProj, `${p}.mlp.out`);

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
  return { model, io, nodeCount: nodes.length, nodesPerLayer: maxNodesPerLayer, weightBytes, attentionScale, externalData };
}
