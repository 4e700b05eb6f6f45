import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.ts';
import { isTuple, PickleGlobal, PickleObject, unpickle } from './pickle.ts';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));

// Made with Python 3.11:
// o = {'a': [1, 2.5, None, True, False, (1, 2, 3), (), (7,)], 'b': -70000, 'c': 2**70, 'd': -2**70,
//      'e': 'héllo', 'f': b'\x00\x01', 'g': 300, 'h': {1, 2}}
// pickle.dumps(o, protocol=2).hex() and pickle.dumps(o, protocol=4).hex()
const P2 =
  '80027d71002858010000006171015d7102284b014740040000000000004e88894b014b024b03877103294b078571046558010000006271054a90eefeff58010000006371068a0900000000000000004058010000006471078a090000000000000000c05801000000657108580600000068c3a96c6c6f7109580100000066710a635f636f646563730a656e636f64650a710b58020000000001710c58060000006c6174696e31710d86710e52710f58010000006771104d2c015801000000687111635f5f6275696c74696e5f5f0a7365740a71125d7113284b014b0265857114527115752e';
const P4 =
  '80049578000000000000007d94288c0161945d94284b014740040000000000004e88894b014b024b038794294b078594658c0162944a90eefeff8c0163948a090000000000000000408c0164948a090000000000000000c08c0165948c0668c3a96c6c6f948c01669443020001948c0167944d2c018c0168948f94284b014b0290752e';
// pickle.dumps(collections.OrderedDict([('x', 1)]), protocol=4).hex()
const P4_ORDERED = '80049529000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0178944b01732e';
// pickle.dumps([1, 2], protocol=0).hex()
const P0 = '286c70300a49310a6149320a612e';

function checkCommon(v: unknown) {
  expect(v).toBeInstanceOf(Map);
  const m = v as Map<string, unknown>;
  const a = m.get('a') as unknown[];
  expect(a.slice(0, 5)).toEqual([1, 2.5, null, true, false]);
  expect(isTuple(a[5])).toBe(true);
  expect(Array.from(a[5] as unknown[])).toEqual([1, 2, 3]);
  expect(Array.from(a[6] as unknown[])).toEqual([]);
  expect(Array.from(a[7] as unknown[])).toEqual([7]);
  expect(isTuple(a)).toBe(false);
  expect(m.get('b')).toBe(-70000);
  expect(m.get('c')).toBe(2n ** 70n);
  expect(m.get('d')).toBe(-(2n ** 70n));
  expect(m.get('e')).toBe('héllo');
  expect(m.get('g')).toBe(300);
}

describe('unpickle', () => {
  it('reads a protocol 2 pickle (MARK, BINUNICODE, BINPUT, BININT*, LONG1, BINFLOAT, TUPLE*, APPENDS, SETITEMS, GLOBAL, REDUCE)', () => {
    const v = unpickle(hex(P2), 'p2.pkl');
    checkCommon(v);
    const m = v as Map<string, unknown>;
    // bytes and sets are built by unresolved globals: kept inert, never executed.
    const f = m.get('f') as PickleObject;
    expect(f).toBeInstanceOf(PickleObject);
    expect(f.cls.fullName).toBe('_codecs.encode');
    expect(f.args[0]).toBe('\u0000\u0001');
    expect((m.get('h') as PickleObject).cls.fullName).toBe('__builtin__.set');
  });

  it('reads a protocol 4 pickle (FRAME, SHORT_BINUNICODE, MEMOIZE, SHORT_BINBYTES, EMPTY_SET, ADDITEMS)', () => {
    const m = unpickle(hex(P4), 'p4.pkl') as Map<string, unknown>;
    checkCommon(m);
    expect(Array.from(m.get('f') as Uint8Array)).toEqual([0, 1]);
    expect(m.get('h')).toEqual(new Set([1, 2]));
  });

  it('resolves globals through findClass (STACK_GLOBAL, SETITEM)', () => {
    const seen: string[] = [];
    const v = unpickle(hex(P4_ORDERED), 'od.pkl', {
      findClass: (mod, name) => {
        seen.push(`${mod}.${name}`);
        return () => new Map();
      },
    });
    expect(seen).toEqual(['collections.OrderedDict']);
    expect(v).toEqual(new Map([['x', 1]]));
    // Unresolved, the items land in the inert object's state.
    const o = unpickle(hex(P4_ORDERED), 'od.pkl') as PickleObject;
    expect(o.cls).toBeInstanceOf(PickleGlobal);
    expect(o.state).toEqual(new Map([['x', 1]]));
  });

  it('reads protocol 0 text opcodes (LIST, PUT, INT, APPEND)', () => {
    expect(unpickle(hex(P0), 'p0.pkl')).toEqual([1, 2]);
  });

  it('passes BINPERSID ids to persistentLoad', () => {
    // PROTO 2, MARK, SHORT_BINUNICODE 'storage', BININT1 5, TUPLE, BINPERSID, STOP
    const bytes = Uint8Array.from([0x80, 2, 0x28, 0x8c, 7, ...new TextEncoder().encode('storage'), 0x4b, 5, 0x74, 0x51, 0x2e]);
    const v = unpickle(bytes, 'pid.pkl', { persistentLoad: (pid) => ({ got: Array.from(pid as unknown[]) }) });
    expect(v).toEqual({ got: ['storage', 5] });
    expect(() => unpickle(bytes, 'pid.pkl')).toThrow(/pid\.pkl.*persistent id/);
  });

  it('names the file and the opcode for an unknown opcode', () => {
    const e = (() => {
      try {
        unpickle(Uint8Array.from([0x80, 2, 0xff, 0x2e]), 'weird.pkl');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/weird\.pkl.*opcode 0xff/);
    // A known but unsupported one is named.
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x82, 1, 0x2e]), 'ext.pkl')).toThrow(/ext\.pkl.*opcode EXT1 0x82/);
  });

  it('reports truncation with the file name', () => {
    const full = hex(P2);
    for (const cut of [1, 10, 40, full.length - 1]) {
      const e = (() => {
        try {
          unpickle(full.subarray(0, cut), 'cut.pkl');
        } catch (err) {
          return err;
        }
      })();
      expect(e, `cut at ${cut}`).toBeInstanceOf(InputError);
      expect((e as Error).message).toMatch(/cut\.pkl.*truncated pickle/);
    }
    expect(() => unpickle(new Uint8Array(0), 'empty.pkl')).toThrow(/empty\.pkl.*truncated/);
  });
});
