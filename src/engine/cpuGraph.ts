/**
 * The CPU (wasm) form of a bundle's graph, made at load time from the bundle's own ONNX bytes.
 *
 * Why: onnxruntime-web's wasm backend copies every input into its heap and every output out of it
 * on each run. With GroupQueryAttention the whole KV cache crosses that boundary twice per decode
 * step (past in, present out: [B, H, L, D] per layer, 400 MB for iGPT-S at batch 8 and L = 512),
 * and the op copies past into present inside as well. That, not arithmetic, made batch 8 cost 26x
 * batch 1 (docs/PERF.md).
 *
 * The rewrite replaces each GroupQueryAttention node by plain attention over three key/value parts:
 * - `prefix_key.i` / `prefix_value.i` [1, H, P, D]: the shared prompt, ONE row for all samples
 *   (broadcast over the batch), so the prompt's cache is copied in once per step, not B times;
 * - `past_key.i` / `past_value.i` [B, H, G, D]: each row's own generated positions, G a capacity
 *   (a multiple of GEN_BLOCK); positions beyond the row's length are masked by `gen_mask` [G]
 *   (0 or -inf, added to those scores);
 * - the S new tokens' own keys and values (causal among themselves), returned as `new_key.i` /
 *   `new_value.i` [B, H, S, D]: the only cache output, S positions, not L.
 * scores = [q K_prefix^T, q K_past^T + mask, q k_new^T + causal] * scale (FusedMatMul, transB),
 * one Softmax over their concatenation, then the three probability parts times their values. The
 * prompt's two products run head-major over all rows at once ([H, B*S, D] against [H, P, D]): one
 * matrix product per head instead of one per row and head.
 * Every other node and every initializer is kept byte for byte.
 *
 * The graph's other inputs stay (input_ids, position_ids); seqlens_k and total_sequence_length
 * are dropped (nothing else reads them).
 */
import type { BundleManifest } from '../bundle/index.ts';

/** Generated positions are held, and fed, in blocks of this many (less re-allocation; mask the rest). */
export const GEN_BLOCK = 32;

export interface CpuGraphIo {
  prefixKey: string[];
  prefixValue: string[];
  pastKey: string[];
  pastValue: string[];
  genMask: string;
  newKey: string[];
  newValue: string[];
}

export function cpuGraphIo(nLayer: number): CpuGraphIo {
  const layers = Array.from({ length: nLayer }, (_, i) => i);
  return {
    prefixKey: layers.map((i) => `prefix_key.${i}`),
    prefixValue: layers.map((i) => `prefix_value.${i}`),
    pastKey: layers.map((i) => `past_key.${i}`),
    pastValue: layers.map((i) => `past_value.${i}`),
    genMask: 'gen_mask',
    newKey: layers.map((i) => `new_key.${i}`),
    newValue: layers.map((i) => `new_value.${i}`),
  };
}

// ---- minimal protobuf reading and writing ----

interface RawField {
  no: number;
  wire: number;
  /** The whole field, tag included. */
  start: number;
  end: number;
  /** LEN fields: the payload. */
  dataStart: number;
  value: number;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('protobuf: truncated varint');
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos];
    mul *= 128;
  }
}

function* fields(buf: Uint8Array, start = 0, end = buf.length): Generator<RawField> {
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const [tag, p1] = readVarint(buf, pos);
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    let value = 0;
    let dataStart = p1;
    if (wire === 0) [value, pos] = readVarint(buf, p1);
    else if (wire === 1) pos = p1 + 8;
    else if (wire === 5) pos = p1 + 4;
    else if (wire === 2) {
      const [len, p2] = readVarint(buf, p1);
      dataStart = p2;
      value = len;
      pos = p2 + len;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
    yield { no, wire, start: fieldStart, end: pos, dataStart, value };
  }
  if (pos !== end) throw new Error('protobuf: field runs past its message');
}

const utf8 = new TextDecoder();
const enc = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

