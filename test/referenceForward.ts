/**
 * A plain TypeScript forward pass of ImageGPT in float64, independent of ONNX: the reference for
 * the features graph. Slow (no blocking, no SIMD); meant for the tiny fixture model.
 *
 *   h_0 = wte[ids] + wpe;  h_l = h_{l-1} + attn(ln_1(h_{l-1})) + mlp(ln_2(...))
 *   ln(x) = x / sqrt(mean(x^2) + eps) * g;  mlp(x) = quick_gelu(x Wfc + bfc) Wproj + bproj
 *   attn: causal softmax(q k^T * scale) v per head, q, k, v = split(x Wattn + battn)
 */
import type { Checkpoint } from '../src/convert/types.ts';

export interface ReferenceWeights {
  nLayer: number;
  nHead: number;
  d: number;
  inner: number;
  eps: number;
  get(name: string): Float32Array;
}

export async function referenceWeights(ckpt: Checkpoint): Promise<ReferenceWeights> {
  const values = new Map<string, Float32Array>();
  for (const [name, t] of ckpt.tensors) values.set(name, await t.read());
  const { nLayer, nHead, nEmbd, nInner, layerNormEpsilon } = ckpt.config;
  return {
    nLayer,
    nHead,
    d: nEmbd,
    inner: nInner,
    eps: layerNormEpsilon,
    get(name) {
      const v = values.get(name);
      if (v) return v;
      if (name.endsWith('.bias')) return new Float32Array(name.includes('c_attn') ? 3 * nEmbd : name.includes('c_fc') ? nInner : nEmbd);
      throw new Error(`missing ${name}`);
    },
  };
}

function rmsNorm(x: Float64Array, S: number, d: number, g: Float32Array | null, eps: number): Float64Array {
  const out = new Float64Array(S * d);
  for (let s = 0; s < S; s++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[s * d + j] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) out[s * d + j] = x[s * d + j] * inv * (g ? g[j] : 1);
  }
  return out;
}

/** x [S, n] @ W [n, m] + b [m]. */
function linear(x: Float64Array, S: number, n: number, W: Float32Array, b: Float32Array, m: number): Float64Array {
  const out = new Float64Array(S * m);
  for (let s = 0; s < S; s++) {
    const o = out.subarray(s * m, (s + 1) * m);
    for (let j = 0; j < m; j++) o[j] = b[j];
    for (let i = 0; i < n; i++) {
      const xi = x[s * n + i];
      if (xi === 0) continue;
      for (let j = 0; j < m; j++) o[j] += xi * W[i * m + j];
    }
  }
  return out;
}

/** The residual stream h_0 .. h_L of one sequence, each [S, d]. */
export function referenceResiduals(w: ReferenceWeights, ids: number[], attentionScale: number): Float64Array[] {
  const { d, nHead, inner, eps } = w;
  const S = ids.length;
  const hd = d / nHead;
  const wte = w.get('wte.weight');
  const wpe = w.get('wpe.weight');
  let h = new Float64Array(S * d);
  for (let s = 0; s < S; s++) for (let j = 0; j < d; j++) h[s * d + j] = wte[ids[s] * d + j] + wpe[s * d + j];
  const out = [h];
  for (let l = 0; l < w.nLayer; l++) {
    const p = `h.${l}`;
    const a = rmsNorm(h, S, d, w.get(`${p}.ln_1.weight`), eps);
    const qkv = linear(a, S, d, w.get(`${p}.attn.c_attn.weight`), w.get(`${p}.attn.c_attn.bias`), 3 * d);
    const ctx = new Float64Array(S * d);
    const scores = new Float64Array(S);
    for (let head = 0; head < nHead; head++) {
      for (let i = 0; i < S; i++) {
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let k = 0; k < hd; k++) dot += qkv[i * 3 * d + head * hd + k] * qkv[j * 3 * d + d + head * hd + k];
          scores[j] = dot * attentionScale;
          if (scores[j] > max) max = scores[j];
        }
        let z = 0;
        for (let j = 0; j <= i; j++) z += scores[j] = Math.exp(scores[j] - max);
        for (let j = 0; j <= i; j++) {
          const pj = scores[j] / z;
          for (let k = 0; k < hd; k++) ctx[i * d + head * hd + k] += pj * qkv[j * 3 * d + 2 * d + head * hd + k];
        }
      }
    }
    const attn = linear(ctx, S, d, w.get(`${p}.attn.c_proj.weight`), w.get(`${p}.attn.c_proj.bias`), d);
    const mid = h.map((v, i) => v + attn[i]);
    const m = rmsNorm(mid, S, d, w.get(`${p}.ln_2.weight`), eps);
    const fc = linear(m, S, d, w.get(`${p}.mlp.c_fc.weight`), w.get(`${p}.mlp.c_fc.bias`), inner);
    for (let i = 0; i < fc.length; i++) fc[i] = fc[i] / (1 + Math.exp(-1.702 * fc[i]));
    const mlp = linear(fc, S, inner, w.get(`${p}.mlp.c_proj.weight`), w.get(`${p}.mlp.c_proj.bias`), d);
    h = mid.map((v, i) => v + mlp[i]);
    out.push(h);
  }
  return out;
}

/** Features [L + 1, d]: the mean over positions of the gain-free RMS-normalised residual stream. */
export function referenceFeatures(w: ReferenceWeights, residuals: Float64Array[]): Float64Array {
  const { d, eps } = w;
  const S = residuals[0].length / d;
  const out = new Float64Array(residuals.length * d);
  residuals.forEach((h, l) => {
    const n = rmsNorm(h, S, d, null, eps);
    for (let s = 0; s < S; s++) for (let j = 0; j < d; j++) out[l * d + j] += n[s * d + j] / S;
  });
  return out;
}

/** Logits [512] at position s, from the last residual: ln_f then lm_head. */
export function referenceLogits(w: ReferenceWeights, residuals: Float64Array[], s: number): Float64Array {
  const { d, eps } = w;
  const h = residuals[residuals.length - 1].subarray(s * d, (s + 1) * d);
  const n = rmsNorm(Float64Array.from(h), 1, d, w.get('ln_f.weight'), eps);
  const head = w.get('lm_head.weight');
  const out = new Float64Array(512);
  for (let v = 0; v < 512; v++) for (let j = 0; j < d; j++) out[v] += n[j] * head[v * d + j];
  return out;
}
