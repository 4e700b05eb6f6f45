/**
 * The URL hash: settings plus the 32x32 prompt, so that a link reproduces a run.
 * The prompt is 1024 tokens packed in 9 bits each (1152 bytes) or, if some token does not fit,
 * 16 bits each (2048 bytes), then base64url; the decoder tells them apart by length.
 */
import { IMAGE_TOKENS } from '../bundle/index.ts';
import { clampSettings, type Settings } from './settings';

export function packTokens(tokens: ArrayLike<number>): Uint8Array {
  let nine = true;
  for (let i = 0; i < tokens.length; i++) if (tokens[i] < 0 || tokens[i] > 511) nine = false;
  if (!nine) {
    const out = new Uint8Array(tokens.length * 2);
    for (let i = 0; i < tokens.length; i++) {
      out[2 * i] = (tokens[i] >>> 8) & 0xff;
      out[2 * i + 1] = tokens[i] & 0xff;
    }
    return out;
  }
  const out = new Uint8Array(Math.ceil((tokens.length * 9) / 8));
  let bit = 0;
  for (let i = 0; i < tokens.length; i++) {
    const v = tokens[i];
    for (let b = 8; b >= 0; b--) {
      if ((v >>> b) & 1) out[bit >>> 3] |= 0x80 >>> (bit & 7);
      bit++;
    }
  }
  return out;
}

export function unpackTokens(bytes: Uint8Array, count = IMAGE_TOKENS): Int32Array {
  const out = new Int32Array(count);
  if (bytes.length === count * 2) {
    for (let i = 0; i < count; i++) out[i] = (bytes[2 * i] << 8) | bytes[2 * i + 1];
    return out;
  }
  if (bytes.length !== Math.ceil((count * 9) / 8)) {
    throw new Error(`prompt has ${bytes.length} bytes; expected ${Math.ceil((count * 9) / 8)} (9-bit) or ${count * 2} (16-bit)`);
  }
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < 9; b++) {
      v = (v << 1) | ((bytes[bit >>> 3] >>> (7 - (bit & 7))) & 1);
      bit++;
    }
    out[i] = v;
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let c = 0; c < chars; c++) s += B64[(n >>> (18 - 6 * c)) & 63];
  }
  return s;
}

export function fromBase64Url(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const ch of clean) {
    const v = B64.indexOf(ch === '+' ? '-' : ch === '/' ? '_' : ch);
    if (v < 0) throw new Error(`invalid base64 character ${JSON.stringify(ch)}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}

export interface HashState {
  settings: Settings;
  prompt?: Int32Array;
  /** Model bundle URL, when not the default. */
  model?: string;
}

function fmt(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

export function encodeHash(state: HashState): string {
  const s = state.settings;
  const p = new URLSearchParams();
  p.set('t', fmt(s.temperature));
  if (s.topK !== 0) p.set('k', String(s.topK));
  if (s.topP !== 1) p.set('p', fmt(s.topP));
  p.set('n', String(s.samples));
  p.set('seed', String(s.seed));
  p.set('rows', String(s.rowsToKeep));
  if (s.compare) p.set('cmp', s.compareTemps.map(fmt).join(','));
  if (state.model) p.set('model', state.model);
  if (state.prompt) p.set('img', toBase64Url(packTokens(state.prompt)));
  return '#' + p.toString().replace(/%2C/g, ',');
}

/** Decode a hash; unknown or broken parts are ignored (settings are clamped). */
export function decodeHash(hash: string, base?: Settings): HashState & { errors: string[] } {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const errors: string[] = [];
  const partial: Partial<Record<keyof Settings, unknown>> = {};
  if (p.has('t')) partial.temperature = p.get('t');
  if (p.has('k')) partial.topK = p.get('k');
  if (p.has('p')) partial.topP = p.get('p');
  if (p.has('n')) partial.samples = p.get('n');
  if (p.has('seed')) partial.seed = p.get('seed');
  if (p.has('rows')) partial.rowsToKeep = p.get('rows');
  if (p.has('cmp')) {
    const temps = (p.get('cmp') ?? '').split(',').filter(Boolean).map(Number).filter(Number.isFinite);
    partial.compare = temps.length > 0;
    if (temps.length > 0) partial.compareTemps = temps;
  } else if (p.has('t')) {
    partial.compare = false;
  }
  const out: HashState & { errors: string[] } = { settings: clampSettings(partial, base), errors };
  const img = p.get('img');
  if (img) {
    try {
      const tokens = unpackTokens(fromBase64Url(img));
      if (tokens.some((t) => t > 511)) throw new Error('token out of range');
      out.prompt = tokens;
    } catch (e) {
      errors.push(`The image in the link is damaged: ${(e as Error).message}`);
    }
  }
  const model = p.get('model');
  if (model) out.model = model;
  return out;
}
