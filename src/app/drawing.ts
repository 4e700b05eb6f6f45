/**
 * Pure drawing operations on a 32x32 token image.
 */
import { IMAGE_SIZE } from '../bundle/index.ts';

export type Tool = 'brush' | 'eraser' | 'fill' | 'eyedropper';

/** Paint a square brush of `size` pixels centred (for odd sizes) on x, y. Returns a new array. */
export function stamp(tokens: Int32Array, x: number, y: number, size: number, token: number, out = tokens.slice()): Int32Array {
  const off = Math.floor((size - 1) / 2);
  for (let dy = 0; dy < size; dy++) {
    for (let dx = 0; dx < size; dx++) {
      const px = x - off + dx;
      const py = y - off + dy;
      if (px >= 0 && py >= 0 && px < IMAGE_SIZE && py < IMAGE_SIZE) out[py * IMAGE_SIZE + px] = token;
    }
  }
  return out;
}

/** The pixels on the straight line from (x0, y0) to (x1, y1), both ends included (Bresenham). */
export function linePoints(x0: number, y0: number, x1: number, y1: number): [number, number][] {
  const pts: [number, number][] = [];
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  let x = x0;
  let y = y0;
  for (;;) {
    pts.push([x, y]);
    if (x === x1 && y === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
  return pts;
}

export function strokeLine(
  tokens: Int32Array,
  from: [number, number],
  to: [number, number],
  size: number,
  token: number,
): Int32Array {
  const out = tokens.slice();
  for (const [x, y] of linePoints(from[0], from[1], to[0], to[1])) stamp(out, x, y, size, token, out);
  return out;
}

/** 4-connected flood fill of the region of equal tokens containing (x, y). */
export function floodFill(tokens: Int32Array, x: number, y: number, token: number): Int32Array {
  const out = tokens.slice();
  const target = tokens[y * IMAGE_SIZE + x];
  if (target === token) return out;
  const stack = [y * IMAGE_SIZE + x];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (out[i] !== target) continue;
    out[i] = token;
    const px = i % IMAGE_SIZE;
    const py = (i - px) / IMAGE_SIZE;
    if (px > 0) stack.push(i - 1);
    if (px < IMAGE_SIZE - 1) stack.push(i + 1);
    if (py > 0) stack.push(i - IMAGE_SIZE);
    if (py < IMAGE_SIZE - 1) stack.push(i + IMAGE_SIZE);
  }
  return out;
}

/** Undo/redo history of token images. */
export interface History {
  past: Int32Array[];
  future: Int32Array[];
}

export const HISTORY_LIMIT = 100;

export function pushHistory(h: History, previous: Int32Array): History {
  const past = [...h.past, previous];
  if (past.length > HISTORY_LIMIT) past.shift();
  return { past, future: [] };
}

export function undo(h: History, current: Int32Array): { history: History; tokens: Int32Array } | null {
  if (h.past.length === 0) return null;
  const tokens = h.past[h.past.length - 1];
  return { history: { past: h.past.slice(0, -1), future: [current, ...h.future] }, tokens };
}

export function redo(h: History, current: Int32Array): { history: History; tokens: Int32Array } | null {
  if (h.future.length === 0) return null;
  const tokens = h.future[0];
  return { history: { past: [...h.past, current], future: h.future.slice(1) }, tokens };
}
