/**
 * Seeded pseudo-random numbers that are identical on every JavaScript engine.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018), 128-bit state, period 2^128 - 1.
 * Seeding: the 32-bit seed is expanded into the four state words with splitmix32
 * (state += 0x9e3779b9, then the MurmurHash3 fmix32 finaliser), so nearby seeds give
 * unrelated streams and the all-zero state cannot occur.
 *
 * Everything is 32-bit integer arithmetic (Math.imul, >>>), so results do not depend on
 * floating-point details of the engine. No Node-only APIs.
 */

/** Serialised generator state: the four xoshiro128** words as unsigned 32-bit integers. */
export type RngState = [number, number, number, number];

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/** One splitmix32 step: returns [next counter, output]. Exported for tests. */
export function splitmix32(counter: number): [number, number] {
  const next = (counter + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return [next, z];
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** `seed` is taken modulo 2^32 (must be a finite integer). */
  constructor(seed: number) {
    if (!Number.isFinite(seed) || !Number.isInteger(seed)) {
      throw new RangeError(`Rng: seed must be a finite integer, got ${seed}`);
    }
    let c = seed >>> 0;
    let out: number;
    [c, out] = splitmix32(c);
    this.s0 = out;
    [c, out] = splitmix32(c);
    this.s1 = out;
    [c, out] = splitmix32(c);
    this.s2 = out;
    [c, out] = splitmix32(c);
    this.s3 = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // cannot happen for splitmix32, kept as a guard
  }

  /** Next uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    // result = rotl(s1 * 5, 7) * 9
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = (n3 << 11) | (n3 >>> 21);
    this.s0 = n0 >>> 0;
    this.s1 = n1 >>> 0;
    this.s2 = n2 >>> 0;
    this.s3 = n3 >>> 0;
    return result;
  }

  /**
   * Uniform double in [0, 1) with 53 random bits: two nextUint32() calls,
   * (a >>> 5) * 2^26 + (b >>> 6), divided by 2^53.
   */
  nextFloat(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** A copy of the state; `Rng.fromState(rng.getState())` continues the same stream. */
  getState(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError('Rng.setState: expected four unsigned 32-bit integers');
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0) {
      throw new RangeError('Rng.setState: the all-zero state is invalid for xoshiro128**');
    }
    this.s0 = state[0] >>> 0;
    this.s1 = state[1] >>> 0;
    this.s2 = state[2] >>> 0;
    this.s3 = state[3] >>> 0;
  }

  static fromState(state: readonly number[]): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  clone(): Rng {
    return Rng.fromState(this.getState());
  }
}
