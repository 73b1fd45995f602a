import { describe, expect, it } from 'vitest';
import { parseSignalEnvelope } from '../../src/actors/transport/signal-envelope.js';

const NONCE = '0f'.repeat(32);

describe('signal envelopes from an untrusted relay', () => {
  it('an offer or answer carries its sender’s handshake nonce; a candidate carries none', () => {
    const offer = { cid: 'a'.repeat(16), signal: { type: 'offer', sdp: 'v=0' }, nonce: NONCE };
    expect(parseSignalEnvelope(offer)).toEqual(offer);
    const answer = { cid: 'b'.repeat(16), signal: { type: 'answer', sdp: 'v=0' }, nonce: NONCE };
    expect(parseSignalEnvelope(answer)).toEqual(answer);
    const candidate = { cid: 'c'.repeat(16), signal: { type: 'candidate', candidate: 'x', mid: '0' }, nonce: NONCE };
    // A nonce beside a candidate is not carried through.
    expect(parseSignalEnvelope(candidate)).toEqual({ cid: candidate.cid, signal: candidate.signal });
  });

  it.each([
    ['no nonce', undefined],
    ['a short nonce', '0f'.repeat(31)],
    ['a long nonce', '0f'.repeat(33)],
    ['upper-case hex', '0F'.repeat(32)],
    ['not hex', 'zz'.repeat(32)],
    ['bytes instead of text', new Uint8Array(32)],
  ])('drops an offer or answer with %s (no handshake could follow it)', (_label, nonce) => {
    for (const type of ['offer', 'answer']) {
      expect(parseSignalEnvelope({ cid: 'a'.repeat(16), signal: { type, sdp: 'v=0' }, ...(nonce === undefined ? {} : { nonce }) })).toBeUndefined();
    }
  });
});
