import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_KEEPALIVE_EVERY,
  NONCE_BYTES,
  nonceFromText,
  nonceToText,
  otherRole,
  parseAuthMessage,
  transcriptBytes,
  transcriptView,
  type TranscriptView,
} from '../../src/actors/transport/handshake.js';
import { isPeerSockError } from '../../src/errors.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonce = fc.uint8Array({ minLength: NONCE_BYTES, maxLength: NONCE_BYTES });
const fingerprint = fc.string({ maxLength: 100 });

/** What each honest end knows once the offer and answer crossed: its own key, fingerprint and nonce, and the other's. */
const ends = fc.record({
  dialer: fc.record({ key, fingerprint, nonce }),
  listener: fc.record({ key, fingerprint, nonce }),
});

const FIELDS: readonly (keyof TranscriptView)[] = [
  'dialerKey',
  'listenerKey',
  'dialerFingerprint',
  'listenerFingerprint',
  'dialerNonce',
  'listenerNonce',
];

const view = fc.record({
  dialerKey: key,
  listenerKey: key,
  dialerFingerprint: fingerprint,
  listenerFingerprint: fingerprint,
  dialerNonce: nonce,
  listenerNonce: nonce,
});

function schemaError(body: unknown): boolean {
  try {
    parseAuthMessage(body);
    return false;
  } catch (error) {
    return isPeerSockError(error, 'FRAME_SCHEMA');
  }
}

describe('transcriptView', () => {
  it('gives both honest ends the same view', () => {
    fc.assert(
      fc.property(ends, ({ dialer, listener }) => {
        const fromDialer = transcriptView({
          role: 'dialer',
          localKey: dialer.key,
          remoteKey: listener.key,
          localFingerprint: dialer.fingerprint,
          remoteFingerprint: listener.fingerprint,
          localNonce: dialer.nonce,
          remoteNonce: listener.nonce,
        });
        const fromListener = transcriptView({
          role: 'listener',
          localKey: listener.key,
          remoteKey: dialer.key,
          localFingerprint: listener.fingerprint,
          remoteFingerprint: dialer.fingerprint,
          localNonce: listener.nonce,
          remoteNonce: dialer.nonce,
        });
        expect(fromListener).toEqual(fromDialer);
        expect(fromDialer.dialerKey).toEqual(dialer.key);
        expect(fromDialer.listenerFingerprint).toBe(listener.fingerprint);
        expect(transcriptBytes(fromListener, 'dialer')).toEqual(transcriptBytes(fromDialer, 'dialer'));
      }),
    );
  });

  it('differs between the ends when a man in the middle made them see different fingerprints', () => {
    fc.assert(
      fc.property(ends, fingerprint, ({ dialer, listener }, forged) => {
        fc.pre(forged !== listener.fingerprint);
        const fromDialer = transcriptView({
          role: 'dialer',
          localKey: dialer.key,
          remoteKey: listener.key,
          localFingerprint: dialer.fingerprint,
          remoteFingerprint: forged, // the certificate the middle presented to the dialer
          localNonce: dialer.nonce,
          remoteNonce: listener.nonce,
        });
        const fromListener = transcriptView({
          role: 'listener',
          localKey: listener.key,
          remoteKey: dialer.key,
          localFingerprint: listener.fingerprint,
          remoteFingerprint: dialer.fingerprint,
          localNonce: listener.nonce,
          remoteNonce: dialer.nonce,
        });
        expect(transcriptBytes(fromDialer, 'listener')).not.toEqual(transcriptBytes(fromListener, 'listener'));
      }),
    );
  });
});

describe('transcriptBytes', () => {
  it('changes when any one field changes', () => {
    fc.assert(
      fc.property(view, view, fc.constantFrom(...FIELDS), fc.constantFrom('dialer' as const, 'listener' as const), (base, other, field, signer) => {
        const a = base[field];
        const b = other[field];
        fc.pre(typeof a === 'string' ? a !== b : !Buffer.from(a).equals(Buffer.from(b as Uint8Array)));
        const changed = { ...base, [field]: b };
        expect(transcriptBytes(changed, signer)).not.toEqual(transcriptBytes(base, signer));
      }),
    );
  });

  it('differs between the two signer roles, so a proof cannot be reflected', () => {
    fc.assert(
      fc.property(view, (v) => {
        expect(transcriptBytes(v, 'dialer')).not.toEqual(transcriptBytes(v, 'listener'));
        expect(otherRole('dialer')).toBe('listener');
        expect(otherRole('listener')).toBe('dialer');
      }),
    );
  });

  it('keeps field boundaries: moving characters between adjacent fields changes the bytes', () => {
    fc.assert(
      fc.property(view, fc.string({ minLength: 2, maxLength: 40 }), fc.nat(), (v, joined, cut) => {
        const at = 1 + (cut % (joined.length - 1));
        const split = { ...v, dialerFingerprint: joined.slice(0, at), listenerFingerprint: joined.slice(at) };
        const moved = { ...v, dialerFingerprint: joined, listenerFingerprint: '' };
        expect(transcriptBytes(split, 'dialer')).not.toEqual(transcriptBytes(moved, 'dialer'));
      }),
    );
  });
});

