import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  createProviderRecord,
  DEFAULT_PROVIDER_POLICY,
  encodeForSigning,
  isServiceName,
  parseProviderRecord,
  PROVIDER_SIGNING_DOMAIN,
  serviceKey,
  verifyProviderRecord,
  type ProviderRecord,
} from '../../src/actors/dht/provider-record.js';
import { createCryptoPort } from '../../src/crypto/crypto-port.js';
import { generateIdentity } from '../../src/identity/identity.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { isPeerSockError, type ErrorCode } from '../../src/errors.js';
import { decodeFrame, encodeFrame } from '../../src/wire/frame.js';
import { createSeededRandom } from '../../sim/seeded-random.js';

const alice = createCryptoPort({ identity: generateIdentity(createSeededRandom(1)) });
const bob = createCryptoPort({ identity: generateIdentity(createSeededRandom(2)) });
afterAll(async () => {
  await alice.close();
  await bob.close();
});

const T0 = 1_700_000_000_000; // wall-clock ms
const MIN = 60_000;

async function verdictCode(record: ProviderRecord, now: number, policy = DEFAULT_PROVIDER_POLICY): Promise<ErrorCode | 'ok'> {
  const verdict = await verifyProviderRecord(alice, record, now, policy);
  return verdict.ok ? 'ok' : verdict.error.code;
}

