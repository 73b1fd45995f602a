import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_DATA_DEPTH,
  encode,
  parseClientMessage,
  parseServerMessage,
  registerMessageBytes,
  withinDepth,
  type ClientMessage,
  type ServerMessage,
} from '../../src/signaling/protocol.js';
import type { PeerId } from '../../src/identity/peer-id.js';

const peerId = fc.stringMatching(/^[0-9a-f]{64}$/).map((s) => s as PeerId);
const rid = fc.stringMatching(/^[\x20-\x7e]{1,64}$/);
const data = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }));

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({ t: fc.constant('register' as const), id: peerId, sig: fc.stringMatching(/^[0-9a-f]{128}$/) }),
  fc.record({ t: fc.constant('signal' as const), to: peerId, data, rid }),
  fc.record({ t: fc.constant('signal' as const), to: peerId, data }),
  fc.record({ t: fc.constant('sample' as const), n: fc.integer({ min: 0, max: 1024 }), rid }),
  fc
    .record({ n: fc.integer({ min: 0, max: 1024 }), share: fc.double({ min: 0, max: 1, noNaN: true }), rid })
    .map(({ n, share, rid }) => ({ t: 'sample' as const, n, rid, near: Math.floor(n * share) })),
  fc.record({ t: fc.constant('member' as const), on: fc.boolean() }),
);

const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({ t: fc.constant('challenge' as const), nonce: fc.stringMatching(/^[0-9a-f]{64}$/) }),
  fc.record({ t: fc.constant('registered' as const), id: peerId }),
  fc.record({ t: fc.constant('signal' as const), from: peerId, data }),
  fc.record({ t: fc.constant('relayed' as const), rid }),
  fc.record({ t: fc.constant('sample' as const), rid, peers: fc.uniqueArray(peerId, { maxLength: 8 }) }),
  fc.record({
    t: fc.constant('error' as const),
    code: fc.constantFrom('SIGNAL_BAD_MESSAGE' as const, 'SIGNAL_UNKNOWN_PEER' as const, 'SIGNAL_RATE_LIMITED' as const),
    message: fc.string({ maxLength: 100 }),
    rid,
  }),
);

// JSON.parse turns "-0" into -0 and toEqual tells -0 from 0; JSON never carries that difference.
const normalise = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('signaling protocol', () => {
  it('every well-formed client message survives encode → parse', () => {
    fc.assert(
      fc.property(clientMessage, (message) => {
        const parsed = parseClientMessage(encode(message));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(normalise(parsed.value)).toEqual(normalise(message));
      }),
    );
  });

  it('every well-formed server message survives encode → parse', () => {
    fc.assert(
      fc.property(serverMessage, (message) => {
        const parsed = parseServerMessage(encode(message));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(normalise(parsed.value)).toEqual(normalise(message));
      }),
    );
  });

  it('arbitrary text and arbitrary JSON never throw, and never parse into an invalid message', () => {
    const anyText = fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ t: 'signal', to: v, data: v, rid: v })));
    fc.assert(
      fc.property(anyText, (text) => {
        const c = parseClientMessage(text);
        const s = parseServerMessage(text);
        if (!c.ok) expect(typeof c.reason).toBe('string');
        if (!s.ok) expect(typeof s.reason).toBe('string');
        if (c.ok && c.value.t === 'signal') expect(c.value.to).toMatch(/^[0-9a-f]{64}$/);
      }),
    );
  });

  it('rejects the shapes a hostile peer would try', () => {
    const id = 'a'.repeat(64);
    const cases: Array<[string, RegExp]> = [
      ['{"t":"register","id":"' + id.toUpperCase() + '","sig":"' + '0'.repeat(128) + '"}', /PeerId/],
      ['{"t":"register","id":"' + id + '","sig":"' + '0'.repeat(127) + '"}', /sig/],
      ['{"t":"signal","to":"' + id + '","data":null}', /data/],
      ['{"t":"signal","to":"' + id + '","data":{},"rid":""}', /rid/],
      ['{"t":"signal","to":"' + id + '","data":{},"rid":"' + 'r'.repeat(65) + '"}', /rid/],
      ['{"t":"sample","n":2}', /rid/],
      ['{"t":"member"}', /member.on/],
      ['{"t":"member","on":"yes"}', /member.on/],
      ['{"t":"sample","n":1025,"rid":"r"}', /integer/],
      ['{"t":"sample","n":1.5,"rid":"r"}', /integer/],
      ['{"t":"sample","n":4,"rid":"r","near":5}', /sample.near must be an integer in 0..n/],
      ['{"t":"sample","n":4,"rid":"r","near":-1}', /sample.near/],
      ['{"t":"sample","n":4,"rid":"r","near":"2"}', /sample.near/],
      ['{"t":"sample","n":4,"rid":"r","near":null}', /sample.near/],
      ['{"t":"__proto__"}', /unknown message type/],
      ['{"t":{"toString":1}}', /unknown message type \(object\)/],
      ['null', /JSON object/],
      ['{', /not valid JSON/],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseClientMessage(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.reason, text).toMatch(reason);
    }
  });

  it('echoes a well-formed rid on a rejected request so the client can fail the right one', () => {
    const parsed = parseClientMessage('{"t":"signal","to":"bad","data":{},"rid":"r-9"}');
    expect(parsed).toMatchObject({ ok: false, rid: 'r-9' });
  });

  it('bounds data nesting without recursing past the bound', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(withinDepth(deep, MAX_DATA_DEPTH)).toBe(false);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH; i++) ok = { a: ok };
    expect(withinDepth(ok, MAX_DATA_DEPTH)).toBe(true);
    expect(withinDepth({ a: ok }, MAX_DATA_DEPTH)).toBe(false);
  });

  it('sample answers from a server are de-duplicated and bounded', () => {
    const id = 'b'.repeat(64);
    const parsed = parseServerMessage(JSON.stringify({ t: 'sample', rid: 'r', peers: [id, id] }));
    expect(parsed.ok && parsed.value.t === 'sample' && parsed.value.peers).toEqual([id]);
    const tooMany = parseServerMessage(JSON.stringify({ t: 'sample', rid: 'r', peers: Array(1025).fill(id) }));
    expect(tooMany.ok).toBe(false);
  });

  it('the registration message is the domain prefix plus the nonce', () => {
    const nonce = '0f'.repeat(32);
    expect(new TextDecoder().decode(registerMessageBytes(nonce))).toBe(`peersock-signal-register-v1:${nonce}`);
  });
});
