import { describe, it, expect, afterAll } from 'vitest';
import { createSeededRandom } from '../../sim/seeded-random.js';
import fc from 'fast-check';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { x25519PublicFromEd25519, x25519SecretFromEd25519Seed } from '../../src/crypto/ed25519-to-x25519.js';
import { ed } from '../../src/crypto/noble-setup.js';
import {
  DEFAULT_ENVELOPE_TTL,
  envelopeRecipient,
  openEnvelope,
  sealEnvelope,
  type EnvelopeRecipient,
  type SealInput,
} from '../../src/crypto/sealed-envelope.js';
import {
  MAX_SEALED_PAYLOAD_BYTES,
  decodeInner,
  headerBytes,
  parseSealedEnvelope,
  signedBytes,
  type SealedEnvelope,
} from '../../src/crypto/sealed-envelope-format.js';
import { x25519PrivateKey, x25519RawPublicKey, x25519SharedSecret } from '../../src/crypto/x25519-native.js';
import { isPeerSockError, PeerSockError, type ErrorCode } from '../../src/errors.js';
import { generateIdentity, identityFromSecretKey, type Identity } from '../../src/identity/identity.js';
import { peerIdFromPublicKey, type PeerId } from '../../src/identity/peer-id.js';
import type { CryptoPort } from '../../src/ports/crypto.js';
import { createSystemRandom } from '../../src/ports/random.js';
import { decodeFrame, encodeFrame } from '../../src/wire/frame.js';

const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const P = (1n << 255n) - 19n;
// Any real date is past 2^32 ms, so CBOR writes it in 9 bytes: what the size tests assume.
const NOW = 1_760_000_000_000;


interface Party {
  identity: Identity;
  port: CryptoPort;
  recipient: EnvelopeRecipient;
}

const ports: CryptoPort[] = [];
function party(identity = generateIdentity()): Party {
  const port = createCryptoPort({ identity });
  ports.push(port);
  return { identity, port, recipient: envelopeRecipient(identity, port) };
}
afterAll(async () => {
  for (const port of ports) await port.close();
});

const alice = party();
const bob = party();
const carol = party(); // the relay
const random = createSystemRandom();

function seal(overrides: Partial<SealInput> = {}): Promise<SealedEnvelope> {
  return sealEnvelope({
    signer: alice.port,
    random,
    recipient: bob.identity.peerId,
    protocol: 'chat/v1',
    payload: new TextEncoder().encode('hello bob'),
    sentAt: NOW,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<PeerSockError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof PeerSockError)) throw new Error(`expected a PeerSockError, got ${String(error)}`);
    return error;
  }
  throw new Error('expected a rejection, but it resolved');
}

function flipBit(bytes: Uint8Array, index = 0): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index % copy.length] = (copy[index % copy.length] as number) ^ 1;
  return copy;
}

/** What a hostile relay does: rewrite fields, then sign the result with its own key. */
async function resign(env: SealedEnvelope, signer: CryptoPort): Promise<SealedEnvelope> {
  const origin = peerIdFromPublicKey(signer.publicKey);
  const header = { ...env, origin };
  return { ...header, sig: await signer.sign(signedBytes(headerBytes(header), env.ct)) };
}