describe('parseAuthMessage', () => {
  const goodKey = new Uint8Array(32).fill(1);
  const goodNonce = new Uint8Array(NONCE_BYTES).fill(2);

  it('accepts well-formed proof and done', () => {
    expect(parseAuthMessage({ t: 'proof', sig: new Uint8Array(64) })).toEqual({ t: 'proof', sig: new Uint8Array(64) });
    // The signer's key, a diagnosis only (see ProofMessage.key).
    expect(parseAuthMessage({ t: 'proof', sig: new Uint8Array(64), key: goodKey })).toEqual({ t: 'proof', sig: new Uint8Array(64), key: goodKey });
    expect(parseAuthMessage({ t: 'done' })).toEqual({ t: 'done' });
    // Extra fields are not carried through.
    expect(parseAuthMessage({ t: 'done', extra: 1 })).toEqual({ t: 'done' });
    // The sender's keepalive factor for links it does not watch.
    expect(parseAuthMessage({ t: 'done', every: 4 })).toEqual({ t: 'done', every: 4 });
    expect(parseAuthMessage({ t: 'done', every: MAX_KEEPALIVE_EVERY })).toEqual({ t: 'done', every: MAX_KEEPALIVE_EVERY });
  });

  it.each([
    ['null', null],
    ['an array', [1, 2]],
    ['a string', 'hello'],
    ['a number', 7],
    ['bytes', new Uint8Array(32)],
    ['no type', { key: goodKey, nonce: goodNonce }],
    ['an unknown type', { t: 'bye' }],
    // The nonces travel in the offer and answer now: a hello on the channel is no message.
    ['a hello', { t: 'hello', key: goodKey, nonce: goodNonce }],
    ['a short key', { t: 'proof', sig: new Uint8Array(64), key: new Uint8Array(31) }],
    ['a long key', { t: 'proof', sig: new Uint8Array(64), key: new Uint8Array(33) }],
    ['a key as a string', { t: 'proof', sig: new Uint8Array(64), key: 'a'.repeat(32) }],
    ['a key as an array', { t: 'proof', sig: new Uint8Array(64), key: Array(32).fill(0) }],
    ['a short signature', { t: 'proof', sig: new Uint8Array(63) }],
    ['a long signature', { t: 'proof', sig: new Uint8Array(65) }],
    ['a signature as a buffer-like object', { t: 'proof', sig: { length: 64 } }],
    ['a keepalive factor of 0', { t: 'done', every: 0 }],
    ['a keepalive factor over the cap', { t: 'done', every: MAX_KEEPALIVE_EVERY + 1 }],
    ['a fractional keepalive factor', { t: 'done', every: 1.5 }],
    ['a keepalive factor as a string', { t: 'done', every: '4' }],
  ])('rejects %s with FRAME_SCHEMA', (_label, body) => {
    expect(schemaError(body)).toBe(true);
  });

  it('never accepts anything but exact-length byte fields, and fails only with FRAME_SCHEMA', () => {
    const field = fc.oneof(fc.uint8Array({ maxLength: 70 }), fc.anything());
    const body = fc.oneof(
      fc.anything(),
      fc.record(
        { t: fc.constantFrom('hello', 'proof', 'done', 'other'), key: field, nonce: field, sig: field, every: fc.oneof(fc.integer({ min: -2, max: 70 }), fc.anything()) },
        { requiredKeys: ['t'] },
      ),
    );
    fc.assert(
      fc.property(body, (value) => {
        let parsed;
        try {
          parsed = parseAuthMessage(value);
        } catch (error) {
          expect(isPeerSockError(error, 'FRAME_SCHEMA')).toBe(true);
          return;
        }
        if (parsed.t === 'proof') {
          expect(parsed.sig).toBeInstanceOf(Uint8Array);
          expect(parsed.sig.length).toBe(64);
          if (parsed.key !== undefined) expect(parsed.key.length).toBe(32);
        } else {
          expect(parsed.t).toBe('done');
          expect(Object.keys(parsed).filter((key) => key !== 'every')).toEqual(['t']);
          if (parsed.every !== undefined) {
            expect(Number.isInteger(parsed.every) && parsed.every >= 1 && parsed.every <= MAX_KEEPALIVE_EVERY).toBe(true);
          }
        }
      }),
    );
  });
});

describe('nonces in the signal envelope', () => {
  it('go as 64 lowercase hex digits and come back byte for byte', () => {
    fc.assert(
      fc.property(nonce, (bytes) => {
        const text = nonceToText(bytes);
        expect(text).toMatch(/^[0-9a-f]{64}$/);
        expect(nonceFromText(text)).toEqual(bytes);
      }),
    );
  });
});
