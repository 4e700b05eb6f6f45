/**
 * A minimal protobuf encoder for writing ONNX models, built for streaming: a message is a tree of
 * fields whose sizes are known up front, and large byte fields (weights) are produced lazily, one at
 * a time, while the message is written. A 1.8 GB model is never held in memory.
 */

type Field =
  | { no: number; kind: 'varint'; value: bigint }
  | { no: number; kind: 'fixed32'; value: number } // float
  | { no: number; kind: 'bytes'; value: Uint8Array }
  | { no: number; kind: 'message'; value: Message }
  | { no: number; kind: 'lazy'; length: number; produce: () => Promise<Uint8Array> };

const textEncoder = new TextEncoder();

export class Message {
  readonly fields: Field[] = [];
  private cachedSize = -1;

  varint(no: number, value: number | bigint): this {
    this.fields.push({ no, kind: 'varint', value: BigInt(value) });
    return this;
  }
  float(no: number, value: number): this {
    this.fields.push({ no, kind: 'fixed32', value });
    return this;
  }
  string(no: number, value: string): this {
    return this.bytes(no, textEncoder.encode(value));
  }
  bytes(no: number, value: Uint8Array): this {
    this.fields.push({ no, kind: 'bytes', value });
    return this;
  }
  message(no: number, value: Message): this {
    this.fields.push({ no, kind: 'message', value });
    return this;
  }
  /** A bytes field of known length whose content is produced only when written. */
  lazy(no: number, length: number, produce: () => Promise<Uint8Array>): this {
    this.fields.push({ no, kind: 'lazy', length, produce });
    return this;
  }
  /** Packed repeated varints (e.g. int64 dims would be unpacked in ONNX; use for packed fields only). */
  packedVarints(no: number, values: (number | bigint)[]): this {
    const parts = values.map((v) => encodeVarint(toUnsigned(BigInt(v))));
    return this.bytes(no, concat(parts));
  }

  /** Encoded size in bytes (cached: do not mutate after calling). */
  size(): number {
    if (this.cachedSize >= 0) return this.cachedSize;
    let n = 0;
    for (const f of this.fields) n += fieldSize(f);
    this.cachedSize = n;
    return n;
  }
}

function fieldSize(f: Field): number {
  const tag = varintSize(BigInt((f.no << 3) | wireType(f)));
  switch (f.kind) {
    case 'varint':
      return tag + varintSize(toUnsigned(f.value));
    case 'fixed32':
      return tag + 4;
    case 'bytes':
      return tag + varintSize(BigInt(f.value.length)) + f.value.length;
    case 'message': {
      const s = f.value.size();
      return tag + varintSize(BigInt(s)) + s;
    }
    case 'lazy':
      return tag + varintSize(BigInt(f.length)) + f.length;
  }
}

function wireType(f: Field): number {
  switch (f.kind) {
    case 'varint':
      return 0;
    case 'fixed32':
      return 5;
    default:
      return 2;
  }
}

/** Negative int64 values are encoded as 10-byte two's complement varints. */
function toUnsigned(v: bigint): bigint {
  return v < 0n ? v + (1n << 64n) : v;
}

function varintSize(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

export function encodeVarint(v: bigint): Uint8Array {
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** All the chunks of a stream (encodeMessage's, a file's) as one byte array. */
export async function concatChunks(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return concat(parts);
}

/**
 * Writes a message as a sequence of chunks. Small fields are batched into one buffer; lazy
 * fields are produced and handed over one at a time.
 */
export async function* encodeMessage(msg: Message): AsyncGenerator<Uint8Array> {
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const push = (b: Uint8Array) => {
    pending.push(b);
    pendingBytes += b.length;
  };
  const flush = () => {
    const out = concat(pending);
    pending.length = 0;
    pendingBytes = 0;
    return out;
  };
  async function* walk(m: Message): AsyncGenerator<Uint8Array> {
    for (const f of m.fields) {
      push(encodeVarint(BigInt((f.no << 3) | wireType(f))));
      switch (f.kind) {
        case 'varint':
          push(encodeVarint(toUnsigned(f.value)));
          break;
        case 'fixed32': {
          const b = new Uint8Array(4);
          new DataView(b.buffer).setFloat32(0, f.value, true);
          push(b);
          break;
        }
        case 'bytes':
          push(encodeVarint(BigInt(f.value.length)));
          push(f.value);
          break;
        case 'message':
          push(encodeVarint(BigInt(f.value.size())));
          yield* walk(f.value);
          break;
        case 'lazy': {
          push(encodeVarint(BigInt(f.length)));
          yield flush();
          const data = await f.produce();
          if (data.length !== f.length) {
            throw new Error(`internal: lazy field ${f.no} produced ${data.length} bytes, expected ${f.length}`);
          }
          yield data;
          break;
        }
      }
      if (pendingBytes > 1 << 20) yield flush();
    }
  }
  yield* walk(msg);
  if (pendingBytes > 0) yield flush();
}