describe('provider records: create and verify', () => {
  it('a record the provider signed verifies while it is live', async () => {
    const record = await createProviderRecord(alice, { service: 'chat/v1', issuedAt: T0, ttlMs: 10 * MIN });
    expect(record.provider).toBe(Buffer.from(alice.publicKey).toString('hex'));
    expect(record.expiresAt).toBe(T0 + 10 * MIN);
    expect(record.signature).toHaveLength(64);
    expect(await verdictCode(record, T0)).toBe('ok');
    expect(await verdictCode(record, T0 + 10 * MIN - 1)).toBe('ok');
  });

  it('refuses an expired record, one issued too far in the future, and one living longer than the policy allows', async () => {
    const record = await createProviderRecord(alice, { service: 'chat/v1', issuedAt: T0, ttlMs: 10 * MIN });
    expect(await verdictCode(record, T0 + 10 * MIN)).toBe('RECORD_EXPIRED');
    // A provider clock up to clockSkewMs ahead of ours is tolerated, more is not.
    expect(await verdictCode(record, T0 - DEFAULT_PROVIDER_POLICY.clockSkewMs)).toBe('ok');
    expect(await verdictCode(record, T0 - DEFAULT_PROVIDER_POLICY.clockSkewMs - 1)).toBe('RECORD_EXPIRED');
    const long = await createProviderRecord(alice, { service: 'chat/v1', issuedAt: T0, ttlMs: 31 * MIN });
    expect(await verdictCode(long, T0)).toBe('RECORD_EXPIRED');
    expect(await verdictCode(long, T0, { ...DEFAULT_PROVIDER_POLICY, maxTtlMs: 31 * MIN })).toBe('ok');
  });

  it('refuses any change to a signed field, and a record signed by someone other than its provider', async () => {
    const record = await createProviderRecord(alice, { service: 'chat/v1', issuedAt: T0, ttlMs: 10 * MIN });
    const bobId = Buffer.from(bob.publicKey).toString('hex') as PeerId;
    const tampered: ProviderRecord[] = [
      { ...record, service: 'chat/v2' },
      { ...record, issuedAt: T0 + 1 },
      { ...record, expiresAt: record.expiresAt + 1 },
      { ...record, provider: bobId },
      { ...record, signature: Uint8Array.from(record.signature, (b, i) => (i === 5 ? b ^ 1 : b)) },
    ];
    for (const bad of tampered) expect(await verdictCode(bad, T0)).toBe('SIGNATURE_INVALID');
    // Bob signs a record naming Alice as provider: the provider must be the signer.
    const claim = { service: 'chat/v1', provider: record.provider, issuedAt: T0, expiresAt: T0 + 10 * MIN };
    const forged: ProviderRecord = { ...claim, signature: await bob.sign(encodeForSigning(claim)) };
    expect(await verdictCode(forged, T0)).toBe('SIGNATURE_INVALID');
    const own = await createProviderRecord(bob, { service: 'chat/v1', issuedAt: T0, ttlMs: 10 * MIN });
    expect(await verdictCode(own, T0)).toBe('ok');
  });

  it('checks time before the signature, so expired junk costs no verification', async () => {
    let verifications = 0;
    const counting = { verify: async (...args: Parameters<typeof alice.verify>) => ((verifications += 1), alice.verify(...args)) };
    const record = await createProviderRecord(alice, { service: 'chat/v1', issuedAt: T0, ttlMs: MIN });
    await verifyProviderRecord(counting, { ...record, signature: new Uint8Array(64) }, T0 + 2 * MIN);
    expect(verifications).toBe(0);
  });

  it('createProviderRecord refuses bad service names and lifetimes', async () => {
    for (const service of ['', 'has space', 'x'.repeat(129), 'caf\u00e9', 'tab\t', '\u0000']) {
      await expect(createProviderRecord(alice, { service, issuedAt: T0, ttlMs: MIN })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    for (const ttlMs of [0, -1, 1.5, Number.NaN]) {
      await expect(createProviderRecord(alice, { service: 'ok', issuedAt: T0, ttlMs })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(createProviderRecord(alice, { service: 'x'.repeat(128), issuedAt: T0, ttlMs: MIN })).resolves.toBeDefined();
  });
});

describe('encodeForSigning', () => {
  const provider = 'ab'.repeat(32) as PeerId;

  it('starts with the domain-separation prefix and a NUL', () => {
    const bytes = encodeForSigning({ service: 's', provider, issuedAt: 1, expiresAt: 2 });
    expect(Buffer.from(bytes.subarray(0, PROVIDER_SIGNING_DOMAIN.length + 1)).toString('latin1')).toBe(`${PROVIDER_SIGNING_DOMAIN}\0`);
  });

  it('never encodes two different records alike', () => {
    const recordArb = fc.record({
      service: fc.stringMatching(/^[\x21-\x7e]{1,12}$/),
      provider: fc.constantFrom(provider, 'cd'.repeat(32) as PeerId),
      issuedAt: fc.nat(2 ** 40),
      expiresAt: fc.nat(2 ** 40),
    });
    fc.assert(
      fc.property(recordArb, recordArb, (a, b) => {
        const same = a.service === b.service && a.provider === b.provider && a.issuedAt === b.issuedAt && a.expiresAt === b.expiresAt;
        expect(Buffer.from(encodeForSigning(a)).equals(Buffer.from(encodeForSigning(b)))).toBe(same);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('serviceKey', () => {
  it('is the SHA-256 of the domain-separated name: stable, and not the bare hash of the name', () => {
    const key = serviceKey('chat/v1');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(serviceKey('chat/v1')).toBe(key);
    expect(key).not.toBe(createHash('sha256').update('chat/v1').digest('hex'));
    expect(key).toBe(createHash('sha256').update('peersock/service/v1\0chat/v1').digest('hex'));
    expect(serviceKey('chat/v2')).not.toBe(key);
  });

  it('refuses names that are not 1..128 visible ASCII characters', () => {
    for (const name of ['', ' x', 'x'.repeat(129), '\u0430pple']) {
      expect(() => serviceKey(name)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    }
    expect(isServiceName('a'.repeat(128))).toBe(true);
    expect(isServiceName('~!/:.')).toBe(true);
  });
});

describe('parseProviderRecord', () => {
  const valid = {
    service: 'chat/v1',
    provider: 'ab'.repeat(32),
    issuedAt: T0,
    expiresAt: T0 + MIN,
    signature: new Uint8Array(64).fill(7),
  };

  it('accepts a well-formed record, copying the signature out of the frame buffer', () => {
    const frame = new Uint8Array(100).fill(7);
    const record = parseProviderRecord({ ...valid, signature: frame.subarray(10, 74), extra: 'ignored' });
    expect(record).toEqual({ ...valid, signature: new Uint8Array(64).fill(7) });
    expect(record.signature.buffer).not.toBe(frame.buffer);
    expect(Object.keys(record).sort()).toEqual(['expiresAt', 'issuedAt', 'provider', 'service', 'signature']);
  });

  it('survives the wire: CBOR frame round trip then parse gives the same record', async () => {
    const record = await createProviderRecord(alice, { service: 'chat/v1', issuedAt: T0, ttlMs: MIN });
    const { body } = decodeFrame(encodeFrame('ps/dht', record));
    const parsed = parseProviderRecord(body);
    expect(parsed).toEqual(record);
    expect(await verdictCode(parsed, T0)).toBe('ok');
  });

  it('refuses each malformed field with FRAME_SCHEMA', () => {
    const bad: Record<string, unknown>[] = [
      { ...valid, service: '' },
      { ...valid, service: 'x'.repeat(129) },
      { ...valid, service: 'new\nline' },
      { ...valid, service: 7 },
      { ...valid, provider: 'AB'.repeat(32) },
      { ...valid, provider: 'ab'.repeat(31) },
      { ...valid, issuedAt: -1 },
      { ...valid, issuedAt: 1.5 },
      { ...valid, issuedAt: 10n },
      { ...valid, expiresAt: T0 },
      { ...valid, signature: new Uint8Array(63) },
      { ...valid, signature: Array.from({ length: 64 }, () => 0) },
      { ...valid, signature: undefined },
    ];
    for (const value of [...bad, null, [], 'record', 42]) {
      expect(() => parseProviderRecord(value)).toThrow(expect.objectContaining({ code: 'FRAME_SCHEMA' }) as Error);
    }
  });

  it('throws nothing but FRAME_SCHEMA on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ service: fc.anything(), provider: fc.anything(), issuedAt: fc.anything(), expiresAt: fc.anything(), signature: fc.anything() })), (value) => {
        try {
          parseProviderRecord(value);
        } catch (error) {
          expect(isPeerSockError(error, 'FRAME_SCHEMA')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
