import { createHash, randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { createVerifyPool } from '../../src/crypto/verify-pool.js';
import { nobleSign, nobleVerify } from '../../src/crypto/ed25519-noble.js';
import { generateIdentity } from '../../src/identity/identity.js';

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');

describe('crypto port', () => {
  it('signs with the identity key, byte-identical to noble', async () => {
    const identity = generateIdentity();
    const port = createCryptoPort({ identity });
    expect(hex(port.publicKey)).toBe(identity.peerId);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (message) => {
        const signature = await port.sign(message);
        expect(hex(signature)).toBe(hex(nobleSign(identity.secretKey, message)));
        expect(nobleVerify(identity.publicKey, message, signature)).toBe(true);
      }),
      { numRuns: 50 },
    );
    await port.close();
  });

  it('verifies inline without a pool, and never throws on bad input', async () => {
    const a = createCryptoPort({ identity: generateIdentity() });
    const b = createCryptoPort({ identity: generateIdentity() });
    const message = new Uint8Array(randomBytes(64));
    const signature = await a.sign(message);
    expect(await b.verify(a.publicKey, message, signature)).toBe(true);
    expect(await b.verify(b.publicKey, message, signature)).toBe(false);
    expect(await b.verify(a.publicKey, Uint8Array.of(1), signature)).toBe(false);
    expect(await b.verify(a.publicKey.subarray(1), message, signature)).toBe(false);
    expect(await b.verify(undefined as unknown as Uint8Array, message, signature)).toBe(false);
    expect(await b.verify(new Uint8Array(32), message, new Uint8Array(64))).toBe(false);
  });

  it('verifies through a shared pool and leaves it open on close()', async () => {
    const pool = createVerifyPool({ threads: 1, inlineBelow: 0 });
    const a = createCryptoPort({ identity: generateIdentity(), pool });
    const b = createCryptoPort({ identity: generateIdentity(), pool });
    const message = new Uint8Array(randomBytes(64));
    const signature = await a.sign(message);
    expect(await b.verify(a.publicKey, message, signature)).toBe(true);
    expect(await b.verify(b.publicKey, message, signature)).toBe(false);
    expect(pool.stats().pooled).toBe(2);
    await a.close();
    expect(pool.stats().threads).toBe(1);
    expect(await b.verify(a.publicKey, message, signature)).toBe(true);
    await pool.close();
  });

  it('closes a pool it owns', async () => {
    const pool = createVerifyPool({ threads: 1 });
    const port = createCryptoPort({ identity: generateIdentity(), pool, ownsPool: true });
    await port.close();
    expect(pool.stats().threads).toBe(0);
    await expect(port.verify(port.publicKey, new Uint8Array(1), new Uint8Array(64))).rejects.toMatchObject({ code: 'NODE_STOPPED' });

    const own = createCryptoPort({ identity: generateIdentity(), poolOptions: { threads: 1 } });
    const message = Uint8Array.of(1, 2, 3);
    expect(await own.verify(own.publicKey, message, await own.sign(message))).toBe(true);
    await own.close();
    await expect(own.verify(own.publicKey, message, await own.sign(message))).rejects.toMatchObject({ code: 'NODE_STOPPED' });
  });

  it('hashes with SHA-256', () => {
    const port = createCryptoPort({ identity: generateIdentity() });
    expect(hex(port.sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
        expect(hex(port.sha256(data))).toBe(createHash('sha256').update(data).digest('hex'));
      }),
    );
  });
});