type Part = Uint8Array | number[];

class Writer {
  parts: Part[] = [];
  size = 0;
  raw(p: Part): this {
    this.parts.push(p);
    this.size += p.length;
    return this;
  }
  tag(no: number, wire: number): this {
    return this.raw(varint(no * 8 + wire));
  }
  varintField(no: number, n: number): this {
    // negative int64 (e.g. axis -1): ten-byte two's complement
    if (n < 0) return this.tag(no, 0).raw(negativeVarint(n));
    return this.tag(no, 0).raw(varint(n));
  }
  bytesField(no: number, bytes: Uint8Array): this {
    return this.tag(no, 2).raw(varint(bytes.length)).raw(bytes);
  }
  stringField(no: number, s: string): this {
    return this.bytesField(no, enc.encode(s));
  }
  messageField(no: number, w: Writer): this {
    this.tag(no, 2).raw(varint(w.size));
    for (const p of w.parts) this.raw(p);
    return this;
  }
  floatField(no: number, f: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, f, true);
    return this.tag(no, 5).raw(b);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function negativeVarint(n: number): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

type Attr = { name: string; int?: number; float?: number; ints?: number[] };

function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Attr[] = [], domain = ''): Writer {
  const w = new Writer();
  for (const i of inputs) w.stringField(1, i);
  for (const o of outputs) w.stringField(2, o);
  w.stringField(3, name).stringField(4, op);
  for (const a of attrs) {
    const aw = new Writer().stringField(1, a.name);
    if (a.float !== undefined) aw.floatField(2, a.float).varintField(20, 1);
    else if (a.int !== undefined) aw.varintField(3, a.int).varintField(20, 2);
    else if (a.ints) {
      for (const v of a.ints) aw.varintField(8, v);
      aw.varintField(20, 7);
    }
    w.messageField(5, aw);
  }
  if (domain) w.stringField(7, domain);
  return w;
}

const FLOAT = 1;
const INT64 = 7;

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.messageField(1, typeof d === 'number' ? new Writer().varintField(1, d) : new Writer().stringField(2, d));
  const tensorType = new Writer().varintField(1, elemType).messageField(2, shape);
  return new Writer().stringField(1, name).messageField(2, new Writer().messageField(1, tensorType));
}

function int64Initializer(name: string, values: number[]): Writer {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  const w = new Writer();
  w.varintField(1, values.length); // dims: a 1-D tensor
  return w.varintField(2, INT64).stringField(8, name).bytesField(9, raw);
}

function floatScalarInitializer(name: string, value: number): Writer {
  const raw = new Uint8Array(4);
  new DataView(raw.buffer).setFloat32(0, value, true);
  return new Writer().varintField(2, FLOAT).stringField(8, name).bytesField(9, raw);
}

interface ParsedNode {
  field: RawField;
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
}

function parseNode(buf: Uint8Array, f: RawField): ParsedNode {
  const n: ParsedNode = { field: f, op: '', inputs: [], outputs: [], name: '' };
  for (const g of fields(buf, f.dataStart, f.end)) {
    if (g.wire !== 2) continue;
    const s = () => utf8.decode(buf.subarray(g.dataStart, g.end));
    if (g.no === 1) n.inputs.push(s());
    else if (g.no === 2) n.outputs.push(s());
    else if (g.no === 3) n.name = s();
    else if (g.no === 4) n.op = s();
  }
  return n;
}

function valueInfoName(buf: Uint8Array, f: RawField): string {
  for (const g of fields(buf, f.dataStart, f.end)) if (g.no === 1 && g.wire === 2) return utf8.decode(buf.subarray(g.dataStart, g.end));
  return '';
}

/**
 * Rewrites a float32-cache graph (fp32 or q4 variant) of this bundle into the CPU form described
 * above. Throws when the graph does not have one GroupQueryAttention per layer reading the
 * manifest's past inputs.
 */
