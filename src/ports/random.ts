import { randomBytes } from 'node:crypto';

/** Randomness port: cryptographically strong in production, seeded in the simulator. */
export interface Random {
  bytes(length: number): Uint8Array;
  /** Uniform in [0, 1). */
  float(): number;
}

export function createSystemRandom(): Random {
  return {
    bytes: (length) => new Uint8Array(randomBytes(length)),
    float: () => randomBytes(4).readUInt32BE(0) / 0x1_0000_0000,
  };
}

/** Uniform integer in [0, maxExclusive). */
export function randomInt(random: Random, maxExclusive: number): number {
  return Math.floor(random.float() * maxExclusive);
}