describe('ed25519 → X25519 keys', () => {
  it('matches libsodium crypto_sign_ed25519_{pk,sk}_to_curve25519 (test/default/ed25519_convert)', () => {
    const identity = identityFromSecretKey(unhex('421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee'));
    expect(identity.peerId).toBe('b5076a8474a832daee4dd5b4040983b6623b5f344aca57d4d6ee4baf3f259e6e');
    expect(hex(x25519SecretFromEd25519Seed(identity.secretKey))).toBe('8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166');
    expect(hex(x25519PublicFromEd25519(identity.publicKey))).toBe('f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50');
  });

  it('node:crypto X25519 through its key import (okp-jwk.ts) reproduces RFC 7748 §6.1', () => {
    const a = x25519PrivateKey(unhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const b = x25519PrivateKey(unhex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(hex(x25519RawPublicKey(a))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(hex(x25519RawPublicKey(b))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(hex(x25519SharedSecret(a, x25519RawPublicKey(b))!)).toBe(shared);
    expect(hex(x25519SharedSecret(b, x25519RawPublicKey(a))!)).toBe(shared);
  });

  it('the derived public key is the X25519 public key of the derived secret, and ECDH agrees both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (seedA, seedB) => {
        const a = identityFromSecretKey(seedA);
        const b = identityFromSecretKey(seedB);
        const aSecret = x25519PrivateKey(x25519SecretFromEd25519Seed(seedA));
        const bSecret = x25519PrivateKey(x25519SecretFromEd25519Seed(seedB));
        const aPublic = x25519PublicFromEd25519(a.publicKey);
        const bPublic = x25519PublicFromEd25519(b.publicKey);
        expect(hex(aPublic)).toBe(hex(x25519RawPublicKey(aSecret)));
        expect(hex(x25519SharedSecret(aSecret, bPublic)!)).toBe(hex(x25519SharedSecret(bSecret, aPublic)!));
      }),
      { numRuns: 25 },
    );
  });

  it('clamps the secret as RFC 7748 §5 does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const secret = x25519SecretFromEd25519Seed(seed);
        expect((secret[0] as number) & 7).toBe(0);
        expect((secret[31] as number) & 0xc0).toBe(0x40);
      }),
    );
  });

  it('refuses small-order, mixed-order and non-canonical ed25519 keys', () => {
    const order8 = ed.Point.fromBytes(unhex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'));
    const bad: Uint8Array[] = [];
    let torsion = ed.Point.ZERO;
    for (let i = 0; i < 8; i++) {
      bad.push(Uint8Array.from(torsion.toBytes())); // the 8 small-order points
      torsion = torsion.add(order8);
    }
    // A real key plus a torsion component: on the curve, not small order, outside the prime-order subgroup.
    bad.push(Uint8Array.from(ed.Point.fromBytes(alice.identity.publicKey).add(order8).toBytes()));
    // y + p for a small y that is a curve point: a second, non-canonical encoding of a valid key.
    for (let y = 2n; y < 19n; y++) {
      const encoding = littleEndian(y + P);
      try {
        ed.Point.fromBytes(littleEndian(y), false);
      } catch {
        continue; // not a point at all
      }
      bad.push(encoding);
    }
    bad.push(littleEndian(2n ** 255n - 1n)); // y ≥ p, not a point
    bad.push(new Uint8Array(31));
    for (const key of bad) {
      expect(() => x25519PublicFromEd25519(key), hex(key)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(bad.length).toBeGreaterThan(10);
    expect(() => x25519PublicFromEd25519(alice.identity.publicKey)).not.toThrow();
  });

  it('yields no shared secret with a small-order X25519 key (all-zero output)', () => {
    const secret = x25519PrivateKey(x25519SecretFromEd25519Seed(alice.identity.secretKey));
    const zero = new Uint8Array(32);
    const one = littleEndian(1n);
    const order8u = unhex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800');
    for (const u of [zero, one, order8u]) expect(x25519SharedSecret(secret, u)).toBeUndefined();
  });
});

describe('sealEnvelope / openEnvelope', () => {
  it('delivers protocol, payload, origin, msgId and sentAt to the recipient', async () => {
    const env = await seal();
    const opened = await openEnvelope(env, bob.recipient);
    expect(opened.origin).toBe(alice.identity.peerId);
    expect(opened.protocol).toBe('chat/v1');
    expect(new TextDecoder().decode(opened.payload)).toBe('hello bob');
    expect(hex(opened.msgId)).toBe(hex(env.msgId));
    expect(opened.sentAt).toBe(NOW);
    expect(env.ttl).toBe(DEFAULT_ENVELOPE_TTL);
    expect(env.target).toBe(bob.identity.peerId);
  });

  it('round-trips any payload and protocol tag', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.stringMatching(/^[a-z0-9][a-z0-9._/-]{0,63}$/),
        fc.integer({ min: 1, max: 255 }),
        async (payload, protocol, ttl) => {
          const env = await seal({ payload, protocol, ttl });
          const opened = await openEnvelope(env, bob.recipient);
          expect(opened.protocol).toBe(protocol);
          expect(hex(opened.payload)).toBe(hex(payload));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('hides the payload and protocol from hops: neither appears in the envelope', async () => {
    const marker = new TextEncoder().encode('SECRET-MARKER-0123456789');
    const env = await seal({ payload: marker, protocol: 'very-visible-protocol' });
    const wire = Buffer.from(encodeFrame('ps/routed', env));
    expect(wire.includes(Buffer.from(marker))).toBe(false);
    expect(wire.includes(Buffer.from('very-visible-protocol'))).toBe(false);
  });

  it('uses a fresh msgId and ephemeral key for every message', async () => {
    const envs = await Promise.all(Array.from({ length: 20 }, () => seal()));
    expect(new Set(envs.map((e) => hex(e.msgId))).size).toBe(20);
    expect(new Set(envs.map((e) => hex(e.eph))).size).toBe(20);
  });

  it('is reproducible from the Random port (the simulator relies on it)', async () => {
    const a = await seal({ random: createSeededRandom(1) });
    const b = await seal({ random: createSeededRandom(1) });
    const c = await seal({ random: createSeededRandom(2) });
    expect(hex(encodeFrame('ps/routed', a))).toBe(hex(encodeFrame('ps/routed', b)));
    expect(hex(c.ct)).not.toBe(hex(a.ct));
  });

  it('survives the wire: encodeFrame → decodeFrame → open', async () => {
    const env = await seal();
    const frame = decodeFrame(Uint8Array.from(encodeFrame('ps/routed', env)));
    const opened = await openEnvelope(frame.body, bob.recipient);
    expect(new TextDecoder().decode(opened.payload)).toBe('hello bob');
  });

  it('verifies through a worker-pool CryptoPort', async () => {
    const port = createCryptoPort({ identity: bob.identity, poolOptions: { threads: 1, inlineBelow: 0 } });
    try {
      const recipient = envelopeRecipient(bob.identity, port);
      const envs = await Promise.all(Array.from({ length: 8 }, () => seal()));
      const opened = await Promise.all(envs.map((env) => openEnvelope(env, recipient)));
      expect(opened.every((m) => m.origin === alice.identity.peerId)).toBe(true);
      await expect(openEnvelope({ ...envs[0]!, sig: flipBit(envs[0]!.sig) }, recipient)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    } finally {
      await port.close();
    }
  });
});

describe('what relays and forgers cannot do', () => {
  it('a relay cannot open an envelope addressed to someone else', async () => {
    const env = await seal();
    const error = await rejection(openEnvelope(env, carol.recipient));
    expect(error.code).toBe('DECRYPT_FAILED');
    expect(error.message).toContain('addressed to');
  });

  it('a relay that gets past the address check still cannot decrypt', async () => {
    const env = await seal();
    // Carol's keys under Bob's name: the signature checks out, the AEAD does not.
    const impostor: EnvelopeRecipient = { ...carol.recipient, peerId: bob.identity.peerId };
    const error = await rejection(openEnvelope(env, impostor));
    expect(error.code).toBe('DECRYPT_FAILED');
    expect(error.message).toContain('authentication failed');
  });

  it('re-addressing an envelope to the relay breaks the signature', async () => {
    const env = await seal();
    const error = await rejection(openEnvelope({ ...env, target: carol.identity.peerId }, carol.recipient));
    expect(error.code).toBe('SIGNATURE_INVALID');
  });

  it('detects tampering with every signed header field', async () => {
    const env = await seal();
    const tampered: Partial<SealedEnvelope>[] = [
      { msgId: flipBit(env.msgId) },
      { sentAt: env.sentAt + 1 },
      { eph: flipBit(env.eph) },
      { origin: carol.identity.peerId },
    ];
    for (const change of tampered) {
      const error = await rejection(openEnvelope({ ...env, ...change }, bob.recipient));
      expect(error.code, JSON.stringify(Object.keys(change))).toBe('SIGNATURE_INVALID');
    }
  });

  it('detects tampering with the ciphertext and the signature', async () => {
    const env = await seal({ payload: new Uint8Array(64) });
    for (const index of [0, 10, env.ct.length - 1]) {
      expect((await rejection(openEnvelope({ ...env, ct: flipBit(env.ct, index) }, bob.recipient))).code).toBe('SIGNATURE_INVALID');
    }
    for (const index of [0, 31, 32, 63]) {
      expect((await rejection(openEnvelope({ ...env, sig: flipBit(env.sig, index) }, bob.recipient))).code).toBe('SIGNATURE_INVALID');
    }
    const truncated = await rejection(openEnvelope({ ...env, ct: env.ct.subarray(0, env.ct.length - 1) }, bob.recipient));
    expect(truncated.code).toBe('SIGNATURE_INVALID');
  });

  it('a relay that swaps in itself as origin and re-signs cannot pass off the message as its own', async () => {
    const env = await seal();
    const forged = await resign(env, carol.port);
    expect(forged.origin).toBe(carol.identity.peerId);
    const error = await rejection(openEnvelope(forged, bob.recipient));
    // The signature is Carol's and valid; the origin is bound into the key and the AEAD.
    expect(error.code).toBe('DECRYPT_FAILED');
  });

  it('an origin-signed envelope whose ciphertext does not decrypt is DECRYPT_FAILED', async () => {
    const env = await seal();
    const broken = await resign({ ...env, ct: flipBit(env.ct, 3) }, alice.port);
    expect((await rejection(openEnvelope(broken, bob.recipient))).code).toBe('DECRYPT_FAILED');
    const swappedEph = await resign({ ...env, eph: (await seal()).eph }, alice.port);
    expect((await rejection(openEnvelope(swappedEph, bob.recipient))).code).toBe('DECRYPT_FAILED');
    const zeroEph = await resign({ ...env, eph: new Uint8Array(32) }, alice.port);
    expect((await rejection(openEnvelope(zeroEph, bob.recipient))).message).toContain('ephemeral key');
  });

  it('ttl is not authenticated: hops may change it and the envelope still opens', async () => {
    const env = await seal({ ttl: 10 });
    const opened = await openEnvelope({ ...env, ttl: 3 }, bob.recipient);
    expect(new TextDecoder().decode(opened.payload)).toBe('hello bob');
  });
});

describe('bad input', () => {
  it('refuses malformed envelopes with FRAME_SCHEMA naming the field', async () => {
    const env = await seal();
    const cases: [unknown, string][] = [
      [null, 'must be a map'],
      [[1, 2, 3], 'must be a map'],
      [new Uint8Array(10), 'must be a map'],
      [{ ...env, v: 2 }, 'version 2'],
      [{ ...env, origin: env.origin.toUpperCase() }, 'origin is invalid'],
      [{ ...env, target: undefined }, 'target is missing'],
      [{ ...env, msgId: new Uint8Array(15) }, 'msgId is invalid'],
      [{ ...env, sentAt: -1 }, 'sentAt is invalid'],
      [{ ...env, sentAt: 2 ** 64 }, 'sentAt is invalid'],
      [{ ...env, ttl: 256 }, 'ttl is invalid'],
      [{ ...env, eph: 'x'.repeat(32) }, 'eph is invalid'],
      [{ ...env, ct: new Uint8Array(16) }, 'ct is invalid'],
      [{ ...env, sig: new Uint8Array(63) }, 'sig is invalid'],
      [{ ...env, v: undefined }, 'v is missing'],
      [Object.assign(Object.create({ v: 1 }), { ...env, v: undefined }), 'must be a map'],
    ];
    for (const [value, message] of cases) {
      const error = await rejection(openEnvelope(value, bob.recipient));
      expect(error.code).toBe('FRAME_SCHEMA');
      expect(error.message).toContain(message);
    }
  });

  it('parseSealedEnvelope keeps only the known fields', async () => {
    const env = await seal();
    expect(Object.keys(parseSealedEnvelope({ ...env, extra: 1 })).sort()).toEqual(['ct', 'eph', 'msgId', 'origin', 'sentAt', 'sig', 'target', 'ttl', 'v']);
  });

  it('decodeInner refuses authentic but malformed content', () => {
    for (const plaintext of [new Uint8Array(0), Uint8Array.of(5, 97), Uint8Array.of(0, 1, 2), Uint8Array.of(2, 65, 66), Uint8Array.of(1, 0xe9)]) {
      expect(() => decodeInner(plaintext)).toThrow(expect.objectContaining({ code: 'FRAME_SCHEMA' }));
    }
    expect(decodeInner(Uint8Array.of(1, 97, 7)).protocol).toBe('a');
  });

  it('rejects only with PeerSockError on random input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.uint8Array({ maxLength: 400 }), fc.dictionary(fc.string(), fc.anything())), async (value) => {
        const error = await rejection(openEnvelope(value, bob.recipient));
        expect(error.code).toBe('FRAME_SCHEMA');
      }),
      { numRuns: 300 },
    );
  });

  it('rejects only with a clean error on mutated envelopes, and opens unchanged content only', async () => {
    const env = await seal({ payload: new TextEncoder().encode('original') });
    const fields = ['v', 'origin', 'target', 'msgId', 'sentAt', 'eph', 'ttl', 'ct', 'sig'] as const;
    const allowed = new Set<ErrorCode>(['FRAME_SCHEMA', 'SIGNATURE_INVALID', 'DECRYPT_FAILED']);
    const replacement = fc.oneof(
      fc.anything(),
      fc.uint8Array({ maxLength: 200 }),
      fc.nat(),
      fc.constantFrom(alice.identity.peerId, bob.identity.peerId, carol.identity.peerId),
    );
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), field: fc.constantFrom(...fields), value: replacement }),
      fc.record({ kind: fc.constant('flip' as const), field: fc.constantFrom('msgId', 'eph', 'ct', 'sig'), index: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...fields) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const copy: Record<string, unknown> = { ...env };
        for (const m of mutations) {
          if (m.kind === 'replace') copy[m.field] = m.value;
          else if (m.kind === 'delete') delete copy[m.field];
          else if (copy[m.field] instanceof Uint8Array && (copy[m.field] as Uint8Array).length > 0) {
            const bytes = Uint8Array.from(copy[m.field] as Uint8Array);
            bytes[m.index % bytes.length] = (bytes[m.index % bytes.length] as number) ^ (1 << m.bit);
            copy[m.field] = bytes;
          }
        }
        try {
          const opened = await openEnvelope(copy, bob.recipient);
          // Only a change that left every authenticated field as it was may open.
          expect(new TextDecoder().decode(opened.payload)).toBe('original');
          expect(opened.origin).toBe(alice.identity.peerId);
        } catch (error) {
          expect(isPeerSockError(error)).toBe(true);
          expect(allowed.has((error as PeerSockError).code)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a verifier that throws gives SIGNATURE_INVALID; its PeerSockErrors pass through', async () => {
    const env = await seal();
    const throwing: EnvelopeRecipient = { ...bob.recipient, verifier: { verify: () => Promise.reject(new TypeError('boom')) } };
    expect((await rejection(openEnvelope(env, throwing))).code).toBe('SIGNATURE_INVALID');
    const full: EnvelopeRecipient = { ...bob.recipient, verifier: { verify: () => Promise.reject(new PeerSockError('BACKPRESSURE', 'full')) } };
    expect((await rejection(openEnvelope(env, full))).code).toBe('BACKPRESSURE');
  });

  it('refuses to seal with bad arguments', async () => {
    const smallOrder = ('01' + '00'.repeat(31)) as PeerId; // the identity point
    const cases: [Partial<SealInput>, ErrorCode][] = [
      [{ recipient: 'not-a-peer' as PeerId }, 'INVALID_ARGUMENT'],
      [{ recipient: smallOrder }, 'INVALID_ARGUMENT'],
      [{ protocol: 'Bad Tag' }, 'INVALID_PROTOCOL'],
      [{ payload: 'text' as unknown as Uint8Array }, 'INVALID_ARGUMENT'],
      [{ sentAt: -5 }, 'INVALID_ARGUMENT'],
      [{ sentAt: 1.5 }, 'INVALID_ARGUMENT'],
      [{ ttl: 0 }, 'INVALID_ARGUMENT'],
      [{ ttl: 256 }, 'INVALID_ARGUMENT'],
    ];
    for (const [change, code] of cases) {
      expect((await rejection(seal(change))).code, JSON.stringify(change)).toBe(code);
    }
  });
});

