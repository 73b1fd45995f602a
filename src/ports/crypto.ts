/**
 * Crypto port. Signing uses the node's own key; verification may be batched onto
 * worker threads, hence every call is asynchronous.
 */
export interface CryptoPort {
  /** This node's ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** ed25519 signature (64 bytes) of `message` with this node's secret key. */
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** True iff `signature` is a valid ed25519 signature of `message` by `publicKey`. Never throws on bad input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** SHA-256 digest. */
  sha256(data: Uint8Array): Uint8Array;
  /** Releases worker threads. */
  close(): Promise<void>;
}
