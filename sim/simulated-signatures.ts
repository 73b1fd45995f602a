import { createHash } from 'node:crypto';
import type { Identity } from '../src/identity/identity.js';
import type { CryptoPort } from '../src/ports/crypto.js';

/**
 * An opt-in signature scheme for large simulations (`SimulatorOptions.signatures:
 * 'simulated'`): a signature is SHA-512(secret key ‖ message), 64 bytes like ed25519's, and
 * verify() recomputes it with the secret the simulator registered for that public key. One
 * hash instead of an ed25519 verification (~65 µs native): every authenticated connection
 * signs twice and verifies twice, which was ~12% of a 1,000-node run's CPU.
 *
 * Within one simulation it answers exactly as ed25519 would: true iff the holder of that key
 * signed exactly that message through its port; a swapped fingerprint (another transcript),
 * a wrong key or a tampered signature verify false. What it cannot do is check a real
 * ed25519 signature made outside the simulation (a module signed by its author, a test
 * vector): those verify false. Runs that need them keep the default, real ed25519.
 */
export class SimulatedSignatures {
  private readonly secrets = new Map<string, Uint8Array>();

  /** The crypto port of one simulated node: its key registered, signatures simulated. */
  port(identity: Identity): CryptoPort {
    const publicKey = Uint8Array.from(identity.publicKey);
    const secret = Uint8Array.from(identity.secretKey);
    this.secrets.set(keyId(publicKey), secret);
    return {
      publicKey,
      sign: async (message) => signature(secret, message),
      verify: async (key, message, sig) => {
        if (!(key instanceof Uint8Array) || !(message instanceof Uint8Array) || !(sig instanceof Uint8Array)) return false;
        if (key.length !== 32 || sig.length !== 64) return false;
        const signer = this.secrets.get(keyId(key));
        return signer !== undefined && Buffer.from(sig.buffer, sig.byteOffset, 64).equals(signature(signer, message));
      },
      sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
      close: async () => undefined,
    };
  }
}

function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

function signature(secret: Uint8Array, message: Uint8Array): Buffer {
  return createHash('sha512').update(secret).update(message).digest();
}
