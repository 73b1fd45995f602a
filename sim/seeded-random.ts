import type { Random } from '../src/ports/random.js';

/**
 * Deterministic Random port for the simulator. The generator is sfc32 (Chris Doty-Humphrey's
 * "Small Fast Counting" generator from PractRand: 128-bit state, 32-bit outputs, passes
 * PractRand and BigCrush), seeded through splitmix32 so nearby seeds give unrelated
 * streams. Not cryptographic: simulated identities and nonces only need to be
 * reproducible.
 */
export interface SeededRandom extends Random {
  /** Next raw 32-bit output (unsigned). */
  nextUint32(): number;
}

export function createSeededRandom(seed: number): SeededRandom {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const mix = splitmix32(seed >>> 0);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The first outputs of a freshly seeded sfc32 are still correlated with its state.
  for (let i = 0; i < 12; i += 1) next();
  return {
    nextUint32: next,
    float: () => next() / 0x1_0000_0000,
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 4) {
        let word = next();
        for (let j = i; j < Math.min(i + 4, length); j += 1) {
          out[j] = word & 0xff;
          word >>>= 8;
        }
      }
      return out;
    },
  };
}

/**
 * A seed for an independent stream (one per simulated node, one for the network...), so
 * adding draws to one stream never shifts another.
 */
export function deriveSeed(seed: number, stream: number): number {
  const mix = splitmix32(((seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b1)) >>> 0);
  mix();
  return mix();
}

/** splitmix32 (a 32-bit variant of Steele, Lea & Flood's SplitMix), used only for seeding. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}
