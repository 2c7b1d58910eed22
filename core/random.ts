/**
 * Seedable pseudo-random numbers (xoshiro128**), used by `rand`, `randn`, dropout and the
 * initializers. The state can be saved and restored so a resumed training run draws the same numbers.
 *
 * @module
 */

import { ValueError } from "./errors.ts";

/** Serializable state of a {@linkcode Generator}. */
export type GeneratorState = [number, number, number, number, number | null];

/** A seedable random generator. */
export class Generator {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  /** Creates a generator from a seed. */
  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Re-seeds the generator (splitmix32 expands the seed into the 128-bit state). */
  manualSeed(seed: number): this {
    if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
      throw new ValueError(`manualSeed: seed must be an integer, got ${String(seed)}`);
    }
    // The low 32 bits seed the state; seeds beyond 32 bits (or negative) mix in their high bits, so
    // no two seeds share a stream.
    const hi = Math.floor(seed / 2 ** 32) | 0;
    let x = (seed >>> 0) ^ 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
      if (hi !== 0) this.#s[i] = (this.#s[i] ^ Math.imul(hi ^ (i + 1), 0x27d4eb2d)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
    this.#spare = null;
    return this;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 24 random bits (exactly representable in float32). */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** Copies out the state. */
  getState(): GeneratorState {
    return [this.#s[0], this.#s[1], this.#s[2], this.#s[3], this.#spare];
  }

  /** Restores a state from {@linkcode Generator.getState}. */
  setState(state: GeneratorState): this {
    for (let i = 0; i < 4; i++) this.#s[i] = state[i] as number;
    this.#spare = state[4];
    return this;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator used when no `generator` option is given. */
export const defaultGenerator: Generator = new Generator(0);

/**
 * Seeds the default generator, like `torch.manual_seed`.
 *
 * @example
 * ```ts
 * import "../plugins/cpu/mod.ts";
 * import { manualSeed, rand } from "./mod.ts";
 * manualSeed(42);
 * const a = rand([2]);
 * ```
 */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
