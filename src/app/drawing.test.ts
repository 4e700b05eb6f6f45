import { describe, expect, it } from 'vitest';
import { floodFill, linePoints, pushHistory, redo, stamp, strokeLine, undo } from './drawing';

const blank = () => new Int32Array(1024);

describe('drawing', () => {
  it('stamps a square brush clipped at the border', () => {
    const t = stamp(blank(), 0, 0, 3, 7);
    expect(t[0]).toBe(7);
    expect(t[1]).toBe(7);
    expect(t[32]).toBe(7);
    expect(t[33]).toBe(7);
    expect(t.reduce((s, v) => s + (v === 7 ? 1 : 0), 0)).toBe(4);
  });
  it('draws connected lines', () => {
    const pts = linePoints(0, 0, 5, 2);
    expect(pts[0]).toEqual([0, 0]);
    expect(pts[pts.length - 1]).toEqual([5, 2]);
    for (let i = 1; i < pts.length; i++) {
      expect(Math.abs(pts[i][0] - pts[i - 1][0])).toBeLessThanOrEqual(1);
      expect(Math.abs(pts[i][1] - pts[i - 1][1])).toBeLessThanOrEqual(1);
    }
    const t = strokeLine(blank(), [0, 31], [31, 31], 1, 3);
    expect(Array.from(t.subarray(31 * 32))).toEqual(new Array(32).fill(3));
  });
  it('fills only the connected region', () => {
    const t = strokeLine(blank(), [10, 0], [10, 31], 1, 5); // a wall
    const f = floodFill(t, 0, 0, 9);
    expect(f[0]).toBe(9);
    expect(f[9]).toBe(9);
    expect(f[10]).toBe(5);
    expect(f[11]).toBe(0);
    expect(f.reduce((s, v) => s + (v === 9 ? 1 : 0), 0)).toBe(10 * 32);
    expect(t[0]).toBe(0); // input untouched
  });
  it('undo and redo walk the history', () => {
    const a = blank();
    const b = stamp(a, 1, 1, 1, 1);
    const c = stamp(b, 2, 2, 1, 1);
    let h = pushHistory({ past: [], future: [] }, a);
    h = pushHistory(h, b);
    const u1 = undo(h, c)!;
    expect(u1.tokens).toBe(b);
    const u2 = undo(u1.history, u1.tokens)!;
    expect(u2.tokens).toBe(a);
    expect(undo(u2.history, u2.tokens)).toBeNull();
    const r = redo(u2.history, u2.tokens)!;
    expect(r.tokens).toBe(b);
  });
});
