import type { KeyObject } from 'node:crypto';
import { isSmallOrderPublicKey, nativePublicKey } from './ed25519-native.js';

/**
 * Parsed public KeyObjects by raw key, least recently used evicted first. Parsing
 * is a large share of a native verification and peers sign many messages each.
 */
export class NativeKeyCache {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly capacity = 1024) {}

  /** The KeyObject, or undefined if the bytes are not a usable ed25519 public key (wrong size, small order). */
  get(publicKey: Uint8Array): KeyObject | undefined {
    if (publicKey.length !== 32 || isSmallOrderPublicKey(publicKey)) return undefined;
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('latin1');
    const cached = this.keys.get(id);
    if (cached !== undefined) {
      this.keys.delete(id);
      this.keys.set(id, cached);
      return cached;
    }
    let key: KeyObject;
    try {
      key = nativePublicKey(publicKey);
    } catch {
      return undefined;
    }
    if (this.keys.size >= this.capacity) {
      const oldest = this.keys.keys().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
    this.keys.set(id, key);
    return key;
  }
}