describe('sizes', () => {
  /** CBOR bytes of the envelope alone: the frame minus the frame around an empty map (a0, 1 byte). */
  const envelopeBytes = (env: SealedEnvelope) => encodeFrame('ps/routed', env).length - (encodeFrame('ps/routed', {}).length - 1);

  it('adds 129 bytes + the protocol tag of cryptography, 326 bytes + the tag as CBOR', async () => {
    const protocol = 'chat/v1';
    for (const [payloadLength, cborOverhead] of [
      [100, 325], // ciphertext under 256 bytes: 1-byte shorter length header
      [1000, 326],
      [65_000, 326],
      [70_000, 328], // ciphertext over 64 KiB: 4-byte length
    ] as const) {
      const env = await seal({ protocol, payload: new Uint8Array(payloadLength) });
      // Ephemeral key 32, AEAD tag 16, signature 64, msgId 16, tag length byte 1.
      expect(env.eph.length + (env.ct.length - payloadLength - protocol.length) + env.sig.length + env.msgId.length).toBe(129);
      expect(envelopeBytes(env) - payloadLength - protocol.length, `payload ${payloadLength}`).toBe(cborOverhead);
    }
    const small = await seal({ protocol, payload: new Uint8Array(100), ttl: 23 });
    expect(envelopeBytes(small) - 100 - protocol.length).toBe(324);
  });

  it('the largest payload fits in one frame; one byte more is MESSAGE_TOO_LARGE', async () => {
    const protocol = 'p'.repeat(64);
    const env = await seal({ protocol, payload: new Uint8Array(MAX_SEALED_PAYLOAD_BYTES) });
    const frame = decodeFrame(Uint8Array.from(encodeFrame('ps/routed', env)));
    expect((await openEnvelope(frame.body, bob.recipient)).payload.length).toBe(MAX_SEALED_PAYLOAD_BYTES);
    expect((await rejection(seal({ protocol, payload: new Uint8Array(MAX_SEALED_PAYLOAD_BYTES + 1) }))).code).toBe('MESSAGE_TOO_LARGE');
  });
});

function littleEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
