/**
 * Per-sample token sampling: temperature, top-k, top-p, seeded inverse-CDF draw.
 *
 * Pure and allocation-light: the 512-way work arrays live in a reusable `SamplerScratch`.
 * Each batch row has its own `SampleSettings` and its own `Rng`, so row i of a batch gives
 * exactly what that sample gives when run alone.
 *
 * Semantics (all arithmetic in float64):
 * - temperature 0: greedy argmax (first maximum on ties), no RNG draw, entropyBits 0,
 *   candidates = top 5 of softmax(logits) at T = 1.
 * - otherwise p = softmax(logits / T); tokens are ordered by p descending, token id ascending on
 *   ties (a stable sort of ids 0..n-1); top-k (0 = off) keeps the first k of that order; top-p
 *   (>= 1 = off) then keeps the shortest prefix whose mass, renormalised over the top-k set, is
 *   >= topP (at least one token, as in Hugging Face's TopK -> TopP warpers); the kept
 *   probabilities are renormalised and ONE rng.nextFloat() u picks the first kept token (in that
 *   order) whose cumulative probability exceeds u.
 * - entropyBits and candidates describe that final, renormalised distribution; candidates beyond
 *   the kept set carry probability 0 (they follow the same order).
 */
import { TOP_CANDIDATES, type SampleSettings } from './types.ts';
import type { Rng } from './rng.ts';

export interface SampleResult {
  token: number;
  entropyBits: number;
  /** Top TOP_CANDIDATES (5) tokens of the final distribution, most probable first. */
  candidates: { tokens: Int32Array; probs: Float32Array };
}

/**
 * Reusable work arrays; one per worker/engine is enough (calls are synchronous).
 * The probability order is produced lazily by a binary max-heap (probability descending,
 * token id ascending on ties), so a draw only orders the prefix it needs.
 */
export class SamplerScratch {
  probs: Float64Array;
  /** order[0..popped) is the sorted prefix produced so far. */
  order: Int32Array;
  heap: Int32Array;
  private size = 0;
  private popped = 0;

  constructor(size = 512) {
    this.probs = new Float64Array(size);
    this.order = new Int32Array(size);
    this.heap = new Int32Array(size);
  }

  /** Makes sure the arrays hold at least n entries. */
  ensure(n: number): void {
    if (this.probs.length < n) {
      this.probs = new Float64Array(n);
      this.order = new Int32Array(n);
      this.heap = new Int32Array(n);
    }
  }

  /** Starts a new ordering of probs[0..n). */
  startOrder(n: number): void {
    const heap = this.heap;
    for (let i = 0; i < n; i++) heap[i] = i;
    this.size = n;
    this.popped = 0;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Extends the sorted prefix order[0..m) (m capped at n); returns the prefix length. */
  orderPrefix(m: number): number {
    while (this.popped < m && this.size > 0) {
      const heap = this.heap;
      this.order[this.popped++] = heap[0];
      this.size--;
      heap[0] = heap[this.size];
      this.siftDown(0);
    }
    return this.popped;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const p = this.probs;
    const size = this.size;
    let i = start;
    const x = heap[i];
    const px = p[x];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      let c = l;
      let pc = p[heap[l]];
      const r = l + 1;
      if (r < size) {
        const pr = p[heap[r]];
        if (pr > pc || (pr === pc && heap[r] < heap[l])) {
          c = r;
          pc = pr;
        }
      }
      const hc = heap[c];
      // stop when x comes before the best child
      if (px > pc || (px === pc && x < hc)) break;
      heap[i] = hc;
      i = c;
    }
    heap[i] = x;
  }
}

let defaultScratch: SamplerScratch | undefined;

/**
 * Writes the sample of one row into StepEvent-shaped arrays (settings are validated once per run,
 * by the caller: see plan.ts): tokens[row], entropy[row],
 * candidates/candidateProbs[row * 5 .. row * 5 + 5). Returns the token. Allocates nothing
 * once `scratch` is large enough.
 */
