/**
 * ONNX ModelProto construction on top of the streaming protobuf encoder. Field numbers are those
 * of onnx/onnx.proto (IR version 8).
 */
import { Message } from './proto.ts';

export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, FLOAT16: 10 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

export type Dim = number | string;

export interface NodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs?: Record<string, number | string | { int: number } | number[]>;
}

/** An initializer: its bytes are produced lazily (inline) or live in the external data file. */
export interface InitializerSpec {
  name: string;
  dataType: DataTypeId;
  dims: number[];
  byteLength: number;
  produce: () => Promise<Uint8Array>;
  /** Set for external data: where in the data file the bytes go. */
  external?: { location: string; offset: number };
}

export interface GraphSpec {
  name: string;
  inputs: { name: string; dataType: DataTypeId; dims: Dim[] }[];
  outputs: { name: string; dataType: DataTypeId; dims: Dim[] }[];
  nodes: NodeSpec[];
  initializers: InitializerSpec[];
}

export interface ModelSpec {
  graph: GraphSpec;
  opsets: { domain: string; version: number }[];
  producer: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

const AttrType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

function attribute(name: string, value: NonNullable<NodeSpec['attrs']>[string]): Message {
  const m = new Message().string(1, name);
  if (typeof value === 'string') return m.bytes(4, new TextEncoder().encode(value)).varint(20, AttrType.STRING);
  if (Array.isArray(value)) {
    for (const v of value) m.varint(8, v);
    return m.varint(20, AttrType.INTS);
  }
  if (typeof value === 'object') return m.varint(3, value.int).varint(20, AttrType.INT);
  return m.float(2, value).varint(20, AttrType.FLOAT);
}

function node(spec: NodeSpec): Message {
  const m = new Message();
  for (const i of spec.inputs) m.string(1, i);
  for (const o of spec.outputs) m.string(2, o);
  m.string(3, spec.name).string(4, spec.op);
  for (const [k, v] of Object.entries(spec.attrs ?? {})) m.message(5, attribute(k, v));
  if (spec.domain) m.string(7, spec.domain);
  return m;
}

function valueInfo(v: { name: string; dataType: DataTypeId; dims: Dim[] }): Message {
  const shape = new Message();
  for (const d of v.dims) {
    shape.message(1, typeof d === 'number' ? new Message().varint(1, d) : new Message().string(2, d));
  }
  const tensorType = new Message().varint(1, v.dataType).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

function initializer(spec: InitializerSpec): Message {
  const m = new Message();
  for (const d of spec.dims) m.varint(1, d);
  m.varint(2, spec.dataType).string(8, spec.name);
  if (spec.external) {
    const entry = (k: string, v: string) => new Message().string(1, k).string(2, v);
    m.message(13, entry('location', spec.external.location));
    m.message(13, entry('offset', String(spec.external.offset)));
    m.message(13, entry('length', String(spec.byteLength)));
    m.varint(14, 1); // DataLocation EXTERNAL
  } else {
    m.lazy(9, spec.byteLength, spec.produce); // raw_data
  }
  return m;
}

export function buildModelProto(spec: ModelSpec): Message {
  const g = new Message();
  for (const n of spec.graph.nodes) g.message(1, node(n));
  g.string(2, spec.graph.name);
  for (const init of spec.graph.initializers) g.message(5, initializer(init));
  for (const i of spec.graph.inputs) g.message(11, valueInfo(i));
  for (const o of spec.graph.outputs) g.message(12, valueInfo(o));

  const model = new Message().varint(1, 8); // ir_version 8
  model.string(2, spec.producer).string(3, spec.producerVersion);
  if (spec.docString) model.string(6, spec.docString);
  model.message(7, g);
  for (const o of spec.opsets) model.message(8, new Message().string(1, o.domain).varint(2, o.version));
  for (const [k, v] of Object.entries(spec.metadata ?? {})) model.message(14, new Message().string(1, k).string(2, v));
  return model;
}