export function cpuDecoderGraph(model: Uint8Array, manifest: BundleManifest): Uint8Array {
  const { io, config } = manifest;
  const H = config.nHead;
  const D = config.nEmbd / config.nHead;
  const cpu = cpuGraphIo(config.nLayer);
  let graphField: RawField | null = null;
  const modelOut = new Writer();
  const modelFields: RawField[] = [];
  for (const f of fields(model)) {
    if (f.no === 7 && f.wire === 2) graphField = f;
    modelFields.push(f);
  }
  if (!graphField) throw new Error('cpuDecoderGraph: no graph in the model');

  const pastIndex = new Map<string, number>(io.pastKey.map((k, i) => [k, i]));
  const dropInputs = new Set([...io.pastKey, ...io.pastValue, io.seqlensK, io.totalSequenceLength]);
  const dropOutputs = new Set([...io.presentKey, ...io.presentValue]);
  const graph = new Writer();
  const extraInit: Writer[] = [];
  let replaced = 0;
  let scale = attentionScale(model, graphField) ?? 1 / Math.sqrt(D);
  if (!Number.isFinite(scale)) scale = 1 / Math.sqrt(D);

  // Shared helpers, computed once: the causal mask of the S new tokens and the split sizes.
  const shared: Writer[] = [];
  const c = (name: string, values: number[]) => extraInit.push(int64Initializer(name, values));
  c('cpu.shape_bshd', [0, 0, H, D]);
  c('cpu.shape_bsd', [0, 0, H * D]);
  c('cpu.zero', [0]);
  c('cpu.one', [1]);
  c('cpu.two', [2]);
  c('cpu.shape_h_n_d', [H, -1, D]);
  c('cpu.H', [H]);
  extraInit.push(floatScalarInitializer('cpu.neg_inf', -Infinity));
  extraInit.push(floatScalarInitializer('cpu.fzero', 0));
  // S = input_ids.shape[1]; P = prefix_key.0.shape[2]; G = past_key.0.shape[2]
  shared.push(node('Shape', [io.inputIds], ['cpu.ids_shape'], 'cpu.ids_shape'));
  shared.push(node('Gather', ['cpu.ids_shape', 'cpu.one'], ['cpu.S'], 'cpu.S', [{ name: 'axis', int: 0 }]));
  shared.push(node('Shape', [cpu.prefixKey[0]], ['cpu.prefix_shape'], 'cpu.prefix_shape'));
  shared.push(node('Gather', ['cpu.prefix_shape', 'cpu.two'], ['cpu.P'], 'cpu.P', [{ name: 'axis', int: 0 }]));
  shared.push(node('Shape', [cpu.pastKey[0]], ['cpu.past_shape'], 'cpu.past_shape'));
  shared.push(node('Gather', ['cpu.past_shape', 'cpu.two'], ['cpu.G'], 'cpu.G', [{ name: 'axis', int: 0 }]));
  shared.push(node('Concat', ['cpu.P', 'cpu.G', 'cpu.S'], ['cpu.split_sizes'], 'cpu.split_sizes', [{ name: 'axis', int: 0 }]));
  // Head-major shapes for the shared prompt's products: [H, B*S, P] -> [H, B, S, P] and [H, B*S, D] -> [H, B, S, D].
  // Explicit sizes (P may be 0: no shared prompt), read with allowzero.
  shared.push(node('Gather', ['cpu.ids_shape', 'cpu.zero'], ['cpu.B'], 'cpu.B', [{ name: 'axis', int: 0 }]));
  shared.push(node('Mul', ['cpu.B', 'cpu.S'], ['cpu.BS'], 'cpu.BS'));
  shared.push(node('Concat', ['cpu.H', 'cpu.B', 'cpu.S', 'cpu.P'], ['cpu.shape_h_b_s_p'], 'cpu.shape_h_b_s_p', [{ name: 'axis', int: 0 }]));
  shared.push(node('Concat', ['cpu.H', 'cpu.BS', 'cpu.P'], ['cpu.shape_h_n_p'], 'cpu.shape_h_n_p', [{ name: 'axis', int: 0 }]));
  extraInit.push(int64Initializer('cpu.D', [D]));
  shared.push(node('Concat', ['cpu.H', 'cpu.B', 'cpu.S', 'cpu.D'], ['cpu.shape_h_b_s_d'], 'cpu.shape_h_b_s_d', [{ name: 'axis', int: 0 }]));
  // causal [S, S]: -inf above the diagonal
  shared.push(node('Squeeze', ['cpu.S', 'cpu.zero'], ['cpu.S_scalar'], 'cpu.S_scalar'));
  extraInit.push(scalarInt64('cpu.zero_scalar', 0), scalarInt64('cpu.one_scalar', 1));
  shared.push(node('Range', ['cpu.zero_scalar', 'cpu.S_scalar', 'cpu.one_scalar'], ['cpu.range'], 'cpu.range'));
  shared.push(node('Unsqueeze', ['cpu.range', 'cpu.one'], ['cpu.range_col'], 'cpu.range_col'));
  shared.push(node('Unsqueeze', ['cpu.range', 'cpu.zero'], ['cpu.range_row'], 'cpu.range_row'));
  shared.push(node('Less', ['cpu.range_col', 'cpu.range_row'], ['cpu.above'], 'cpu.above'));
  shared.push(node('Where', ['cpu.above', 'cpu.neg_inf', 'cpu.fzero'], ['cpu.causal'], 'cpu.causal'));

  const gqaNodes: Writer[] = [];
  const keptNodes: Uint8Array[] = [];
  for (const f of fields(model, graphField.dataStart, graphField.end)) {
    if (f.no === 1 && f.wire === 2) {
      const n = parseNode(model, f);
      if (n.op === 'GroupQueryAttention') {
        const i = pastIndex.get(n.inputs[3]);
        if (i === undefined) throw new Error(`cpuDecoderGraph: ${n.name} does not read a past_key input`);
        gqaNodes.push(...attention(n.inputs[0], n.outputs[0], i, H, D, scale, cpu, n.name));
        replaced++;
        continue;
      }
      keptNodes.push(model.subarray(f.start, f.end));
    } else if (f.no === 11 && f.wire === 2) {
      if (!dropInputs.has(valueInfoName(model, f))) graph.raw(model.subarray(f.start, f.end));
    } else if (f.no === 12 && f.wire === 2) {
      if (!dropOutputs.has(valueInfoName(model, f))) graph.raw(model.subarray(f.start, f.end));
    } else {
      graph.raw(model.subarray(f.start, f.end));
    }
  }
  if (replaced !== config.nLayer) throw new Error(`cpuDecoderGraph: found ${replaced} GroupQueryAttention nodes, expected ${config.nLayer}`);
  for (let i = 0; i < config.nLayer; i++) {
    graph.messageField(11, valueInfo(cpu.prefixKey[i], FLOAT, [1, H, 'prefix', D]));
    graph.messageField(11, valueInfo(cpu.prefixValue[i], FLOAT, [1, H, 'prefix', D]));
    graph.messageField(11, valueInfo(cpu.pastKey[i], FLOAT, ['batch', H, 'generated', D]));
    graph.messageField(11, valueInfo(cpu.pastValue[i], FLOAT, ['batch', H, 'generated', D]));
    graph.messageField(12, valueInfo(cpu.newKey[i], FLOAT, ['batch', H, 'sequence', D]));
    graph.messageField(12, valueInfo(cpu.newValue[i], FLOAT, ['batch', H, 'sequence', D]));
  }
  graph.messageField(11, valueInfo(cpu.genMask, FLOAT, ['generated']));
  // Nodes: the shared ones first (topological order: they read graph inputs only), then the
  // original nodes in order with each attention node replaced in place.
  const nodesOut = new Writer();
  for (const s of shared) nodesOut.messageField(1, s);
  let g = 0;
  const perLayer = gqaNodes.length / config.nLayer;
  // Re-walk to interleave: the kept nodes and the replacements in the original order.
  for (const f of fields(model, graphField.dataStart, graphField.end)) {
    if (!(f.no === 1 && f.wire === 2)) continue;
    const n = parseNode(model, f);
    if (n.op === 'GroupQueryAttention') {
      for (let k = 0; k < perLayer; k++) nodesOut.messageField(1, gqaNodes[g++]);
    } else nodesOut.raw(model.subarray(f.start, f.end));
  }
  for (const w of extraInit) nodesOut.messageField(5, w);
  void keptNodes;

  const newGraph = new Writer();
  for (const p of nodesOut.parts) newGraph.raw(p);
  for (const p of graph.parts) newGraph.raw(p);
  for (const f of modelFields) {
    if (f === graphField) modelOut.messageField(7, newGraph);
    else modelOut.raw(model.subarray(f.start, f.end));
  }
  return modelOut.bytes();
}

