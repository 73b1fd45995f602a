import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';

/**
 * noble v3 ships only an async (WebCrypto) SHA-512; its synchronous API needs one
 * supplied. Doing it here, once, means every importer of `ed` gets a configured
 * library and nobody pulls in @noble/hashes just for this.
 */
if (ed.hashes.sha512 === undefined) {
  ed.hashes.sha512 = (message: Uint8Array) => new Uint8Array(createHash('sha512').update(message).digest());
}

export { ed };
