/**
 * A minimal ONNX reader: the initializers and nodes of a ModelProto, enough to take the weights
 * back out of a graph this project wrote (`buildDecoderGraph`). Field numbers are those of
 * onnx/onnx.proto. Runtime-agnostic (bytes in, views out); tensor bytes are not copied.
 */
import { f16BitsToNumber } from '../safetensors.ts';
import { DataType } from './onnx.ts';

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** raw_data (a view into the model bytes), or null when the values are external or in float_data. */
  raw: Uint8Array | null;
  floatData: Float32Array | null;
  external: { location: string; offset: number; length: number } | null;
}

export interface OnnxNode {
  op: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Scalar attributes only (float and int); others are skipped. */
  attrs: Record<string, number>;
}

export interface OnnxModelSummary {
  initializers: Map<string, OnnxTensor>;
  nodes: OnnxNode[];
}

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('onnx: truncated varint');
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('onnx: varint too long');
    }
  }
  int(): number {
    const v = BigInt.asIntN(64, this.varint());
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error('onnx: integer out of range');
    return Number(v);
  }
  /** A length-delimited field's [start, end). */
  span(): [number, number] {
    const len = Number(this.varint());
    const start = this.pos;
    if (start + len > this.end) throw new Error('onnx: field runs past the end of its message');
    this.pos += len;
    return [start, start + len];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.span();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`onnx: unsupported wire type ${wire}`);
  }
  /** Calls fn(field number, wire type) for each field; fn must consume the field or return false to skip it. */
  fields(fn: (no: number, wire: number) => boolean): void {
    while (!this.done) {
      const tag = Number(this.varint());
      const no = tag >>> 3;
      const wire = tag & 7;
      if (!fn(no, wire)) this.skip(wire);
    }
  }
  sub([start, end]: [number, number]): Reader {
    return new Reader(this.bytes, start, end);
  }
  text([start, end]: [number, number]): string {
    return new TextDecoder().decode(this.bytes.subarray(start, end));
  }
}

function readTensor(r: Reader): OnnxTensor {
  const t: OnnxTensor = { name: '', dims: [], dataType: 0, raw: null, floatData: null, external: null };
  const ext: Record<string, string> = {};
  r.fields((no, wire) => {
    if (no === 1 && wire === 0) t.dims.push(r.int());
    else if (no === 1 && wire === 2) {
      const p = r.sub(r.span());
      while (!p.done) t.dims.push(p.int());
    } else if (no === 2) t.dataType = r.int();
    else if (no === 8) t.name = r.text(r.span());
    else if (no === 9) {
      const [s, e] = r.span();
      t.raw = r.bytes.subarray(s, e);
    } else if (no === 4 && wire === 2) {
      const [s, e] = r.span();
      const copy = r.bytes.slice(s, e);
      t.floatData = new Float32Array(copy.buffer, 0, (e - s) / 4);
    } else if (no === 13) {
      const entry = r.sub(r.span());
      let key = '';
      let value = '';
      entry.fields((n) => {
        if (n === 1) key = entry.text(entry.span());
        else if (n === 2) value = entry.text(entry.span());
        else return false;
        return true;
      });
      ext[key] = value;
    } else return false;
    return true;
  });
  if (ext.location !== undefined) {
    t.external = { location: ext.location, offset: Number(ext.offset ?? 0), length: Number(ext.length ?? NaN) };
  }
  return t;
}

function readNode(r: Reader): OnnxNode {
  const n: OnnxNode = { op: '', domain: '', name: '', inputs: [], outputs: [], attrs: {} };
  r.fields((no) => {
    if (no === 1) n.inputs.push(r.text(r.span()));
    else if (no === 2) n.outputs.push(r.text(r.span()));
    else if (no === 3) n.name = r.text(r.span());
    else if (no === 4) n.op = r.text(r.span());
    else if (no === 7) n.domain = r.text(r.span());
    else if (no === 5) {
      const a = r.sub(r.span());
      let name = '';
      let value: number | undefined;
      a.fields((f, wire) => {
        if (f === 1) name = a.text(a.span());
        else if (f === 2 && wire === 5) {
          value = new DataView(a.bytes.buffer, a.bytes.byteOffset + a.pos, 4).getFloat32(0, true);
          a.pos += 4;
        } else if (f === 3 && wire === 0) value = a.int();
        else return false;
        return true;
      });
      if (value !== undefined) n.attrs[name] = value;
    } else return false;
    return true;
  });
  return n;
}

/** Reads the initializers and nodes of an ONNX model. */
export function readOnnxModel(bytes: Uint8Array): OnnxModelSummary {
  const model = new Reader(bytes);
  const initializers = new Map<string, OnnxTensor>();
  const nodes: OnnxNode[] = [];
  let sawGraph = false;
  model.fields((no) => {
    if (no !== 7) return false;
    sawGraph = true;
    const g = model.sub(model.span());
    g.fields((f) => {
      if (f === 1) nodes.push(readNode(g.sub(g.span())));
      else if (f === 5) {
        const t = readTensor(g.sub(g.span()));
        initializers.set(t.name, t);
      } else return false;
      return true;
    });
    return true;
  });
  if (!sawGraph) throw new Error('onnx: the model has no graph');
  return { initializers, nodes };
}

/**
 * The values of a float32 or float16 initializer as float32. External data is looked up with
 * `external(location)`, which returns that file's bytes.
 */
export function tensorToFloat32(t: OnnxTensor, external?: (location: string) => Uint8Array | undefined): Float32Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.floatData) return t.floatData;
  let bytes = t.raw;
  if (t.external) {
    const file = external?.(t.external.location);
    if (!file) throw new Error(`onnx: initializer ${t.name} is stored in ${t.external.location}, which was not given`);
    const length = Number.isFinite(t.external.length) ? t.external.length : file.length - t.external.offset;
    bytes = file.subarray(t.external.offset, t.external.offset + length);
  }
  if (!bytes) throw new Error(`onnx: initializer ${t.name} holds no data`);
  const copy = bytes.slice(); // aligned copy
  if (t.dataType === DataType.FLOAT) {
    if (copy.length !== count * 4) throw new Error(`onnx: initializer ${t.name} has ${copy.length} bytes for ${count} float32 values`);
    return new Float32Array(copy.buffer, 0, count);
  }
  if (t.dataType === DataType.FLOAT16) {
    if (copy.length !== count * 2) throw new Error(`onnx: initializer ${t.name} has ${copy.length} bytes for ${count} float16 values`);
    const bits = new Uint16Array(copy.buffer, 0, count);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = f16BitsToNumber(bits[i]);
    return out;
  }
  throw new Error(`onnx: initializer ${t.name} has data type ${t.dataType}, expected float32 or float16`);
}
