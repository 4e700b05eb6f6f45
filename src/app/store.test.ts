import { describe, expect, it } from 'vitest';
import { decodeHash, encodeHash, fromBase64Url, packTokens, toBase64Url, unpackTokens } from './hash';
import { DEFAULT_SETTINGS, MAX_BATCH, clampSettings, parseTemperatureList, runSettings, sampleLayout } from './settings';
import { useStore } from './store';

function randomTokens(n: number, max: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % max;
  }
  return out;
}

describe('token packing', () => {
  it('packs 1024 tokens into 1152 bytes at 9 bits and back', () => {
    const t = randomTokens(1024, 512, 7);
    t[0] = 0;
    t[1] = 511;
    const packed = packTokens(t);
    expect(packed.length).toBe(1152);
    expect(Array.from(unpackTokens(packed))).toEqual(Array.from(t));
  });
  it('falls back to 16 bits when a token exceeds 511', () => {
    const t = randomTokens(1024, 512, 9);
    t[5] = 512;
    const packed = packTokens(t);
    expect(packed.length).toBe(2048);
    expect(Array.from(unpackTokens(packed))).toEqual(Array.from(t));
  });
  it('rejects a wrong length', () => {
    expect(() => unpackTokens(new Uint8Array(100))).toThrow(/100 bytes/);
  });
  it('base64url round trip for every length mod 3', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 1152]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
      const s = toBase64Url(b);
      expect(s).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(Array.from(fromBase64Url(s))).toEqual(Array.from(b));
    }
    // Agrees with the platform's base64 (modulo the URL alphabet).
    const b = Uint8Array.from([251, 255, 191, 0, 1, 2, 3]);
    expect(toBase64Url(b)).toBe(Buffer.from(b).toString('base64url'));
  });
});

describe('URL hash', () => {
  it('round-trips settings and prompt', () => {
    const prompt = randomTokens(1024, 512, 3);
    const settings = clampSettings({ temperature: 0.85, topK: 40, topP: 0.9, samples: 6, seed: 987654, rowsToKeep: 20 });
    const hash = encodeHash({ settings, prompt, model: 'https://example.com/models/x/' });
    expect(hash.startsWith('#')).toBe(true);
    const back = decodeHash(hash);
    expect(back.errors).toEqual([]);
    expect(back.settings).toEqual(settings);
    expect(Array.from(back.prompt!)).toEqual(Array.from(prompt));
    expect(back.model).toBe('https://example.com/models/x/');
  });
  it('round-trips compare mode', () => {
    const settings = clampSettings({ compare: true, compareTemps: [0.5, 1, 1.5], samples: 3, seed: 42 });
    const back = decodeHash(encodeHash({ settings }));
    expect(back.settings.compare).toBe(true);
    expect(back.settings.compareTemps).toEqual([0.5, 1, 1.5]);
    expect(back.prompt).toBeUndefined();
  });
  it('clamps hostile values and reports a damaged image', () => {
    const back = decodeHash('#t=9&n=500&rows=-4&seed=abc&img=@@@');
    expect(back.settings.temperature).toBe(2);
    expect(back.settings.samples).toBe(16);
    expect(back.settings.rowsToKeep).toBe(0);
    expect(back.settings.seed).toBe(DEFAULT_SETTINGS.seed);
    expect(back.prompt).toBeUndefined();
    expect(back.errors[0]).toMatch(/damaged/);
  });
  it('an empty hash gives the defaults', () => {
    expect(decodeHash('').settings).toEqual(DEFAULT_SETTINGS);
  });
});

describe('settings clamping', () => {
  it('keeps values in range and on their steps', () => {
    const s = clampSettings({ temperature: 1.23, topK: 1000, topP: 0, samples: 0, seed: -5, rowsToKeep: 40 });
    expect(s.temperature).toBe(1.25);
    expect(s.topK).toBe(512);
    expect(s.topP).toBe(0.01);
    expect(s.samples).toBe(1);
    expect(s.seed).toBe(5);
    expect(s.rowsToKeep).toBe(31);
  });
  it('accepts strings from inputs and ignores garbage', () => {
    const s = clampSettings({ temperature: '0.4', samples: '3', rowsToKeep: 'x' });
    expect(s.temperature).toBe(0.4);
    expect(s.samples).toBe(3);
    expect(s.rowsToKeep).toBe(DEFAULT_SETTINGS.rowsToKeep);
  });
  it('seeds stay 32-bit', () => {
    expect(clampSettings({ seed: 2 ** 32 + 7 }).seed).toBe(7);
  });
  it('parses temperature lists', () => {
    expect(parseTemperatureList('0.5, 0.8 1; 3 x')).toEqual([0.5, 0.8, 1, 2]);
  });
});

describe('run settings', () => {
  it('one row of `samples` outside compare mode; the plan lays the run out from them', () => {
    const r = runSettings(clampSettings({ samples: 3, temperature: 0.7, topK: 10, seed: 5 }));
    expect(r).toMatchObject({ temperatures: [0.7], samples: 3, topK: 10, seed: 5 });
    expect(sampleLayout(clampSettings({ samples: 3 }))).toEqual({ rows: 1, cols: 3, temperatures: [1] });
  });
  it('compare mode: a row per temperature', () => {
    const r = runSettings(clampSettings({ compare: true, compareTemps: [0.5, 1, 1.5], samples: 4, seed: 99 }));
    expect(r).toMatchObject({ temperatures: [0.5, 1, 1.5], samples: 4, seed: 99 });
  });
  it('caps the batch', () => {
    const l = sampleLayout(clampSettings({ compare: true, compareTemps: [0.2, 0.4, 0.6, 0.8, 1, 1.2], samples: 16 }));
    expect(l.rows * l.cols).toBeLessThanOrEqual(MAX_BATCH);
    expect(l.cols).toBe(10);
  });
});

describe('store actions', () => {
  it('setSettings clamps, nudgeTemperature steps and stays in range', () => {
    const st = useStore.getState();
    st.setSettings({ temperature: 5, samples: 2 });
    expect(useStore.getState().settings.temperature).toBe(2);
    useStore.getState().nudgeTemperature(0.05);
    expect(useStore.getState().settings.temperature).toBe(2);
    useStore.getState().nudgeTemperature(-0.1);
    expect(useStore.getState().settings.temperature).toBe(1.9);
    expect(useStore.getState().settings.samples).toBe(2);
  });
  it('newSeed changes the seed', () => {
    const before = useStore.getState().settings.seed;
    let changed = false;
    for (let i = 0; i < 5 && !changed; i++) {
      useStore.getState().newSeed();
      changed = useStore.getState().settings.seed !== before;
    }
    expect(changed).toBe(true);
  });
  it('prompt edits can be undone and redone', () => {
    const a = new Int32Array(1024).fill(1);
    const b = new Int32Array(1024).fill(2);
    const st = useStore.getState();
    st.setPrompt(a, 'x.png');
    st.setPrompt(b, 'drawing', { recordHistory: true });
    expect(useStore.getState().prompt.tokens![0]).toBe(2);
    useStore.getState().undo();
    expect(useStore.getState().prompt.tokens![0]).toBe(1);
    useStore.getState().redo();
    expect(useStore.getState().prompt.tokens![0]).toBe(2);
  });
});
