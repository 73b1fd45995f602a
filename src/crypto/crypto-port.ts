import { createHash } from 'node:crypto';
import type { CryptoPort } from '../ports/crypto.js';
import type { Identity } from '../identity/identity.js';
import { nativePrivateKey, nativeSign, nativeVerify } from './ed25519-native.js';
import { NativeKeyCache } from './native-key-cache.js';
import { createVerifyPool, type VerifyPool, type VerifyPoolOptions } from './verify-pool.js';

export interface CryptoPortOptions {
  identity: Identity;
  /**
   * Worker pool for verification, possibly shared by several ports. Without a pool
   * (and without `poolOptions`), verification runs inline on this thread.
   */
  pool?: VerifyPool;
  /** Whether close() also closes a given `pool` (default false: a shared pool outlives one port). */
  ownsPool?: boolean;
  /** Create a pool for this port alone; close() closes it. Ignored when `pool` is given. */
  poolOptions?: VerifyPoolOptions;
  /**
   * Parsed public keys for inline verification, possibly shared by several ports in one
   * process (the simulator's thousands of nodes verify the same few thousand keys: parsing
   * them once per node was ~8% of a large run). Default: one cache per port.
   */
  keyCache?: NativeKeyCache;
}

/** Production crypto: native ed25519 (RFC 8032-identical to noble, see test/crypto/rfc8032.test.ts). */
export function createCryptoPort(options: CryptoPortOptions): CryptoPort {
  const { identity } = options;
  // Parsed once: building the KeyObject costs about as much as a signature.
  const privateKey = nativePrivateKey(identity.secretKey);
  const pool = options.pool ?? (options.poolOptions !== undefined ? createVerifyPool(options.poolOptions) : undefined);
  const ownsPool = options.pool === undefined ? pool !== undefined : (options.ownsPool ?? false);
  const keyCache = pool === undefined ? (options.keyCache ?? new NativeKeyCache()) : undefined;
  const publicKey = Uint8Array.from(identity.publicKey);

  return {
    publicKey,
    sign: async (message) => nativeSign(privateKey, message),
    verify: (key, message, signature) => {
      if (pool !== undefined) return pool.verify(key, message, signature);
      try {
        if (!(key instanceof Uint8Array) || !(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
          return Promise.resolve(false);
        }
        const parsed = keyCache?.get(key);
        return Promise.resolve(parsed !== undefined && nativeVerify(parsed, message, signature));
      } catch {
        return Promise.resolve(false);
      }
    },
    sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
    close: async () => {
      if (pool !== undefined && ownsPool) await pool.close();
    },
  };
}
