/**
 * A minimal, safe pickle virtual machine: enough of protocols 0-5 for what `torch.save` emits.
 * It never executes code: GLOBAL resolves through `findClass`, and any global the caller does
 * not know stays an inert `PickleGlobal`; REDUCE/NEWOBJ of such a global gives a `PickleObject`.
 *
 * Values: None -> null, bool -> boolean, int -> number (bigint when beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array, list -> array, tuple -> `PickleTuple` (a frozen array),
 * dict -> Map.
 */
import { InputError } from '../errors.ts';

/** A Python tuple: a frozen JS array, told apart from lists with `isTuple`. */
export type PickleTuple = readonly unknown[];
const TUPLES = new WeakSet<object>();
function tuple(items: unknown[]): PickleTuple {
  TUPLES.add(items);
  return Object.freeze(items);
}
export function isTuple(v: unknown): v is PickleTuple {
  return typeof v === 'object' && v !== null && TUPLES.has(v);
}

/** A global the caller did not resolve. */
export class PickleGlobal {
  constructor(
    public readonly module: string,
    public readonly name: string,
  ) {}
  get fullName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of an unresolved class: what it was built from. */
export class PickleObject {
  state: unknown = undefined;
  constructor(
    public readonly cls: PickleGlobal,
    public readonly args: readonly unknown[],
  ) {}
}

/** A resolved callable: REDUCE calls it with the argument tuple's items. */
export type PickleCallable = (...args: unknown[]) => unknown;

export interface UnpickleHooks {
  /** Resolves `module.name`: return a function to make REDUCE call it, or anything else to push it as is. */
  findClass?(module: string, name: string): unknown;
  /** Resolves a persistent id (BINPERSID / PERSID). Required when the pickle has one. */
  persistentLoad?(pid: unknown): unknown;
}

class Mark {}
const MARK = new Mark();

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1',
  0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Decodes a little-endian two's complement integer (LONG1/LONG4 payload). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Runs the pickle in `data` and returns the object it builds. `file` names the input in errors:
 * a truncated stream, an unknown opcode or a malformed stack each give an InputError.
 */
export function unpickle(data: Uint8Array, file: string, hooks: UnpickleHooks = {}): unknown {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (problem: string): never => {
    throw new InputError(file, `${problem} (pickle offset ${pos})`);
  };
  const need = (n: number, what: string) => {
    if (pos + n > data.length) fail(`truncated pickle: ${what} needs ${n} bytes, ${data.length - pos} left`);
  };
  const u8 = () => {
    need(1, 'argument');
    return data[pos++];
  };
  const u16 = () => {
    need(2, 'argument');
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4, 'argument');
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = () => {
    need(4, 'argument');
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8, 'argument');
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large');
    return Number(v);
  };
  const bytes = (n: number) => {
    need(n, 'data');
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = () => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) fail('truncated pickle: missing end of line');
    const s = latin1.decode(data.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) fail('corrupt pickle: stack underflow');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) fail('corrupt pickle: stack underflow');
    return stack[stack.length - 1];
  };
  // Note: callers must pop the mark before touching `stack` again (`stack.push(popMark())`
  // would push onto the array popMark just returned).
  const popMark = () => {
    const items = stack;
    if (metastack.length === 0) fail('corrupt pickle: no MARK on the stack');
    stack = metastack.pop()!;
    return items;
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`corrupt pickle: memo key ${i} not set`);
    return memo.get(i);
  };
  const resolve = (module: string, name: string): unknown => {
    const r = hooks.findClass?.(module, name);
    return r === undefined ? new PickleGlobal(module, name) : r;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    const list = Array.isArray(args) ? (args as unknown[]) : fail('corrupt pickle: REDUCE arguments are not a tuple');
    if (typeof fn === 'function') return (fn as PickleCallable)(...list);
    if (fn instanceof PickleGlobal) return new PickleObject(fn, list);
    return fail('corrupt pickle: REDUCE on a value that is not callable');
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (items.length % 2) fail('corrupt pickle: odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) {
      if (target instanceof Map) target.set(items[i], items[i + 1]);
      else if (target instanceof PickleObject) {
        // e.g. collections.OrderedDict left unresolved: keep items as its state.
        if (!(target.state instanceof Map)) target.state = new Map();
        (target.state as Map<unknown, unknown>).set(items[i], items[i + 1]);
      } else fail('corrupt pickle: SETITEM on a value that is not a dict');
    }
  };
  const persistent = (pid: unknown) => {
    if (!hooks.persistentLoad) fail('pickle has a persistent id but no loader was given');
    return hooks.persistentLoad!(pid);
  };

  for (;;) {
    if (pos >= data.length) fail('truncated pickle: ended before STOP');
    const op = data[pos++];
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length === 0 && metastack.length) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(bytes(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('corrupt pickle: negative LONG4 length');
        stack.push(decodeLong(bytes(n)));
        break;
      }
      case 0x49: {
        // INT (text); "00"/"01" are protocol-0 booleans
        const s = line();
        if (s === '00') stack.push(false);
        else if (s === '01') stack.push(true);
        else stack.push(Number(s));
        break;
      }
      case 0x4c: {
        // LONG (text)
        const s = line().replace(/L$/, '');
        const v = BigInt(s);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x46: // FLOAT (text)
        stack.push(parseFloat(line()));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8, 'argument');
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(bytes(u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text; ASCII in practice)
        stack.push(line());
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(bytes(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(bytes(u8())));
        break;
      case 0x53: {
        // STRING (quoted text)
        const s = line();
        stack.push(s.length >= 2 ? s.slice(1, -1) : s);
        break;
      }
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(bytes(u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        {
          const items = popMark();
          stack.push(items);
        }
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x74: // TUPLE
        {
          const items = popMark();
          stack.push(tuple(items));
        }
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('corrupt pickle: ADDITEMS on a value that is not a set');
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }
      case 0x91: // FROZENSET
        {
          const items = popMark();
          stack.push(new Set(items));
        }
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) fail('corrupt pickle: APPEND on a value that is not a list');
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l) || isTuple(l)) fail('corrupt pickle: APPENDS on a value that is not a list');
        (l as unknown[]).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(Number(line()), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x67: // GET
        stack.push(memoGet(Number(line())));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(resolve(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('corrupt pickle: STACK_GLOBAL needs two strings');
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PickleObject) obj.state = state;
        else if (obj && typeof obj === 'object' && typeof (obj as { __setstate__?: unknown }).__setstate__ === 'function') {
          (obj as { __setstate__: (s: unknown) => void }).__setstate__(state);
        }
        // Other values (e.g. tensors rebuilt by a hook) ignore their state.
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x50: // PERSID
        stack.push(persistent(line()));
        break;
      default: {
        const name = OPNAMES[op];
        pos--;
        fail(`unsupported pickle opcode ${name ? name + ' ' : ''}0x${op.toString(16).padStart(2, '0')}${name ? '' : ` ('${String.fromCharCode(op)}')`}`);
      }
    }
  }
}