export function sampleInto(
  logits: Float32Array,
  settings: SampleSettings,
  rng: Rng,
  scratch: SamplerScratch,
  out: { tokens: Int32Array; entropy: Float32Array; candidates: Int32Array; candidateProbs: Float32Array },
  row: number,
): number {
  const n = logits.length;
  if (n === 0) throw new RangeError('sampleToken: empty logits');
  scratch.ensure(n);
  const p = scratch.probs;
  const c0 = row * TOP_CANDIDATES;
  const greedy = settings.temperature === 0;
  const invT = greedy ? 1 : 1 / settings.temperature;

  // softmax(logits * invT) in float64; also the first argmax of the logits.
  let max = -Infinity;
  let argmax = -1;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (v > max) {
      max = v;
      argmax = i;
    } else if (v !== v) {
      throw new RangeError(`sampleToken: logit ${i} is NaN`);
    }
  }
  if (argmax < 0 || max === Infinity) throw new RangeError(`sampleToken: logits have no finite maximum (max ${max})`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((logits[i] - max) * invT);
    p[i] = e;
    sum += e;
  }
  const invSum = 1 / sum;
  for (let i = 0; i < n; i++) p[i] *= invSum;

  if (greedy) {
    writeTopCandidates(p, n, out.candidates, out.candidateProbs, c0);
    out.tokens[row] = argmax;
    out.entropy[row] = 0;
    return argmax;
  }

  scratch.startOrder(n);
  const order = scratch.order;
  let kept = settings.topK > 0 ? Math.min(settings.topK, n) : n;
  let mass = 0;
  if (kept < n) {
    scratch.orderPrefix(kept);
    for (let j = 0; j < kept; j++) mass += p[order[j]];
  } else {
    mass = 1; // p is already normalised over all n tokens
  }
  if (settings.topP < 1) {
    const target = settings.topP * mass;
    let cum = 0;
    let j = 0;
    while (j < kept) {
      scratch.orderPrefix(j + 1);
      cum += p[order[j]];
      j++;
      if (cum >= target) break;
    }
    kept = j; // >= 1
    mass = cum;
  }

  // Inverse CDF over the kept tokens in order, renormalised by their mass; one draw.
  const u = rng.nextFloat() * mass;
  let cum = 0;
  let token = -1;
  let lastPositive = -1;
  for (let j = 0; j < kept; j++) {
    scratch.orderPrefix(j + 1);
    const t = order[j];
    const q = p[t];
    if (q > 0) lastPositive = t;
    cum += q;
    if (u < cum) {
      token = t;
      break;
    }
  }
  if (token < 0) token = lastPositive >= 0 ? lastPositive : order[0]; // rounding: u at the very top of the CDF

  // Entropy without a log per token: with s_i = (logit_i - max) / T and q_i = e^{s_i} / (S * mass),
  // H = ln(S * mass) - sum q_i s_i (nats), converted to bits.
  const lnZ = Math.log(sum * mass);
  let qs = 0;
  if (kept === n) {
    for (let i = 0; i < n; i++) {
      const q = p[i];
      if (q > 0) qs += q * (logits[i] - max) * invT;
    }
    qs /= mass;
  } else {
    for (let j = 0; j < kept; j++) {
      const t = order[j];
      const q = p[t];
      if (q > 0) qs += q * (logits[t] - max) * invT;
    }
    qs /= mass;
  }
  const h = kept === 1 ? 0 : Math.max(0, (lnZ - qs) * Math.LOG2E);
  scratch.orderPrefix(TOP_CANDIDATES);
  for (let j = 0; j < TOP_CANDIDATES; j++) {
    if (j < n) {
      out.candidates[c0 + j] = order[j];
      out.candidateProbs[c0 + j] = j < kept ? p[order[j]] / mass : 0;
    } else {
      out.candidates[c0 + j] = -1;
      out.candidateProbs[c0 + j] = 0;
    }
  }
  out.tokens[row] = token;
  out.entropy[row] = h;
  return token;
}

/** Top TOP_CANDIDATES of p[0..n) by value descending, id ascending on ties, without sorting all. */
function writeTopCandidates(p: Float64Array, n: number, tokens: Int32Array, probs: Float32Array, c0: number): void {
  const K = TOP_CANDIDATES;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = p[i];
    // insertion into the sorted top list; equal values keep the earlier (smaller) id first
    if (count < K) {
      let j = count++;
      while (j > 0 && p[tokens[c0 + j - 1]] < v) {
        tokens[c0 + j] = tokens[c0 + j - 1];
        j--;
      }
      tokens[c0 + j] = i;
    } else if (v > p[tokens[c0 + K - 1]]) {
      let j = K - 1;
      while (j > 0 && p[tokens[c0 + j - 1]] < v) {
        tokens[c0 + j] = tokens[c0 + j - 1];
        j--;
      }
      tokens[c0 + j] = i;
    }
  }
  for (let j = 0; j < K; j++) {
    if (j < count) probs[c0 + j] = p[tokens[c0 + j]];
    else {
      tokens[c0 + j] = -1;
      probs[c0 + j] = 0;
    }
  }
}

/**
 * Samples one token from `logits` (length n, usually 512; a subarray view is fine).
 * Uses `scratch` (or a module-level one) for the n-sized work arrays; the returned object is new.
 */
export function sampleToken(
  logits: Float32Array,
  settings: SampleSettings,
  rng: Rng,
  scratch?: SamplerScratch,
): SampleResult {
  const s = scratch ?? (defaultScratch ??= new SamplerScratch());
  const tokens = new Int32Array(1);
  const entropy = new Float32Array(1);
  const candidates = new Int32Array(TOP_CANDIDATES);
  const candidateProbs = new Float32Array(TOP_CANDIDATES);
  const token = sampleInto(logits, settings, rng, s, { tokens, entropy, candidates, candidateProbs }, 0);
  return { token, entropyBits: entropy[0], candidates: { tokens: candidates, probs: candidateProbs } };
}

/**
 * Samples every row of a [B, vocab] logits block (row r = logits[r*vocab, (r+1)*vocab)) with that
 * row's own settings and Rng, writing StepEvent-shaped outputs. Row r equals sampleToken on row r alone.
 */
export function sampleBatch(
  logits: Float32Array,
  vocab: number,
  settings: readonly SampleSettings[],
  rngs: readonly Rng[],
  scratch: SamplerScratch,
  out: { tokens: Int32Array; entropy: Float32Array; candidates: Int32Array; candidateProbs: Float32Array },
): void {
  const B = settings.length;
  if (rngs.length !== B) throw new RangeError(`sampleBatch: ${B} settings but ${rngs.length} generators`);
  if (logits.length < B * vocab) {
    throw new RangeError(`sampleBatch: logits hold ${logits.length} values, need ${B} x ${vocab}`);
  }
  for (let r = 0; r < B; r++) {
    sampleInto(logits.subarray(r * vocab, (r + 1) * vocab), settings[r], rngs[r], scratch, out, r);
  }
}