function scalarInt64(name: string, value: number): Writer {
  const raw = new Uint8Array(8);
  new DataView(raw.buffer).setBigInt64(0, BigInt(value), true);
  return new Writer().varintField(2, INT64).stringField(8, name).bytesField(9, raw);
}

/** The `scale` attribute of the first GroupQueryAttention node. */
function attentionScale(model: Uint8Array, graphField: RawField): number | null {
  for (const f of fields(model, graphField.dataStart, graphField.end)) {
    if (!(f.no === 1 && f.wire === 2)) continue;
    if (parseNode(model, f).op !== 'GroupQueryAttention') continue;
    for (const a of fields(model, f.dataStart, f.end)) {
      if (a.no !== 5 || a.wire !== 2) continue;
      let name = '';
      let value: number | null = null;
      for (const x of fields(model, a.dataStart, a.end)) {
        if (x.no === 1 && x.wire === 2) name = utf8.decode(model.subarray(x.dataStart, x.end));
        if (x.no === 2 && x.wire === 5) value = new DataView(model.buffer, model.byteOffset + x.dataStart, 4).getFloat32(0, true);
      }
      if (name === 'scale' && value !== null) return value;
    }
    return null;
  }
  return null;
}

/** The nodes that replace one GroupQueryAttention (packed qkv [B, S, 3HD] -> out [B, S, HD]). */
function attention(qkv: string, out: string, i: number, H: number, D: number, scale: number, cpu: CpuGraphIo, name: string): Writer[] {
  const p = `${name}.cpu`;
  const ms = 'com.microsoft';
  const perm = { name: 'perm', ints: [0, 2, 1, 3] };
  const hperm = { name: 'perm', ints: [1, 0, 2, 3] };
  const allowzero = { name: 'allowzero', int: 1 };
  const nodes: Writer[] = [
    node('Split', [qkv], [`${p}.q3`, `${p}.k3`, `${p}.v3`], `${p}.split_qkv`, [{ name: 'axis', int: 2 }]),
  ];
  for (const x of ['q', 'k', 'v']) {
    nodes.push(node('Reshape', [`${p}.${x}3`, 'cpu.shape_bshd'], [`${p}.${x}4`], `${p}.reshape_${x}`));
  }
  nodes.push(
    node('Transpose', [`${p}.q4`], [`${p}.q`], `${p}.transpose_q`, [perm]),
    node('Transpose', [`${p}.k4`], [cpu.newKey[i]], `${p}.transpose_k`, [perm]),
    node('Transpose', [`${p}.v4`], [cpu.newValue[i]], `${p}.transpose_v`, [perm]),
    // The shared prompt: one product per head over all rows at once ([H, B*S, D] x [H, P, D]^T),
    // not B*H products of one row each.
    node('Transpose', [`${p}.q`], [`${p}.q_h`], `${p}.transpose_q_h`, [hperm]),
    node('Reshape', [`${p}.q_h`, 'cpu.shape_h_n_d'], [`${p}.q_hn`], `${p}.reshape_q_hn`),
    node('Squeeze', [cpu.prefixKey[i], 'cpu.zero'], [`${p}.k_prefix`], `${p}.squeeze_k_prefix`),
    node('Squeeze', [cpu.prefixValue[i], 'cpu.zero'], [`${p}.v_prefix`], `${p}.squeeze_v_prefix`),
    node('FusedMatMul', [`${p}.q_hn`, `${p}.k_prefix`], [`${p}.s_prefix_hn`], `${p}.scores_prefix`, [{ name: 'alpha', float: scale }, { name: 'transB', int: 1 }], ms),
    node('Reshape', [`${p}.s_prefix_hn`, 'cpu.shape_h_b_s_p'], [`${p}.s_prefix_h`], `${p}.reshape_s_prefix`, [allowzero]),
    node('Transpose', [`${p}.s_prefix_h`], [`${p}.s_prefix`], `${p}.transpose_s_prefix`, [hperm]),
    node('FusedMatMul', [`${p}.q`, cpu.pastKey[i]], [`${p}.s_past_raw`], `${p}.scores_past`, [{ name: 'alpha', float: scale }, { name: 'transB', int: 1 }], ms),
    node('Add', [`${p}.s_past_raw`, cpu.genMask], [`${p}.s_past`], `${p}.mask_past`),
    node('FusedMatMul', [`${p}.q`, cpu.newKey[i]], [`${p}.s_new_raw`], `${p}.scores_new`, [{ name: 'alpha', float: scale }, { name: 'transB', int: 1 }], ms),
    node('Add', [`${p}.s_new_raw`, 'cpu.causal'], [`${p}.s_new`], `${p}.mask_new`),
    node('Concat', [`${p}.s_prefix`, `${p}.s_past`, `${p}.s_new`], [`${p}.scores`], `${p}.concat_scores`, [{ name: 'axis', int: 3 }]),
    node('Softmax', [`${p}.scores`], [`${p}.probs`], `${p}.softmax`, [{ name: 'axis', int: -1 }]),
    node('Split', [`${p}.probs`, 'cpu.split_sizes'], [`${p}.p_prefix`, `${p}.p_past`, `${p}.p_new`], `${p}.split_probs`, [{ name: 'axis', int: 3 }]),
    node('Transpose', [`${p}.p_prefix`], [`${p}.p_prefix_h`], `${p}.transpose_p_prefix`, [hperm]),
    node('Reshape', [`${p}.p_prefix_h`, 'cpu.shape_h_n_p'], [`${p}.p_prefix_hn`], `${p}.reshape_p_prefix`, [allowzero]),
    node('MatMul', [`${p}.p_prefix_hn`, `${p}.v_prefix`], [`${p}.o_prefix_hn`], `${p}.out_prefix`),
    node('Reshape', [`${p}.o_prefix_hn`, 'cpu.shape_h_b_s_d'], [`${p}.o_prefix_h`], `${p}.reshape_o_prefix`, [allowzero]),
    node('Transpose', [`${p}.o_prefix_h`], [`${p}.o_prefix`], `${p}.transpose_o_prefix`, [hperm]),
    node('MatMul', [`${p}.p_past`, cpu.pastValue[i]], [`${p}.o_past`], `${p}.out_past`),
    node('MatMul', [`${p}.p_new`, cpu.newValue[i]], [`${p}.o_new`], `${p}.out_new`),
    node('Add', [`${p}.o_prefix`, `${p}.o_past`], [`${p}.o_pp`], `${p}.add_prefix_past`),
    node('Add', [`${p}.o_pp`, `${p}.o_new`], [`${p}.o`], `${p}.add_new`),
    node('Transpose', [`${p}.o`], [`${p}.o4`], `${p}.transpose_out`, [perm]),
    node('Reshape', [`${p}.o4`, 'cpu.shape_bsd'], [out], `${p}.reshape_out`),
  );
  return nodes;
}
